"""What every figure shares: matplotlib set up for reproducible SVG (importing this module does it), the
pass colours, how a descriptor name is drawn, how a count axis on a log scale is drawn and labelled, how
a figure is saved, the text of an empty figure."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

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


def label(name: str, chars: int = LABEL_CHARS) -> str:
    """A descriptor name as drawn: characters that SVG text cannot hold shown as escapes, and a name
    longer than ``chars`` (LABEL_CHARS; less where space is short) shortened in the middle (its start and
    its end, where names differ)."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)
    if len(text) <= chars:
        return text
    tail = max(1, chars // 4)
    return text[: chars - tail - 1] + "\u2026" + text[-tail:]


FULL_DECADES = 4  # powers of ten up to 10,000 are written out; 10⁵ and beyond as powers
_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")


def log_tick(value: float, _pos: int | None = None) -> str:
    """The label of a tick on a log (or symlog) axis, as plain text: ``0``, ``1``, ``10``, ``100``,
    ``1,000``, ``10,000``, then ``10⁵``, ``10⁶``, ... (Unicode superscripts); no label between powers of ten.

    matplotlib's own log labels are mathtext (``$\\mathdefault{10^{5}}$``), which shows as that raw text
    here, where ``text.parse_math`` is off so that a "$" in a descriptor name stays a character.
    """
    if value == 0:
        return "0"
    exponent = math.log10(abs(value))
    if abs(exponent - round(exponent)) > 1e-6:
        return ""
    power = round(exponent)
    sign = "\u2212" if value < 0 else ""
    if 0 <= power <= FULL_DECADES:
        return f"{sign}{10 ** power:,}"
    return f"{sign}10{str(power).translate(_SUPERSCRIPT)}"


def plain_log_ticks(axis: Axis) -> None:
    """Label a log or symlog axis with :func:`log_tick` (its minor ticks unlabelled). Every log axis of
    the report gets this, after its ``set_?scale`` (which sets matplotlib's mathtext labels)."""
    axis.set_major_formatter(FuncFormatter(log_tick))
    axis.set_minor_formatter(NullFormatter())


def count_log_scale(ax: Any, which: str = "y") -> None:
    """Put axis ``which`` ("x" or "y") of ``ax``, an axis of counts that may be 0, on a log scale (symlog:
    linear below 1), labelled in plain text."""
    getattr(ax, f"set_{which}scale")("symlog", linthresh=1)
    plain_log_ticks(getattr(ax, f"{which}axis"))


def save_svg(fig: Figure, path: str | Path) -> None:
    """Write ``fig`` as SVG without a date (atomically) and close it.

    Text stays text, so the viewer's browser draws it with its own fonts; matplotlib only measures it,
    and its warning about a character its font lacks (Korean, say) is not the viewer's problem.
    """
    with io.atomic_path(path) as tmp, missing_glyphs_ignored():
        fig.savefig(tmp, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)


@contextmanager
def missing_glyphs_ignored() -> Iterator[None]:
    """matplotlib's warning about a character its font lacks, silenced: whatever measures or saves text
    (the viewer's browser draws the character with its own fonts)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        yield


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_axis_off()
