"""Write the embedded demo data set (rule demo_data)."""

from pathlib import Path

from descriptor_pipeline.demo import write_demo
from descriptor_pipeline.stage import run_stage


def main(smk):
    write_demo(Path(smk.output[0]).parent, n_files=len(smk.output))


run_stage(snakemake, main)  # noqa: F821
