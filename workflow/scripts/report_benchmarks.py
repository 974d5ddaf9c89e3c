"""Rule report_benchmarks: wall time and peak memory of every job, from Snakemake's benchmark files."""

from pathlib import Path

from descriptor_pipeline.logs import LOG
from descriptor_pipeline.report import write_benchmarks
from descriptor_pipeline.stage import run_stage


def main(smk):
    present = [path for path in smk.params.benchmarks if Path(path).exists()]
    for path in sorted(set(smk.params.benchmarks) - set(present)):
        LOG.warning("report_benchmarks: %s is missing (its job ran before benchmark files were kept there); not shown", path)
    bench = write_benchmarks(present, smk.output.svg, smk.output.tsv)
    LOG.info("report_benchmarks: %d jobs, %.1f s in all", bench.height, bench["seconds"].sum())


run_stage(snakemake, main)  # noqa: F821
