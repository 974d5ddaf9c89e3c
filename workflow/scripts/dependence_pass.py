"""Rules spearman, hsic, rdc: one dependence pass over the previous stage's survivors."""

from pathlib import Path

from descriptor_pipeline.layout import StageFiles
from descriptor_pipeline.passes import run_pass
from descriptor_pipeline.stage import run_stage


def main(smk):
    run_pass(
        smk.params.pass_name,
        smk.params.settings,
        ingest=StageFiles(Path(smk.input.sample).parent),
        survivors_in=smk.input.survivors,
        out=StageFiles(Path(smk.output.summary).parent),
        threads=smk.threads,
        edge_shards=list(smk.input.edge_shards),
    )


run_stage(snakemake, main)  # noqa: F821
