"""Figures of one pass: its similarity histogram, its cluster sizes and drawings of its largest clusters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import polars as pl
from matplotlib.figure import Figure

from descriptor_pipeline.report._draw import PASS_COLORS, _empty, count_log_scale, label, missing_glyphs_ignored

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
    count_log_scale(ax, "y")
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
        ax.bar_label(bars, labels=[f"{n:,}" for _, n in sizes], padding=2)
        count_log_scale(ax, "y")
        ax.set_ymargin(0.15)  # room above the tallest bar for its count, below the title
        ax.set_xlabel("cluster size (descriptors)")
        ax.set_ylabel("clusters")
    ax.set_title(f"{pass_name}: {int(summary['descriptors_in']):,} descriptors in "
                 f"{int(summary['clusters']):,} clusters")
    return fig


NAMED = 9  # a cluster's drawing names its representative and up to NAMED - 1 members most similar to it
TITLE_CHARS = 44  # names shortened to fit a panel (a third of the figure): in its title (the representative)
NODE_CHARS = 32  # and next to its nodes


def largest_clusters(clusters: pl.DataFrame, edges: pl.DataFrame, n: int = 6, max_nodes: int = 30
                     ) -> list[tuple[str, nx.Graph, int]]:
    """The ``n`` largest clusters (size >= 2) as graphs of their above-threshold pairs.

    Returns (representative, graph, cluster size); a cluster of more than ``max_nodes`` descriptors is
    drawn with its representative and the ``max_nodes - 1`` members closest to it (by similarity to the
    representative, then name). Ties in size are broken by the representative's name. Each node holds
    its ``similarity`` to the representative (1 for the representative).
    """
    sizes = clusters.group_by("cluster").agg(pl.len().alias("size"), pl.col("representative").first())
    sizes = sizes.filter(pl.col("size") >= 2).sort(["size", "representative"], descending=[True, False]).head(n)
    out = []
    for cluster_id, size, rep in sizes.select("cluster", "size", "representative").iter_rows():
        members = clusters.filter(pl.col("cluster") == cluster_id).sort(
            ["is_representative", "similarity", "descriptor"], descending=[True, True, False]).head(max_nodes)
        names = members["descriptor"].to_list()
        graph = nx.Graph()
        for name, similarity in members.select("descriptor", "similarity").iter_rows():
            graph.add_node(name, similarity=1.0 if name == rep else float(similarity))
        inside = edges.filter(pl.col("descriptor_a").is_in(names) & pl.col("descriptor_b").is_in(names))
        for a, b, sim in inside.select("descriptor_a", "descriptor_b", "similarity").iter_rows():
            graph.add_edge(a, b, similarity=float(sim))
        out.append((rep, graph, int(size)))
    return out


def strongest_members(rep: str, graph: nx.Graph, n: int = NAMED) -> list[str]:
    """The representative, then up to ``n - 1`` members by similarity to it (then name): whom to name."""
    others = sorted((v for v in graph.nodes if v != rep), key=lambda v: (-graph.nodes[v].get("similarity", 0.0), v))
    return ([rep] if rep in graph else []) + others[: n - 1]


# Where a node's name may go, in the order tried: above, below, right, left of its marker.
_PLACES = (((0, 5), "center", "bottom"), ((0, -5), "center", "top"), ((6, 0), "left", "center"),
           ((-6, 0), "right", "center"))
_NAME_BOX = {"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}  # legible over edges


def _name_nodes(ax: Any, pos: Mapping[str, Any], names: Sequence[str], taken: list[Any]) -> list[str]:
    """Write each of ``names`` next to its node where it fits: inside the panel, clear of every text
    placed before it (``taken``: their extents, added to); a name that fits nowhere is left out.
    Returns the names written. Texts are measured with the figure's renderer, so the figure's layout must
    be final (fixed margins, the axes' limits fixed)."""
    renderer = ax.figure.canvas.get_renderer()
    panel = ax.get_window_extent(renderer)
    written = []
    for name in names:
        for offset, ha, va in _PLACES:
            text = ax.annotate(label(name, NODE_CHARS), pos[name], xytext=offset, textcoords="offset points",
                               ha=ha, va=va, fontsize=7, bbox=_NAME_BOX)
            with missing_glyphs_ignored():
                box = text.get_window_extent(renderer)
            inside = panel.x0 <= box.x0 and box.x1 <= panel.x1 and panel.y0 <= box.y0 and box.y1 <= panel.y1
            if inside and not any(box.overlaps(other) for other in taken):
                taken.append(box.expanded(1.05, 1.1))
                written.append(name)
                break
            text.remove()
    return written


def largest_clusters_figure(pass_name: str, drawn: Sequence[tuple[str, nx.Graph, int]], threshold: float) -> Figure:
    """Small graph drawings of the largest clusters; the representative is the red star. Each names the
    representative and the members most similar to it (as many of NAMED as fit without overlapping) and
    counts the rest."""
    cols = 3
    rows = max(1, -(-len(drawn) // cols))
    height = 3.3 * rows
    fig, axes = plt.subplots(rows, cols, figsize=(10, height), squeeze=False)
    # margins in inches: the two-line panel titles clear of the figure's title and of the row above
    top, bottom, gap = 1 - 0.8 / height, 0.05 / height, 0.6
    axes_height = (height * (top - bottom) - (rows - 1) * gap) / rows
    fig.subplots_adjust(left=0.01, right=0.99, wspace=0.08, top=top, bottom=bottom, hspace=gap / axes_height)
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
        ax.margins(0.2)
        ax.set_xlim(ax.get_xlim())  # fixed before the names are measured against the panel
        ax.set_ylim(ax.get_ylim())
        shown = "" if graph.number_of_nodes() == size else f", {graph.number_of_nodes()} drawn"
        ax.set_title(f"{label(rep, TITLE_CHARS)}\n{size} descriptors{shown}", fontsize=8)
        # the lower right corner keeps room for "+ N more" (N < size), then the names go where they fit
        more = ax.text(1.0, 0.0, f"+ {size:,} more", transform=ax.transAxes, ha="right", va="bottom", fontsize=7,
                       color="#555555")
        with missing_glyphs_ignored():
            taken = [more.get_window_extent(fig.canvas.get_renderer()).expanded(1.1, 1.2)]
        named = _name_nodes(ax, pos, strongest_members(rep, graph), taken)
        rest = size - len(set(named) | {rep})  # the representative is named in the title
        more.set_text(f"+ {rest:,} more" if rest else "")
    fig.suptitle(f"{pass_name}: largest clusters (red star: representative; edge colour: similarity "
                 f"from {threshold:g} (dark) to 1 (yellow))\nnamed: the representative and the members most "
                 f"similar to it, as many as fit", fontsize=9)
    return fig
