"""The Scanner: the aggregate rounds over the input (their SQL, one query per batch of files and column
group), combined into a ScanResult, and the row sample."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from descriptor_pipeline.logs import LOG, Progress
from descriptor_pipeline.scan._sql import _as_double, _literal, _row_group_expr, batches, row_group_bounds
from descriptor_pipeline.scan.source import Source
from descriptor_pipeline.scan._fetch import fetch
from descriptor_pipeline.scan._aggregates import _combine, _floats, _moments, _next_plan, _Partial, _Plan, _sample_rows

COLUMN_GROUP = 1000  # columns per grouped aggregate query (DuckDB 2.0 crashes past about 3,700)
MAX_ROUNDS = 3
_SEED_SALT = 0x5DEECE66D


@dataclass
class ScanResult:
    """Per-column results of the full scan (input order) and the row sample."""

    rows_seen: int
    n_present: np.ndarray  # int64: values that are not null, NaN or +-inf
    min: np.ndarray  # of the present values; +inf / -inf where none
    max: np.ndarray
    mean: np.ndarray  # NaN where no value is present
    std: np.ndarray  # ddof=1; NaN where fewer than two values; +inf beyond float64's range
    sample: np.ndarray  # (rows x columns) float64, missing as NaN, rows ordered by their hash
    rounds: int  # aggregate rounds run (1 when no column needed a second look)


class Scanner:
    """Runs the aggregate rounds over the input and combines their per-row-group results."""

    def __init__(self, source: Source, names: Sequence[str], row_group_rows: Sequence[Sequence[int]], seed: int,
                 sample_rows: int, chunk_rows: int = 0, threads: int = 1,
                 on_batch: Callable[[int, int], None] | None = None) -> None:
        file_rows = [int(sum(sizes)) for sizes in row_group_rows]
        self.source, self.names, self.file_rows = source, list(names), file_rows
        self.refs = source.refs(names)
        self.n_rows = int(sum(file_rows))
        self.sample_rows = sample_rows
        self.threads = max(1, threads)
        self.on_batch = on_batch
        self.batches = batches(source.files, file_rows, len(names), chunk_rows)
        self.bounds = row_group_bounds(row_group_rows)
        self.seed_key = (seed ^ _SEED_SALT) & (2**64 - 1)
        # The row hash reads the columns in name order, so it does not depend on their order in the files.
        self.hash_order = sorted(range(len(names)), key=lambda j: names[j])

    # ---- SQL -------------------------------------------------------------------------------------

    def _row_hash(self) -> str:
        """SQL for a row's seeded content hash over every column (x<k> in name order)."""
        ordered = ", ".join(f"x{k}" for k in self.hash_order)
        return f"hash(xor(hash({ordered}), {self.seed_key}::UBIGINT))"

    def _query(self, batch: list[int], plan: _Plan, threshold: int | None) -> str:
        """Per-row-group aggregates of ``plan``'s columns and, under ``threshold``, the sample rows
        (``plan`` then holds every column: the row hash reads them all)."""
        cols = [f"{_as_double(self.refs[j], plan.masked)} AS x{k}" for k, j in enumerate(plan.columns)]
        inner = (f"SELECT *, {_row_group_expr([self.bounds[i] for i in batch])} AS rg "
                 f"FROM ({self.source.select(batch, cols, numbered=True)})")
        derived = ["*"]
        if threshold is not None:
            derived.append(f"{self._row_hash()} AS rh")
        aggs = []
        for k in range(len(plan.columns)):
            x, s, c = f"x{k}", plan.scale[k], plan.shift[k]
            z = x if s == 1.0 else f"({x} / {_literal(s)})"
            z = z if c == 0.0 else f"({z} - {_literal(c)})"
            aggs.append(f"count({x}) AS n{k}, min({x}) AS lo{k}, max({x}) AS hi{k}, sum({z}) AS s{k}, "
                        f"var_pop({z}) AS v{k}")
        if threshold is not None:
            fields = ", ".join(f"x{k}" for k in range(len(plan.columns)))
            aggs.append(f"list(struct_pack(rh, {fields})) FILTER (WHERE rh <= {threshold}::UBIGINT) AS sample")
        return (f"SELECT fi, rg, count(*) AS rows, {', '.join(aggs)} "
                f"FROM (SELECT {', '.join(derived)} FROM ({inner})) GROUP BY fi, rg ORDER BY fi, rg")

    def _sample_query(self, batch: list[int], threshold: int) -> str:
        """The rows of ``batch`` whose hash is at most ``threshold``: rh, fi, rn and every column, no grouping."""
        cols = [f"{_as_double(ref)} AS x{k}" for k, ref in enumerate(self.refs)]
        return (f"SELECT rh, fi, rn, * EXCLUDE (rh, fi, rn) FROM (SELECT *, {self._row_hash()} AS rh "
                f"FROM ({self.source.select(batch, cols, numbered=True)})) WHERE rh <= {threshold}::UBIGINT")

    def _run(self, plan: _Plan, threshold: int | None, what: str) -> tuple[_Partial, int, np.ndarray, list]:
        """One round over every batch: per-row-group results combined in (file, row group) order, and
        the rows under ``threshold`` (their hashes and values) when one is given."""
        p = len(plan.columns)
        groups = [slice(start, min(start + COLUMN_GROUP, p)) for start in range(0, p, COLUMN_GROUP)] or [slice(0, 0)]
        parts = [_Partial(np.zeros(g.stop - g.start, dtype=np.int64), np.full(g.stop - g.start, np.inf),
                          np.full(g.stop - g.start, -np.inf), np.zeros(g.stop - g.start), np.zeros(g.stop - g.start))
                 for g in groups]
        rows = 0
        hashes: list[np.ndarray] = []
        values: list[list[np.ndarray]] = []  # per batch, per column
        if len(groups) > 1:
            what = f"{what} ({len(groups)} queries of up to {COLUMN_GROUP} columns a batch)"
        progress = Progress(what, self.n_rows, "rows")
        for b, batch in enumerate(self.batches, start=1):
            together = threshold is not None and len(groups) == 1
            for g, part in zip(groups, parts):
                sub = _Plan(plan.columns[g], plan.masked, plan.scale[g], plan.shift[g])
                table = fetch(self.source, batch, self._query(batch, sub, threshold if together else None), self.threads)
                if g.start == 0:
                    rows += int(np.sum(table.column("rows").to_numpy()))
                _combine(part, table, g.stop - g.start)
                if together:
                    h, v = _sample_rows(table.column("sample"), p)
                    hashes.append(h)
                    values.append(v)
                del table
            if threshold is not None and not together:
                h, v = self._sample(batch, threshold)
                hashes.append(h)
                values.append(v)
            if self.on_batch is not None:
                self.on_batch(b, rows)
            progress.update(sum(self.file_rows[i] for i in batch))
        progress.finish()
        h = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
        part = parts[0] if len(parts) == 1 else _Partial(*(np.concatenate([getattr(q, f.name) for q in parts])
                                                            for f in dataclasses.fields(_Partial)))
        return part, rows, h, values

    def _sample(self, batch: list[int], threshold: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Hashes and per-column values of the rows of ``batch`` under ``threshold``, in (hash, file, row)
        order (the grouped query's lists may order rows of equal hash otherwise; only equal rows share one)."""
        table = fetch(self.source, batch, self._sample_query(batch, threshold), self.threads)
        rh = table.column(0).to_numpy().astype(np.uint64)
        order = np.lexsort((table.column(2).to_numpy(), table.column(1).to_numpy(), rh))
        return rh[order], [_floats(table.column(3 + k))[order] for k in range(len(self.refs))]

    # ---- the scan ---------------------------------------------------------------------------------

    def threshold(self, slack: float = 6.0) -> int:
        """Row-hash limit under which about sample_rows + slack * sqrt(sample_rows) rows fall."""
        k = self.sample_rows
        if k <= 0 or k >= self.n_rows:
            return 2**64 - 1
        expected = k + slack * math.sqrt(k) + 10
        return min(2**64 - 1, int(expected / self.n_rows * 2**64))

    def run(self) -> ScanResult:
        """Every round until each column is settled; the sample comes from the first."""
        p = len(self.names)
        n_present = np.zeros(p, dtype=np.int64)
        vmin, vmax = np.full(p, np.inf), np.full(p, -np.inf)
        mean, std = np.full(p, np.nan), np.full(p, np.nan)
        first = _Plan(np.arange(p), masked=False, scale=np.ones(p), shift=np.zeros(p))
        plan, rounds = first, 0
        target = min(self.sample_rows, self.n_rows) if self.sample_rows > 0 else self.n_rows
        slack = 6.0
        while True:
            rounds += 1
            threshold = self.threshold(slack) if rounds == 1 else None
            what = "ingest scan" if rounds == 1 else f"ingest scan, round {rounds} ({plan.columns.size} columns)"
            part, rows, h, v = self._run(plan, threshold, what)
            if rounds == 1:
                rows_seen, hashes, values = rows, h, v
            cols = plan.columns
            n_present[cols], vmin[cols], vmax[cols] = part.count, part.min, part.max
            mean[cols], std[cols], redo = _moments(part, plan)
            if not redo.any():
                break
            if rounds == MAX_ROUNDS:
                LOG.warning("ingest: mean and std of %d columns may have lost precision (%s, ...)",
                            int(redo.sum()), self.names[cols[redo][0]])
                break
            plan = _next_plan(cols[redo], vmin, vmax, mean)
        while hashes.size < target:  # fewer rows under the threshold than asked for: about 1 run in 10^9
            slack *= 2
            LOG.warning("ingest: %d rows fell under the sample threshold, %d wanted; drawing the sample again",
                        hashes.size, target)
            _, _, hashes, values = self._run(first, self.threshold(slack), "ingest sample")
        order = np.argsort(hashes, kind="stable")[:target]
        sample = np.empty((order.size, p), order="F")  # column-major: the passes and statistics read columns
        for j in range(p):
            column = values[0][j] if len(values) == 1 else np.concatenate([batch[j] for batch in values])
            np.take(column, order, out=sample[:, j])
            sample[~np.isfinite(sample[:, j]), j] = np.nan
        return ScanResult(rows_seen, n_present, vmin, vmax, mean, std, sample, rounds)
