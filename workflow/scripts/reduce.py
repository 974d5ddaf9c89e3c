"""Rule reduce: the input files projected on the carried columns (ids, SMILES) and the final descriptors."""

from descriptor_pipeline.io import read_lines
from descriptor_pipeline.reduce import identifier_columns, reduce_files
from descriptor_pipeline.stage import run_stage


def main(smk):
    carry = smk.params.settings["carry_columns"]  # null: the columns that are no descriptor
    reduce_files(list(smk.params.files), read_lines(smk.input.final), smk.output[0],
                 identifier_columns(smk.input.stats) if carry is None else carry,
                 selection=smk.input.final, carry_given=carry is not None)


run_stage(snakemake, main)  # noqa: F821
