"""What every figure shares: matplotlib set up for reproducible SVG (importing this module does it), the
pass colours, how a descriptor name is drawn, how a figure is saved, the text of an empty figure."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from descriptor_pipeline import io  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "descriptor-pipeline",  # fixed ids: the same figure gives the same bytes
    "svg.fonttype": "none",  # text stays text: searchable, and smaller
    "text.parse_math": False,  # a "$" in a descriptor name is a character, not mathematics
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

PASS_COLORS = {"ingest": "#7f7f7f", "spearman": "#1f77b4", "hsic": "#ff7f0e", "rdc": "#2ca02c"}

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
