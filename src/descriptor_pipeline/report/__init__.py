"""Figures and tables of the Snakemake report (``snakemake --report report.html``).

Everything is drawn from the checkpoint files of a finished run. Figures are SVG with text kept as text,
fixed element ids and no date, so the same results give byte-identical files; the one exception is the
benchmark figure, which shows measured times and memory.

The modules, each importing only ``_draw`` of these (and lower layers of ``descriptor_pipeline``):

    _draw          the matplotlib setup (Agg, fixed SVG ids, text as text), PASS_COLORS, label, save_svg, _empty
    overview       stage_counts and funnel_figure; drop_reasons (DROP_REASONS) and drop_reasons_figure
    results        top_descriptors(_figure), predictability_figures / predictability_figure, stability_figure
    per_pass       similarity_histogram_figure, cluster_sizes_figure, largest_clusters(_figure)
    settings_page  settings_html: data, passes, recorded_settings and the versions of PACKAGES, as HTML
    benchmarks     read_benchmarks, benchmarks_figure, write_benchmarks (the benchmarks rule's call)

This module holds write_figures, the report figures rule's call, and re-exports the public names above.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl
from matplotlib.figure import Figure

from descriptor_pipeline import checkpoints, io
from descriptor_pipeline.layout import figure_path
from descriptor_pipeline.report._draw import LABEL_CHARS, PASS_COLORS, label, save_svg
from descriptor_pipeline.report.overview import DROP_REASONS, drop_reasons, drop_reasons_figure, funnel_figure, stage_counts
from descriptor_pipeline.report.results import (predictability_figure, predictability_figures, stability_figure, top_descriptors,
                                                top_descriptors_figure)
from descriptor_pipeline.report.per_pass import (cluster_sizes_figure, largest_clusters, largest_clusters_figure,
                                                 similarity_histogram_figure)
from descriptor_pipeline.report.settings_page import PACKAGES, recorded_settings, settings_html
from descriptor_pipeline.report.benchmarks import benchmarks_figure, read_benchmarks, write_benchmarks

__all__ = [
    "DROP_REASONS",
    "LABEL_CHARS",
    "PACKAGES",
    "PASS_COLORS",
    "benchmarks_figure",
    "cluster_sizes_figure",
    "drop_reasons",
    "drop_reasons_figure",
    "funnel_figure",
    "label",
    "largest_clusters",
    "largest_clusters_figure",
    "predictability_figure",
    "predictability_figures",
    "read_benchmarks",
    "recorded_settings",
    "save_svg",
    "settings_html",
    "similarity_histogram_figure",
    "stability_figure",
    "stage_counts",
    "top_descriptors",
    "top_descriptors_figure",
    "write_benchmarks",
    "write_figures",
]


def write_figures(*, ingest_summary: str | Path, pass_summaries: Mapping[str, str | Path],
                  clusters: Mapping[str, str | Path], edges: Mapping[str, str | Path],
                  report: str | Path, out_dir: str | Path,
                  stability: str | Path | None = None) -> list[Path]:
    """Draw every figure of the report (all but the benchmarks) into ``out_dir``; return the paths.
    ``stability``: results/stability.json, when the run has one (stability.svg)."""
    out = Path(out_dir)
    checkpoints.verify(*clusters.values(), *edges.values())
    ingest = io.read_json(ingest_summary)
    summaries = {name: io.read_json(path) for name, path in pass_summaries.items()}
    cluster_report = io.read_json(report)
    written = []

    def put(key: str, fig: Figure, pass_name: str | None = None) -> None:
        path = figure_path(out, key, pass_name)
        save_svg(fig, path)
        written.append(path)

    put("funnel", funnel_figure(stage_counts(ingest, summaries)))
    put("ingest_drops", drop_reasons_figure(drop_reasons(ingest)))
    put("top_descriptors", top_descriptors_figure(top_descriptors(cluster_report), list(summaries)))
    put("predictability", predictability_figure(
        *predictability_figures(cluster_report), {n: float(s.get("min_predictability", 0.0)) for n, s in summaries.items()}))
    if stability is not None:
        put("stability", stability_figure(io.read_json(stability)))
    for name, summary in summaries.items():
        put("similarity", similarity_histogram_figure(name, summary), name)
        put("cluster_sizes", cluster_sizes_figure(name, summary), name)
        drawn = largest_clusters(pl.read_parquet(clusters[name]), pl.read_parquet(edges[name]))
        put("largest_clusters", largest_clusters_figure(name, drawn, float(summary["settings"]["threshold"])), name)
    io.write_text(figure_path(out, "settings"), settings_html(ingest, summaries))
    written.append(figure_path(out, "settings"))
    return written
