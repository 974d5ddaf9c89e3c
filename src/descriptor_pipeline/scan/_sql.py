"""SQL text: string and number literals, a column as DOUBLE, the row group of a row, and which files
each aggregate query reads."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BATCH_VALUES = 2**30  # values (rows x columns) per aggregate query when ``chunk_rows`` is 0


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(value: float) -> str:
    return f"{float(value)!r}::DOUBLE"


def _as_double(ref: str, masked: bool = False) -> str:
    """SQL for the column referred to as ``ref`` as DOUBLE; ``masked``: NULL where the value is NaN or +-inf."""
    x = f"CAST({ref} AS DOUBLE)"
    return f"CASE WHEN isfinite({x}) THEN {x} END" if masked else x


def row_group_bounds(row_group_rows: Sequence[Sequence[int]]) -> list[list[int]]:
    """First row of every row group after the first, per file."""
    return [[int(v) for v in np.cumsum(sizes)[:-1]] for sizes in row_group_rows]


def _row_group_expr(bounds: list[list[int]]) -> str:
    """SQL for the row group of ``rn`` within file ``fi`` (uniform groups: one division)."""
    def one(b: list[int]) -> str:
        if not b:
            return "0"
        size = b[0]
        if all(v == size * (k + 1) for k, v in enumerate(b)):
            return f"rn // {size}"
        return "CASE " + " ".join(f"WHEN rn < {v} THEN {k}" for k, v in enumerate(b)) + f" ELSE {len(b)} END"
    exprs = [one(b) for b in bounds]
    if len(set(exprs)) == 1:
        return exprs[0]
    return "CASE fi " + " ".join(f"WHEN {i} THEN {e}" for i, e in enumerate(exprs)) + " END"


def batches(files: Sequence[str], file_rows: Sequence[int], n_columns: int, chunk_rows: int) -> list[list[int]]:
    """Consecutive files per aggregate query: at least one, at most ``chunk_rows`` rows (or BATCH_VALUES values)."""
    limit = chunk_rows if chunk_rows > 0 else max(1, BATCH_VALUES // max(n_columns, 1))
    out: list[list[int]] = []
    current: list[int] = []
    rows = 0
    for i, n in enumerate(file_rows):
        if current and rows + n > limit:
            out.append(current)
            current, rows = [], 0
        current.append(i)
        rows += n
    if current:
        out.append(current)
    return out
