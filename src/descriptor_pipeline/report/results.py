"""Figures of the results: the survivors that stand for the most descriptors, the predictability of each
stand-in, and the descriptors whose fate flips with the seed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from descriptor_pipeline.report._draw import PASS_COLORS, _empty, count_log_scale, label

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
    height = 3.2 + 0.28 * min(weakest, len(end_to_end)) + 1.2
    # between the panels, in inches: the upper one's tick labels and two-line x label, the lower one's title
    # (a fixed gap, not a layout engine: long names on the left widen the saved figure instead of the bars
    # collapsing)
    gap, top_margin, bottom_margin = 1.0, 0.45, 0.5
    area = height - top_margin - bottom_margin
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(7, height),
        gridspec_kw={"height_ratios": [3, max(1, min(weakest, len(end_to_end))) * 0.3 + 0.6],
                     "top": 1 - top_margin / height, "bottom": bottom_margin / height, "hspace": gap / ((area - gap) / 2)})
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
    count_log_scale(top, "y")
    top.set_xlim(0, 1.0)
    top.set_xlabel("share of the alternative's rank variance its representative explains\n(dotted: each pass's minimum)")
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
    bottom.set_xlabel("end-to-end predictability")
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
