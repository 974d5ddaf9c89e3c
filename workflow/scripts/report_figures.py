"""Rule report_figures: the figures and the settings page of the Snakemake report."""

from descriptor_pipeline.logs import LOG
from descriptor_pipeline.report import write_figures
from descriptor_pipeline.stage import run_stage


def main(smk):
    passes = list(smk.params.passes)
    written = write_figures(
        ingest_summary=smk.input.ingest_summary,
        pass_summaries=dict(zip(passes, smk.input.summaries)),
        clusters=dict(zip(passes, smk.input.clusters)),
        edges=dict(zip(passes, smk.input.edges)),
        report=smk.input.report,
        stability=smk.input.stability[0] if smk.input.stability else None,
        out_dir=smk.params.out_dir,
    )
    LOG.info("report_figures: %d files written to %s", len(written), smk.params.out_dir)


run_stage(snakemake, main)  # noqa: F821
