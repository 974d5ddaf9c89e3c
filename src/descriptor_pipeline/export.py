"""Tabular export of the cluster report for spreadsheets: ``results/alternatives.tsv``.

One row per (survivor, alternative): the passes that lead from the alternative to the survivor, the
descriptors in between, the similarities and predictabilities of the steps, and how well the survivor
predicts the alternative end to end. Rows follow the final list's order, then
the alternative's name, so the same report always gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from descriptor_pipeline import io

COLUMNS = ("survivor", "alternative", "pass_path", "via", "step_similarities", "min_similarity",
           "step_predictabilities", "predictability")


def _cell(text: str) -> str:
    """A TSV cell: tabs and line breaks in a name would break the row, so they are escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def alternatives_rows(report: dict[str, Any], order: list[str] | None = None) -> list[tuple[str, ...]]:
    """The rows of alternatives.tsv from a cluster report (as written by the backtrack rule)."""
    rows = []
    for survivor in order if order is not None else list(report["descriptors"]):
        entry = report["descriptors"][survivor]
        for alternative in entry["alternative_descriptors"]:
            steps = entry["lineage"][alternative]
            sims = [float(step["similarity"]) for step in steps]
            rows.append((
                survivor,
                alternative,
                ">".join(step["pass"] for step in steps),
                ">".join(step["represented_by"] for step in steps[:-1]),
                ";".join(repr(s) for s in sims),
                repr(min(sims)),
                ";".join(repr(float(step["predictability"])) for step in steps),
                repr(float(entry["predictability"][alternative])),
            ))
    return rows


def write_alternatives_tsv(report_path: str | Path, final_path: str | Path, out: str | Path) -> int:
    """Write ``out`` from the report and the final list; return the number of rows."""
    report = io.read_json(report_path)
    rows = alternatives_rows(report, io.read_lines(final_path))
    lines = ["\t".join(COLUMNS)] + ["\t".join(_cell(c) for c in row) for row in rows]
    io.write_lines(out, lines)
    return len(rows)
