"""Exact duplicates confirmed: candidate columns compared value by value in DuckDB, over only them."""

from __future__ import annotations

from collections.abc import Sequence

from descriptor_pipeline.scan._sql import _as_double
from descriptor_pipeline.scan.source import Source
from descriptor_pipeline.scan._fetch import fetch


def equal_columns(source: Source, names: Sequence[str], groups: list[list[int]], threads: int = 1) -> list[list[int]]:
    """Split candidate groups of columns into groups of columns equal in every row (missing equal to
    missing, -0.0 to 0.0), comparing values in DuckDB over only the candidates."""
    confirmed: list[list[int]] = []
    pending = [g for g in groups if len(g) > 1]
    while pending:
        used = sorted({j for g in pending for j in g})
        slot = {j: k for k, j in enumerate(used)}
        refs = source.refs([names[j] for j in used])
        cols = [f"{_as_double(ref, masked=True)} AS y{k}" for k, ref in enumerate(refs)]
        tests = [f"bool_and(y{slot[g[0]]} IS NOT DISTINCT FROM y{slot[j]})" for g in pending for j in g[1:]]
        every = list(range(len(source.files)))
        query = f"SELECT {', '.join(tests)} FROM ({source.select(every, cols)})"
        result = fetch(source, every, query, threads)
        flags = iter(column[0].as_py() for column in result.columns)
        rest = []
        for g in pending:
            same = [g[0]] + [j for j in g[1:] if next(flags) is not False]  # NULL: no rows, equal
            if len(same) > 1:
                confirmed.append(same)
            left = [j for j in g if j not in same]
            if len(left) > 1:
                rest.append(left)
        pending = rest
    return confirmed
