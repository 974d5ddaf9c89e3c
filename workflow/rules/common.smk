"""Helpers shared by the rules: input files, the chain of enabled passes, GPU requests, final outputs."""

from descriptor_pipeline.backend import resolve_backend
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import compile_patterns, expand_inputs
from descriptor_pipeline.passes import PASSES

DEMO_FILES = expand("results/demo/part-{i:03d}.parquet", i=range(4))
ENABLED_PASSES = [p for p in PASSES if config["passes"][p]["enabled"]]

try:
    compile_patterns(config["exclude_columns"])
except PipelineError as exc:
    raise WorkflowError(str(exc)) from None


# Expanded once, when the workflow is read: a glob that matches nothing stops here with one line
# (an error raised inside an input function would reach the user wrapped in a traceback).
try:
    INPUT_FILES = expand_inputs(config["input"]) if config["input"] else DEMO_FILES
except PipelineError as exc:
    raise WorkflowError(str(exc)) from None


def input_files(wildcards=None):
    """The Parquet files of config 'input', or the demo files when 'input' is empty."""
    return INPUT_FILES


def survivors_before(pass_name):
    """Survivor list of the stage that feeds ``pass_name`` (the previous enabled pass, or ingest)."""
    earlier = [p for p in ENABLED_PASSES if PASSES.index(p) < PASSES.index(pass_name)]
    return (
        f"results/{earlier[-1]}/survivors.txt"
        if earlier
        else "results/ingest/survivors.txt"
    )


def final_survivors():
    """Survivor list of the last enabled stage."""
    return (
        f"results/{ENABLED_PASSES[-1]}/survivors.txt"
        if ENABLED_PASSES
        else "results/ingest/survivors.txt"
    )


def pass_gpus():
    """1 when the dependence passes run on CuPy, so that `--resources gpu=N` schedules them."""
    try:
        return int(resolve_backend(config["backend"]) == "cupy")
    except PipelineError as exc:
        raise WorkflowError(str(exc)) from None


def pass_outputs(pass_name):
    return {
        "clusters": f"results/{pass_name}/clusters.parquet",
        "edges": f"results/{pass_name}/edges.parquet",
        "survivors": f"results/{pass_name}/survivors.txt",
        "summary": f"results/{pass_name}/summary.json",
    }


def final_outputs():
    """What `rule all` asks for."""
    return [
        "results/ingest/column_stats.parquet",
        *[pass_outputs(p)["summary"] for p in ENABLED_PASSES],
        "results/final_descriptors.txt",
        "results/surviving_descriptors_clusters.json",
    ]
