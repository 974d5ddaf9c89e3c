"""Rule select: the final descriptor list (survivors of the last enabled pass, input order)."""

from descriptor_pipeline.selection import write_final_list
from descriptor_pipeline.stage import run_stage


def main(smk):
    write_final_list(smk.input.survivors, smk.output.final)


run_stage(snakemake, main)  # noqa: F821
