"""Figures of one pass: its similarity histogram, its cluster sizes and drawings of its largest clusters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import polars as pl
from matplotlib.figure import Figure

from descriptor_pipeline.report._draw import PASS_COLORS, _empty, label

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
