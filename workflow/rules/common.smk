"""Helpers shared by the rules: the run layout, the chain of enabled passes, each stage's settings, inputs,
final outputs. The paths come from descriptor_pipeline.layout and the settings from the schema (through
descriptor_pipeline.settings); nothing here spells a file name or a default of its own.
"""

from pathlib import Path

from snakemake.logging import logger

from descriptor_pipeline import io
from descriptor_pipeline.backend import resolve_backend
from descriptor_pipeline.checkpoints import damaged
from descriptor_pipeline.envs import git_requirement, with_requirement
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import (
    compile_patterns,
    expand_inputs,
    input_fingerprint,
)
from descriptor_pipeline.layout import BENCHMARKS, Results, set_aside_stale
from descriptor_pipeline.settings import (
    PASSES,
    enabled_passes,
    load_schema,
    stage_config,
)

SCHEMA = load_schema(
    workflow.source_path("../../config/schema.yaml")
)  # this workflow's, also as a module
RESULTS = Results()
DEMO_FILES = RESULTS.demo_files()
ENABLED_PASSES = enabled_passes(config)
STABILITY_SEEDS = [
    s for s in dict.fromkeys(config["stability_seeds"]) if s != config["seed"]
]

try:
    compile_patterns(config["exclude_columns"])
except PipelineError as exc:
    raise WorkflowError(str(exc)) from None


# Expanded once, when the workflow is read: a glob that matches nothing stops here with one line
# (an error raised inside an input function would reach the user wrapped in a traceback).
try:
    INPUT_FILES = expand_inputs(config["input"]) if config["input"] else DEMO_FILES
    INPUT_FINGERPRINT = input_fingerprint(INPUT_FILES) if config["input"] else "demo"
except PipelineError as exc:
    raise WorkflowError(str(exc)) from None
# Snakemake reads braces in an input path as a wildcard, and has no escape for them: such files reach the
# scripts through params.files (a function: its value is taken as it is), and only the others are the
# rules' tracked inputs. Nothing is lost: ingest reruns on the inputs' fingerprint, not on their times.
TRACKED_INPUTS = [f for f in INPUT_FILES if "{" not in f and "}" not in f]


def input_files(wildcards):
    """Every input file, for params (never parsed for wildcards)."""
    return INPUT_FILES


def settings_of(stage):
    """The config keys ``stage`` reads (config/schema.yaml, x-read-by): its rule's params, so that a
    changed key reruns only the stages that read it."""
    return stage_config(config, stage, SCHEMA)


def stage_files(stage):
    return RESULTS.stage(stage)


def survivors_before(pass_name):
    """Survivor list of the stage that feeds ``pass_name`` (the previous enabled pass, or ingest)."""
    earlier = [p for p in ENABLED_PASSES if PASSES.index(p) < PASSES.index(pass_name)]
    return str(stage_files(earlier[-1] if earlier else "ingest").survivors)


def final_survivors():
    """Survivor list of the last enabled stage."""
    return str(
        stage_files(ENABLED_PASSES[-1] if ENABLED_PASSES else "ingest").survivors
    )


def pass_gpus():
    """GPUs a dependence pass asks for, so that `--resources gpu=N` (local) or the cluster schedules it.

    1 with backend cupy, decided from the config and not from this machine: on a cluster the submit host
    usually has no GPU, and the pass checks the device where it runs. With backend auto, 1 when this
    machine has a usable GPU (so on a cluster, set cupy explicitly).
    """
    if config["backend"] == "auto":
        return int(resolve_backend("auto") == "cupy")
    return int(config["backend"] == "cupy")


def check_local_gpu():
    """Stop a local run with backend cupy before any rule when this machine has no usable GPU."""
    if config["backend"] == "cupy" and workflow.local_exec:
        try:
            resolve_backend("cupy")
        except PipelineError as exc:
            raise WorkflowError(str(exc)) from None


def check_checkpoints():
    """Before any job runs (and so before Snakemake deletes the outputs of the jobs it reruns): refuse
    with one line a stage checkpoint whose content no longer matches its stage's record, unless that
    stage is itself about to be rerun."""
    try:
        rerun = {job.rule.name for job in workflow.dag.needrun_jobs()}
    except (
        AttributeError
    ):  # another Snakemake: the jobs check what they read themselves
        return
    folders = [stage_files(s).folder for s in ("ingest", *ENABLED_PASSES)]
    problems = damaged(folders, skip=rerun)
    if problems:
        raise WorkflowError(problems[0])


def set_aside_unused_outputs():
    """Move outputs of stages this configuration does not have to results/.stale/, one line each."""
    moved = set_aside_stale(
        RESULTS, ENABLED_PASSES, PASSES, config["reduced"], bool(STABILITY_SEEDS)
    )
    for source, target in moved:
        logger.info(f"{source}: not an output of this configuration; moved to {target}")


def shard_count(pass_name):
    """Jobs the block pairs of ``pass_name`` are split over (config `passes.P.shards`)."""
    return config["passes"][pass_name]["shards"]


def edge_shards(pass_name):
    """The shard files rule ``pass_name`` gathers; none when the pass computes its pairs itself."""
    n = shard_count(pass_name)
    return [] if n == 1 else [str(stage_files(pass_name).shard(k)) for k in range(n)]


def gather_gpus(pass_name):
    """GPUs of a pass's own job: none when it only gathers shards computed by other jobs."""
    return pass_gpus() if shard_count(pass_name) == 1 else 0


def output_folder(wildcards, output):
    """The folder of a rule's first output (a params function)."""
    return os.path.dirname(output[0])


def conda_env(name):
    """A rule's conda env file: workflow/envs/<name>.yaml where the workflow is read from local files, or,
    for a module read from git, a copy that installs this package from that repository at the module's ref
    (written under .snakemake/, see descriptor_pipeline.envs)."""
    requirement = git_requirement(workflow.current_basedir)
    if requirement is None:
        return f"../envs/{name}.yaml"
    with open(workflow.source_path(f"../envs/{name}.yaml"), encoding="utf-8") as handle:
        text = with_requirement(handle.read(), requirement, name)
    path = Path(".snakemake", "descriptor-pipeline", "envs", f"{name}.yaml").absolute()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        io.write_text(path, text)
    return str(path)


def pass_env():
    return conda_env("gpu" if pass_gpus() else "cpu")


def run_outputs():
    """Every output of a run but the benchmark figure (rule report_benchmarks waits for these)."""
    return [
        str(RESULTS.ingest.column_stats),
        *[str(stage_files(p).summary) for p in ENABLED_PASSES],
        str(RESULTS.final_list),
        str(RESULTS.cluster_report),
        str(RESULTS.alternatives),
        *([str(RESULTS.stability)] if STABILITY_SEEDS else []),
        *([str(RESULTS.reduced)] if config["reduced"] else []),
        *[str(path) for path in report_figure_outputs()],
    ]


def final_outputs():
    """What `rule all` asks for."""
    return run_outputs() + [str(RESULTS.figure("benchmarks"))]


# ---- report ---------------------------------------------------------------------------------------


def report_item(figure, path, pass_name=None):
    """``path`` marked for `snakemake --report` with the figure's caption and place (layout.FIGURES)."""
    # `return report(...)`: a line that starts with `report` would be read as the report: directive
    return report(
        str(path),
        caption=f"../report/{figure.caption}",
        category=figure.category,
        subcategory=pass_name,
        labels={"result": figure.label},
    )


def report_figure_outputs():
    """What rule report_figures draws, marked for `snakemake --report`."""
    passes_figures = RESULTS.figures(ENABLED_PASSES, bool(STABILITY_SEEDS))
    overview = [(f, p, path) for f, p, path in passes_figures if not f.per_pass]
    per_pass = [(f, p, path) for f, p, path in passes_figures if f.per_pass]
    per_pass.sort(
        key=lambda item: ENABLED_PASSES.index(item[1])
    )  # each pass's figures together
    return [report_item(f, path, p) for f, p, path in overview + per_pass]


def benchmark_files():
    """Snakemake's benchmark file of every job of the run, in pipeline order (rule report_benchmarks)."""
    jobs = [] if config["input"] else ["demo_data"]
    jobs.append("ingest")
    for p in ENABLED_PASSES:
        if shard_count(p) > 1:
            jobs += [f"{p}_shard-{k}" for k in range(shard_count(p))]
        jobs.append(p)
    jobs += [
        "select",
        *(["reduce"] if config["reduced"] else []),
        "backtrack",
        "alternatives",
        *(["stability"] if STABILITY_SEEDS else []),
        "report_figures",
    ]
    return [f"logs/benchmarks/{job}.tsv" for job in jobs]
