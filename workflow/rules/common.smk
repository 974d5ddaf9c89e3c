"""Helpers shared by the rules: input files and the list of final outputs."""

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import expand_inputs, compile_patterns

DEMO_FILES = expand("results/demo/part-{i:03d}.parquet", i=range(4))

compile_patterns(config["exclude_columns"])


def input_files(wildcards=None):
    """The Parquet files of config 'input', or the demo files when 'input' is empty."""
    if not config["input"]:
        return DEMO_FILES
    try:
        return expand_inputs(config["input"])
    except PipelineError as exc:
        raise WorkflowError(str(exc)) from None


def final_outputs():
    """What `rule all` asks for."""
    return [
        "results/ingest/column_stats.parquet",
        "results/ingest/survivors.txt",
        "results/ingest/sample.parquet",
    ]
