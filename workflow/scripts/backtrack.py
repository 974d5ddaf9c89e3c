"""Rule backtrack: surviving_descriptors_clusters.json from the stage outputs."""

from pathlib import Path

from descriptor_pipeline.lineage import create_cluster_structure
from descriptor_pipeline.stage import run_stage


def main(smk):
    create_cluster_structure(Path(smk.input.final).parent, passes=smk.params.passes, out=smk.output[0])


run_stage(snakemake, main)  # noqa: F821
