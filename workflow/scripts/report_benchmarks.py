"""Rule report_benchmarks: wall time and peak memory of every job, from Snakemake's benchmark files."""

from descriptor_pipeline.logs import LOG
from descriptor_pipeline.report import write_benchmarks
from descriptor_pipeline.stage import run_stage


def main(smk):
    bench = write_benchmarks(list(smk.input), smk.output.svg, smk.output.tsv)
    LOG.info("report_benchmarks: %d jobs, %.1f s in all", bench.height, bench["seconds"].sum())


run_stage(snakemake, main)  # noqa: F821
