"""The benchmark figure and table: wall time and peak memory per job, from Snakemake's benchmark files
(the one part of the report that is not the same bytes from run to run)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl
from matplotlib.figure import Figure

from descriptor_pipeline import io
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.report._draw import save_svg

def read_benchmarks(paths: Sequence[str | Path]) -> pl.DataFrame:
    """Snakemake benchmark files (one per job) as one table: job, wall seconds, peak RSS (MiB).

    The job is named after the file (``logs/benchmarks/spearman_shard-0.tsv`` -> ``spearman_shard-0``);
    a file with several repeats counts by its median.
    """
    rows = []
    for path in paths:
        try:
            table = pl.read_csv(path, separator="\t", null_values=["-", "NA"])
            seconds = float(table["s"].median())
            max_rss = float(table["max_rss"].cast(pl.Float64).median() or 0.0)
        except (OSError, TypeError, pl.exceptions.PolarsError) as exc:
            reason = str(exc).splitlines()[0]
            raise PipelineError(f"{path}: cannot read the benchmark file ({reason}); re-run the rule that wrote it") from None
        rows.append({"job": Path(path).stem, "seconds": seconds, "max_rss_mib": max_rss})
    return pl.DataFrame(rows, schema={"job": pl.String, "seconds": pl.Float64, "max_rss_mib": pl.Float64})


def benchmarks_figure(bench: pl.DataFrame) -> Figure:
    """Per job: wall time and peak resident memory, side by side."""
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 0.35 * max(bench.height, 3) + 1.2), sharey=True)
    jobs = bench["job"].to_list()[::-1]
    bars = ax_t.barh(jobs, bench["seconds"].to_list()[::-1], color="#4c72b0")
    ax_t.bar_label(bars, labels=[f"{s:.1f}" for s in bench["seconds"].to_list()[::-1]], padding=2, fontsize=7)
    ax_t.set_xlabel("wall time (s)")
    bars = ax_m.barh(jobs, bench["max_rss_mib"].to_list()[::-1], color="#dd8452")
    ax_m.bar_label(bars, labels=[f"{m:,.0f}" for m in bench["max_rss_mib"].to_list()[::-1]], padding=2, fontsize=7)
    ax_m.set_xlabel("peak RSS (MiB)")
    for ax in (ax_t, ax_m):
        ax.set_xlim(0, max(ax.get_xlim()[1], 1e-3) * 1.2)
    fig.suptitle("Time and peak memory per job (Snakemake benchmark files)")
    return fig


def write_benchmarks(paths: Sequence[str | Path], svg: str | Path, tsv: str | Path) -> pl.DataFrame:
    """The benchmark figure and a TSV of the same numbers."""
    bench = read_benchmarks(paths)
    save_svg(benchmarks_figure(bench), svg)
    with io.atomic_path(tsv) as tmp:
        bench.write_csv(tmp, separator="\t", float_precision=3)
    return bench
