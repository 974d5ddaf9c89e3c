"""Rule stability: the dependence passes rerun with each of config stability_seeds."""

from descriptor_pipeline.stability import run_stability
from descriptor_pipeline.stage import run_stage


def main(smk):
    run_stability(
        smk.params.settings,
        sample_path=smk.input.sample,
        column_stats=smk.input.stats,
        ingest_survivors=smk.input.survivors,
        final_list=smk.input.final,
        cluster_report=smk.input.report,
        out_json=smk.output[0],
        threads=smk.threads,
    )


run_stage(snakemake, main)  # noqa: F821
