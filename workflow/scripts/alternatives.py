"""Rule alternatives: results/alternatives.tsv (one row per survivor and alternative) from the cluster report."""

from descriptor_pipeline.export import write_alternatives_tsv
from descriptor_pipeline.logs import LOG
from descriptor_pipeline.stage import run_stage


def main(smk):
    rows = write_alternatives_tsv(smk.input.report, smk.input.final, smk.output[0])
    LOG.info("alternatives: %d rows written to %s", rows, smk.output[0])


run_stage(snakemake, main)  # noqa: F821
