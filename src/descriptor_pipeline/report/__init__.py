"""Figures and tables of the Snakemake report (``snakemake --report report.html``).

Everything is drawn from the checkpoint files of a finished run. Figures are SVG with text kept as text,
fixed element ids and no date, so the same results give byte-identical files; the one exception is the
benchmark figure, which shows measured times and memory.

The modules, each importing only ``_draw`` of these (and lower layers of ``descriptor_pipeline``):

    _draw          the matplotlib setup (Agg, fixed SVG ids, text as text), PASS_COLORS, label, log_tick and
                   count_log_scale (log axes labelled in plain text), save_svg, _empty
    overview       stage_counts and funnel_figure; drop_reasons (DROP_REASONS) and drop_reasons_figure
    results        top_descriptors(_figure), predictability_figures / predictability_figure, stability_figure
    per_pass       similarity_histogram_figure, cluster_sizes_figure, largest_clusters(_figure), strongest_members
    settings_page  settings_html: data, passes, recorded_settings and the versions of PACKAGES, as HTML
    benchmarks     read_benchmarks, benchmarks_figure, write_benchmarks (the benchmarks rule's call)

This module holds draw_figures (every figure but the benchmarks, not yet saved) and write_figures (the
report figures rule's call), and re-exports the public names above.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import polars as pl
from matplotlib.figure import Figure

from descriptor_pipeline import checkpoints, io
from descriptor_pipeline.layout import figure_path
from descriptor_pipeline.report._draw import LABEL_CHARS, PASS_COLORS, label, log_tick, save_svg
from descriptor_pipeline.report.overview import DROP_REASONS, drop_reasons, drop_reasons_figure, funnel_figure, stage_counts
from descriptor_pipeline.report.results import (predictability_figure, predictability_figures, stability_figure, top_descriptors,
                                                top_descriptors_figure)
from descriptor_pipeline.report.per_pass import (cluster_sizes_figure, largest_clusters, largest_clusters_figure,
                                                 similarity_histogram_figure, strongest_members)
from descriptor_pipeline.report.settings_page import PACKAGES, recorded_settings, settings_html
from descriptor_pipeline.report.benchmarks import benchmarks_figure, read_benchmarks, write_benchmarks

__all__ = [
    "DROP_REASONS",
    "LABEL_CHARS",
    "PACKAGES",
    "PASS_COLORS",
    "benchmarks_figure",
    "cluster_sizes_figure",
    "draw_figures",
    "drop_reasons",
    "drop_reasons_figure",
    "funnel_figure",
    "label",
    "log_tick",
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
    "strongest_members",
    "top_descriptors",
    "top_descriptors_figure",
    "write_benchmarks",
    "write_figures",
]


def draw_figures(*, ingest_summary: str | Path, pass_summaries: Mapping[str, str | Path],
                 clusters: Mapping[str, str | Path], edges: Mapping[str, str | Path],
                 report: str | Path, stability: str | Path | None = None
                 ) -> Iterator[tuple[tuple[str, str | None], Figure]]:
    """Every figure of the report but the benchmarks, drawn from a run's files and not yet saved:
    ((figure key, pass or None), figure), in the report's order. The arguments: as write_figures's."""
    checkpoints.verify(*clusters.values(), *edges.values())
    ingest = io.read_json(ingest_summary)
    summaries = {name: io.read_json(path) for name, path in pass_summaries.items()}
    cluster_report = io.read_json(report)
    yield ("funnel", None), funnel_figure(stage_counts(ingest, summaries))
    yield ("ingest_drops", None), drop_reasons_figure(drop_reasons(ingest))
    yield ("top_descriptors", None), top_descriptors_figure(top_descriptors(cluster_report), list(summaries))
    yield ("predictability", None), predictability_figure(
        *predictability_figures(cluster_report), {n: float(s.get("min_predictability", 0.0)) for n, s in summaries.items()})
    if stability is not None:
        yield ("stability", None), stability_figure(io.read_json(stability))
    for name, summary in summaries.items():
        yield ("similarity", name), similarity_histogram_figure(name, summary)
        yield ("cluster_sizes", name), cluster_sizes_figure(name, summary)
        drawn = largest_clusters(pl.read_parquet(clusters[name]), pl.read_parquet(edges[name]))
        yield ("largest_clusters", name), largest_clusters_figure(name, drawn, float(summary["settings"]["threshold"]))


def write_figures(*, ingest_summary: str | Path, pass_summaries: Mapping[str, str | Path],
                  clusters: Mapping[str, str | Path], edges: Mapping[str, str | Path],
                  report: str | Path, out_dir: str | Path,
                  stability: str | Path | None = None) -> list[Path]:
    """Draw every figure of the report (all but the benchmarks) into ``out_dir``; return the paths.
    ``stability``: results/stability.json, when the run has one (stability.svg)."""
    out = Path(out_dir)
    written = []
    for (key, pass_name), fig in draw_figures(ingest_summary=ingest_summary, pass_summaries=pass_summaries,
                                              clusters=clusters, edges=edges, report=report, stability=stability):
        path = figure_path(out, key, pass_name)
        save_svg(fig, path)
        written.append(path)
    ingest = io.read_json(ingest_summary)
    summaries = {name: io.read_json(path) for name, path in pass_summaries.items()}
    io.write_text(figure_path(out, "settings"), settings_html(ingest, summaries))
    written.append(figure_path(out, "settings"))
    return written
