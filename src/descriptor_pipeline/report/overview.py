"""The run at a glance: descriptor counts through the stages (the funnel) and why ingest removed columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from descriptor_pipeline.report._draw import PASS_COLORS, _empty

DROP_REASONS = {
    "excluded": "excluded by exclude_columns",
    "non_numeric": "not numeric",
    "all_missing": "all values missing",
    "missing_ratio": "too many missing (max_missing_ratio)",
    "constant": "constant",
    "near_constant": "near-constant (min_off_mode_rows)",
    "beyond_float64": "integers past 2^53 (ids, hashes)",
    "exact_duplicate": "exact duplicate of a kept column",
}


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
        ax.bar_label(bars, labels=[f"{n:,}" for _, n in reasons][::-1], padding=3)
        ax.set_xlabel("columns removed")
        ax.set_xlim(0, max(n for _, n in reasons) * 1.15)
    ax.set_title("Columns removed at ingest, by reason")
    return fig
