"""Rule ingest: statistics, quality filters, exact duplicates and the row sample."""

from descriptor_pipeline.ingest import run_ingest
from descriptor_pipeline.settings import IngestSettings
from descriptor_pipeline.stage import run_stage


def main(smk):
    run_ingest(
        files=list(smk.params.files),
        settings=IngestSettings.from_config(smk.params.settings),
        out_stats=smk.output.stats,
        out_survivors=smk.output.survivors,
        out_sample=smk.output.sample,
        out_summary=smk.output.summary,
        threads=smk.threads,
    )


run_stage(snakemake, main)  # noqa: F821
