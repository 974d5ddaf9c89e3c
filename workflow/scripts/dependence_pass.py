"""Rules spearman, hsic, rdc: one dependence pass over the previous stage's survivors."""

from descriptor_pipeline.passes import run_pass
from descriptor_pipeline.stage import run_stage


def main(smk):
    run_pass(
        smk.params.pass_name,
        smk.params.settings,
        sample_path=smk.input.sample,
        survivors_in=smk.input.survivors,
        column_stats=smk.input.stats,
        out_clusters=smk.output.clusters,
        out_edges=smk.output.edges,
        out_survivors=smk.output.survivors,
        out_summary=smk.output.summary,
        threads=smk.threads,
        edge_shards=list(smk.input.edge_shards),
    )


run_stage(snakemake, main)  # noqa: F821
