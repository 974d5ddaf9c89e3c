"""Rule reduce: the input files projected on carry_columns and the final descriptors."""

from descriptor_pipeline.io import read_lines
from descriptor_pipeline.reduce import reduce_files
from descriptor_pipeline.stage import run_stage


def main(smk):
    reduce_files(list(smk.params.files), read_lines(smk.input.final), smk.output[0],
                 smk.params.settings["carry_columns"],
                 selection=smk.input.final)


run_stage(snakemake, main)  # noqa: F821
