"""Figures and tables of the Snakemake report (``snakemake --report report.html``).

Everything is drawn from the checkpoint files of a finished run. Figures are SVG with text kept as text,
fixed element ids and no date, so the same results give byte-identical files; the one exception is the
benchmark figure, which shows measured times and memory.
"""

from __future__ import annotations

import html
import platform
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from descriptor_pipeline import checkpoints, io  # noqa: E402
from descriptor_pipeline.errors import PipelineError  # noqa: E402
from descriptor_pipeline.layout import figure_path  # noqa: E402
from descriptor_pipeline.lineage import package_versions  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "descriptor-pipeline",  # fixed ids: the same figure gives the same bytes
    "svg.fonttype": "none",  # text stays text: searchable, and smaller
    "text.parse_math": False,  # a "$" in a descriptor name is a character, not mathematics
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

PASS_COLORS = {"ingest": "#7f7f7f", "spearman": "#1f77b4", "hsic": "#ff7f0e", "rdc": "#2ca02c"}
DROP_REASONS = {
    "excluded": "excluded by exclude_columns",
    "non_numeric": "not numeric",
    "all_missing": "all values missing",
    "missing_ratio": "too many missing (max_missing_ratio)",
    "constant": "constant",
    "near_constant": "near-constant (min_robust_variance)",
    "exact_duplicate": "exact duplicate of a kept column",
}
PACKAGES = (
    "descriptor-pipeline", "snakemake", "numpy", "duckdb", "polars", "pyarrow",
    "leidenalg", "igraph", "networkx", "cupy-cuda12x", "matplotlib",
)


LABEL_CHARS = 60  # longer names are drawn shortened in the middle; the JSON and TSV hold them whole


def label(name: str) -> str:
    """A descriptor name as drawn: characters that SVG text cannot hold shown as escapes, and a name
    longer than LABEL_CHARS shortened in the middle (its start and its end, where names differ)."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 16] + "\u2026" + text[-15:]


def save_svg(fig: Figure, path: str | Path) -> None:
    """Write ``fig`` as SVG without a date (atomically) and close it.

    Text stays text, so the viewer's browser draws it with its own fonts; matplotlib only measures it,
    and its warning about a character its font lacks (Korean, say) is not the viewer's problem.
    """
    with io.atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        fig.savefig(tmp, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_axis_off()


# ---- overview -------------------------------------------------------------------------------------

def stage_counts(ingest_summary: Mapping[str, Any], pass_summaries: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, int]]:
    """Descriptor counts through the stages: input columns, numeric, after ingest, after each pass."""
    counts = [
        ("input columns", int(ingest_summary["columns"])),
        ("numeric descriptors", int(ingest_summary["descriptors"])),
        ("after ingest", int(ingest_summary["kept"])),
    ]
    counts += [(f"after {name}", int(s["descriptors_out"])) for name, s in pass_summaries.items()]
    return counts


def funnel_figure(counts: Sequence[tuple[str, int]]) -> Figure:
    """Horizontal bars, one per stage, widest first, each labelled with its count."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(counts) + 0.8))
    labels = [stage for stage, _ in counts][::-1]
    values = [value for _, value in counts][::-1]
    colors = ["#9ecae1" if not stage.startswith("after ") else
              PASS_COLORS.get(stage.removeprefix("after "), "#7f7f7f") for stage in labels]
    bars = ax.barh(labels, values, color=colors)
    for text, stage in zip(ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3), labels):
        text.set_gid("count-" + stage.replace(" ", "-"))  # the SVG element's id, for readers and tests
    ax.set_xlabel("descriptors")
    ax.set_title("Descriptors through the stages")
    ax.set_xlim(0, max(values + [1]) * 1.15)
    return fig


def drop_reasons(ingest_summary: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Why ingest removed columns: (reason, count), in the order the checks run, zero counts left out."""
    removed = dict(ingest_summary["removed"])
    removed["excluded"] = len(ingest_summary.get("excluded", []))
    removed["non_numeric"] = len(ingest_summary.get("non_numeric", []))
    return [(text, int(removed[key])) for key, text in DROP_REASONS.items() if removed.get(key)]


def drop_reasons_figure(reasons: Sequence[tuple[str, int]]) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(reasons), 2) + 0.8))
    if not reasons:
        _empty(ax, "ingest removed no column")
    else:
        bars = ax.barh([r for r, _ in reasons][::-1], [n for _, n in reasons][::-1], color="#d62728")
        ax.bar_label(bars, padding=3)
        ax.set_xlabel("columns removed")
        ax.set_xlim(0, max(n for _, n in reasons) * 1.15)
    ax.set_title("Columns removed at ingest, by reason")
    return fig


def top_descriptors(report: Mapping[str, Any], n: int = 20) -> list[tuple[str, dict[str, int]]]:
    """The ``n`` survivors that stand for the most descriptors, with their alternatives counted per pass.

    Ties are broken by name, so the same report gives the same list.
    """
    rows = []
    for name, entry in report["descriptors"].items():
        if entry["total_alternatives"] == 0:
            continue
        per_pass = {p: len(members) for p, members in entry["removal_history"].items()}
        rows.append((name, per_pass))
    rows.sort(key=lambda r: (-sum(r[1].values()), r[0]))
    return rows[:n]


def top_descriptors_figure(rows: Sequence[tuple[str, dict[str, int]]], passes: Sequence[str]) -> Figure:
    """Stacked bars: per survivor, how many descriptors each stage merged into it."""
    fig, ax = plt.subplots(figsize=(7, 0.3 * max(len(rows), 3) + 1.0))
    if not rows:
        _empty(ax, "no survivor stands for another descriptor")
    else:
        names = [label(name) for name, _ in rows][::-1]
        ys = list(range(len(names)))  # by position: two names may be drawn alike, their bars stay apart
        left = [0] * len(names)
        for stage in ["ingest", *passes]:
            widths = [per_pass.get(stage, 0) for _, per_pass in rows][::-1]
            if any(widths):
                ax.barh(ys, widths, left=left, color=PASS_COLORS.get(stage, "#7f7f7f"), label=stage)
                left = [a + b for a, b in zip(left, widths)]
        ax.set_yticks(ys, names)
        ax.set_xlabel("descriptors it stands for (alternatives), by the stage that merged them")
        ax.legend(loc="lower right", frameon=False)
    ax.set_title(f"Top {len(rows)} survivors by number of alternatives")
    return fig


def predictability_figures(report: Mapping[str, Any]) -> tuple[dict[str, list[float]], list[tuple[str, str, float]]]:
    """Per stage, the figure of each descriptor it removed (from its representative there); and every
    (alternative, survivor, end-to-end figure), weakest first."""
    per_stage: dict[str, list[float]] = {}
    end_to_end = []
    for survivor, entry in report["descriptors"].items():
        for alternative in entry["alternative_descriptors"]:
            first = entry["lineage"][alternative][0]  # the step that removed it
            per_stage.setdefault(first["pass"], []).append(float(first["predictability"]))
            end_to_end.append((alternative, survivor, float(entry["predictability"][alternative])))
    end_to_end.sort(key=lambda row: (row[2], row[0]))
    return per_stage, end_to_end


def predictability_figure(per_stage: Mapping[str, Sequence[float]], end_to_end: Sequence[tuple[str, str, float]],
                          minimum: Mapping[str, float], weakest: int = 10) -> Figure:
    """Histograms of the predictability of each stage's merges and end to end; the weakest stand-ins."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 3.2 + 0.28 * min(weakest, len(end_to_end)) + 1.2),
                                      gridspec_kw={"height_ratios": [3, max(1, min(weakest, len(end_to_end))) * 0.3 + 0.6]})
    if not end_to_end:
        _empty(top, "no merges")
        _empty(bottom, "no stand-ins")
        return fig
    bins = np.linspace(0.0, 1.0, 41)
    for stage, values in per_stage.items():
        top.hist(values, bins=bins, histtype="step", linewidth=1.5, color=PASS_COLORS.get(stage, "#7f7f7f"),
                 label=f"{stage} ({len(values):,} merges)")
    top.hist([f for _, _, f in end_to_end], bins=bins, histtype="stepfilled", alpha=0.25, color="#444444",
             label=f"end to end ({len(end_to_end):,} alternatives)")
    for stage, value in minimum.items():
        top.axvline(value, color=PASS_COLORS.get(stage, "#7f7f7f"), linestyle=":", linewidth=1)
    top.set_yscale("symlog", linthresh=1)
    top.set_xlim(0, 1.0)
    top.set_xlabel("share of the alternative's rank variance its representative explains (dotted: each pass's minimum)")
    top.set_ylabel("descriptors")
    top.legend(loc="upper left", frameon=False, fontsize=7)
    top.set_title("Predictability of each stand-in")
    rows = list(end_to_end[:weakest])[::-1]
    ys = list(range(len(rows)))
    bottom.barh(ys, [f for _, _, f in rows], color="#d62728")
    bottom.set_yticks(ys, [f"{label(a)} <- {label(s)}" for a, s, _ in rows], fontsize=7)
    bottom.set_xlim(0, 1.0)
    for y, (_, _, f) in zip(ys, rows):
        bottom.text(f + 0.01, y, f"{f:.2f}", va="center", fontsize=7)
    bottom.set_title(f"The {len(rows)} weakest stand-ins, end to end (alternative <- survivor)", fontsize=9)
    return fig


def stability_figure(stability: Mapping[str, Any], shown: int = 30) -> Figure:
    """The descriptors whose fate flips with the seed: in how many runs each is final (rule stability)."""
    flips = list(stability["flips"])[:shown]
    runs = len(stability["seeds"])
    fig, ax = plt.subplots(figsize=(7, 1.4 + 0.22 * max(1, len(flips))))
    title = (f"Final set over {runs} seeds: {stability['final_in_every_run']:,} final in every run, "
             f"Jaccard min {stability['jaccard_min']:.3f}, mean {stability['jaccard_mean']:.3f}")
    ax.set_title(title, fontsize=9)
    if not flips:
        _empty(ax, "no descriptor flips with the seed")
        return fig
    rows = flips[::-1]
    ys = list(range(len(rows)))
    here = [f["in_this_run"] == "final" for f in rows]
    ax.barh(ys, [f["final_in"] for f in rows], color=["#1f77b4" if h else "#ff7f0e" for h in here])
    ax.set_yticks(ys, [label(f["descriptor"]) + ("" if h else f" (here: <- {label(f['in_this_run'])})")
                       for f, h in zip(rows, here)], fontsize=7)
    ax.set_xlim(0, runs)
    ax.set_xticks(range(runs + 1))
    more = len(stability["flips"]) - len(flips)
    ax.set_xlabel("runs in which it is final (blue: final in this run)"
                  + (f"; {more:,} more flip, see results/stability.json" if more > 0 else ""))
    return fig


# ---- per pass -------------------------------------------------------------------------------------

def similarity_histogram_figure(pass_name: str, summary: Mapping[str, Any]) -> Figure:
    """Pairs per similarity bin (log scale), with the pass threshold marked."""
    hist = summary["similarity_histogram"]
    lower = [float(x) for x in hist["bin_lower_edges"]]
    counts = [int(c) for c in hist["pair_counts"]]
    upper = lower[1:] + [1.0]
    threshold = float(summary["settings"]["threshold"])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    colour = PASS_COLORS.get(pass_name, "#1f77b4")
    above = [lo >= threshold for lo in lower]
    straddles = [lo < threshold < up for lo, up in zip(lower, upper)]  # a threshold that is not a bin edge
    bars = ax.bar(lower, [max(c, 0) for c in counts], width=[u - lo for lo, u in zip(lower, upper)], align="edge",
                  color=[colour if a else "#bbbbbb" for a in above], edgecolor="white", linewidth=0.5)
    for bar, mixed in zip(bars, straddles):
        if mixed:
            bar.set_hatch("////")
            bar.set_edgecolor(colour)
    ax.set_yscale("symlog", linthresh=1)
    ax.axvline(threshold, color="#d62728", linestyle="--", linewidth=1.2)
    ax.text(threshold, 1.0, f" threshold {threshold:g}", color="#d62728", transform=ax.get_xaxis_transform(),
            va="top", ha="right" if threshold > 0.7 else "left")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{pass_name} similarity")
    ax.set_ylabel("descriptor pairs")
    total = sum(counts)
    ax.set_title(f"{pass_name}: {total:,} pairs, {int(summary['edges']):,} at or above the threshold")
    if any(straddles):
        ax.text(0.0, 0.9, "hatched: a bin with pairs on both sides of the threshold", transform=ax.transAxes, fontsize=7)
    if hist.get("values", "exact") != "exact":
        ax.set_xlabel(f"{pass_name} similarity (grey bins: an upper bound, see the caption)")
    return fig


def cluster_sizes_figure(pass_name: str, summary: Mapping[str, Any]) -> Figure:
    """Number of clusters of each size (singletons included)."""
    sizes = sorted((int(k), int(v)) for k, v in summary["cluster_size_counts"].items())
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if not sizes:
        _empty(ax, "no descriptors")
    else:
        labels = [str(s) for s, _ in sizes]
        bars = ax.bar(labels, [n for _, n in sizes], color=PASS_COLORS.get(pass_name, "#1f77b4"))
        ax.bar_label(bars, padding=2)
        ax.set_yscale("symlog", linthresh=1)
        ax.set_xlabel("cluster size (descriptors)")
        ax.set_ylabel("clusters")
    ax.set_title(f"{pass_name}: {int(summary['descriptors_in']):,} descriptors in "
                 f"{int(summary['clusters']):,} clusters")
    return fig


def largest_clusters(clusters: pl.DataFrame, edges: pl.DataFrame, n: int = 6, max_nodes: int = 30
                     ) -> list[tuple[str, nx.Graph, int]]:
    """The ``n`` largest clusters (size >= 2) as graphs of their above-threshold pairs.

    Returns (representative, graph, cluster size); a cluster of more than ``max_nodes`` descriptors is
    drawn with its representative and the ``max_nodes - 1`` members closest to it (by similarity to the
    representative, then name). Ties in size are broken by the representative's name.
    """
    sizes = clusters.group_by("cluster").agg(pl.len().alias("size"), pl.col("representative").first())
    sizes = sizes.filter(pl.col("size") >= 2).sort(["size", "representative"], descending=[True, False]).head(n)
    out = []
    for cluster_id, size, rep in sizes.select("cluster", "size", "representative").iter_rows():
        members = clusters.filter(pl.col("cluster") == cluster_id).sort(
            ["is_representative", "similarity", "descriptor"], descending=[True, True, False])
        names = members["descriptor"].head(max_nodes).to_list()
        graph = nx.Graph()
        graph.add_nodes_from(names)
        inside = edges.filter(pl.col("descriptor_a").is_in(names) & pl.col("descriptor_b").is_in(names))
        for a, b, sim in inside.select("descriptor_a", "descriptor_b", "similarity").iter_rows():
            graph.add_edge(a, b, similarity=float(sim))
        out.append((rep, graph, int(size)))
    return out


def largest_clusters_figure(pass_name: str, drawn: Sequence[tuple[str, nx.Graph, int]], threshold: float) -> Figure:
    """Small graph drawings of the largest clusters; the representative is the red star."""
    cols = 3
    rows = max(1, -(-len(drawn) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(10, 3.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    if not drawn:
        _empty(axes[0, 0], "no cluster has two or more descriptors")
    cmap = plt.get_cmap("viridis")
    for ax, (rep, graph, size) in zip(axes.flat, drawn):
        pos = nx.spring_layout(graph, seed=0, weight="similarity")
        sims = [d["similarity"] for _, _, d in graph.edges(data=True)]
        span = max(1e-9, 1.0 - threshold)
        nx.draw_networkx_edges(graph, pos, ax=ax, width=1.0,
                               edge_color=[cmap(min(1.0, max(0.0, (s - threshold) / span))) for s in sims])
        others = [v for v in graph.nodes if v != rep]
        nx.draw_networkx_nodes(graph, pos, nodelist=others, ax=ax, node_size=60, node_color="#4c72b0")
        nx.draw_networkx_nodes(graph, pos, nodelist=[rep], ax=ax, node_size=260, node_color="#d62728",
                               node_shape="*")
        labels = {v: label(v) for v in graph.nodes} if graph.number_of_nodes() <= 8 else {rep: label(rep)}
        label_pos = {v: (x, y + 0.12) for v, (x, y) in pos.items()}  # above the marker
        nx.draw_networkx_labels(graph, label_pos, labels=labels, ax=ax, font_size=7)
        shown = "" if graph.number_of_nodes() == size else f", {graph.number_of_nodes()} shown"
        ax.set_title(f"{label(rep)}\n{size} descriptors{shown}", fontsize=8)
        ax.margins(0.2)
    fig.suptitle(f"{pass_name}: largest clusters (red star: representative; edge colour: similarity "
                 f"from {threshold:g} (dark) to 1 (yellow))", fontsize=9)
    return fig


# ---- settings, versions, benchmarks ---------------------------------------------------------------

def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        out = []
        for key in sorted(value):
            out += _flatten(f"{prefix}.{key}" if prefix else str(key), value[key])
        return out
    return [(prefix, repr(value) if isinstance(value, str) else str(value))]


def _versions() -> list[tuple[str, str]]:
    """Python and the packages of PACKAGES (CuPy only where it is installed)."""
    found = package_versions(PACKAGES)
    return [("python", platform.python_version())] + [
        (name, v) for name, v in found.items() if not (name == "cupy-cuda12x" and v == "not installed")
    ]


def recorded_settings(ingest_summary: Mapping[str, Any], pass_summaries: Mapping[str, Mapping[str, Any]]) -> dict:
    """The settings each stage recorded in its summary (what made these results), nested by stage."""
    return {"ingest": dict(ingest_summary["settings"]),
            "passes": {name: dict(s["settings"]) for name, s in pass_summaries.items()}}


def settings_html(ingest_summary: Mapping[str, Any], pass_summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """A self-contained HTML page: the run's data, each pass's backend and rows, the settings each stage
    recorded, the versions."""
    def table(title: str, rows: Sequence[tuple[str, str]]) -> str:
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<h2>{html.escape(title)}</h2><table>{body}</table>"

    data = [
        ("input files", str(len(ingest_summary["input_files"]))),
        ("rows", f"{int(ingest_summary['rows']):,}"),
        ("rows in the sample the passes use", f"{int(ingest_summary['sample_rows']):,}"),
        ("input columns", f"{int(ingest_summary['columns']):,}"),
    ]
    passes = [(name, f"backend {s['backend']}, {int(s['rows']):,} rows, threshold {s['settings']['threshold']}, "
                     f"{int(s['descriptors_in']):,} -> {int(s['descriptors_out']):,} descriptors")
              for name, s in pass_summaries.items()]
    style = ("body{font-family:sans-serif;font-size:13px;margin:1em}table{border-collapse:collapse;margin-bottom:1em}"
             "td{border:1px solid #ddd;padding:2px 8px;vertical-align:top}td:first-child{font-family:monospace}"
             "h2{font-size:15px}")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Run settings and versions</title>"
            f"<style>{style}</style></head><body>"
            + table("Data", data) + table("Passes", passes)
            + table("Settings each stage ran with", _flatten("", recorded_settings(ingest_summary, pass_summaries)))
            + table("Versions", _versions())
            + "</body></html>\n")


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


# ---- one call per rule ----------------------------------------------------------------------------

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


def write_benchmarks(paths: Sequence[str | Path], svg: str | Path, tsv: str | Path) -> pl.DataFrame:
    """The benchmark figure and a TSV of the same numbers."""
    bench = read_benchmarks(paths)
    save_svg(benchmarks_figure(bench), svg)
    with io.atomic_path(tsv) as tmp:
        bench.write_csv(tmp, separator="\t", float_precision=3)
    return bench

