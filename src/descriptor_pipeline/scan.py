"""The ingest scan: DuckDB aggregates every column in its own threads, Python only combines the results.

One aggregate query per batch of files reads every row once. Grouped by Parquet row group, it returns
for each column the count of values, min, max, sum and population variance (DuckDB's ``var_pop``, a
Welford update), and the rows whose content hash falls under a threshold (the row-sample
candidates). Exact duplicates need no fingerprint: identical columns get identical bits in all of
these (same rows, same order, same row groups) and in the sample, and :func:`equal_columns` confirms
such candidates value by value in a narrow query over only them. Results per row group do not depend on DuckDB's thread count
or on how the files are batched (DuckDB reads a row group in one thread, in order), and Python
combines them in (file, row group) order, so the statistics are the same bytes however many threads
run.

A table wider than COLUMN_GROUP columns is aggregated COLUMN_GROUP columns per query: DuckDB 2.0's
grouped aggregate keeps one row of state per group, and past about 3,700 columns of these five
aggregates (some 18,000 aggregates, a state row wider than its 256 KiB blocks) the process dies of a
division by zero (SIGFPE). Such a table's sample comes from one more query, which hashes every row and
returns the rows under the threshold; a column's statistics do not depend on the other columns in its
query, so they are the same bytes either way.

Columns the fast query cannot settle (NaN or +-inf present, sums beyond float64's range, or a mean so
far from zero against the spread that the Welford update loses digits) are read again in a narrow
query that masks non-finite values, divides by a power of two and subtracts the mean found so far.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.logs import LOG, Progress
from descriptor_pipeline.stats import pow2_scale

BATCH_VALUES = 2**30  # values (rows x columns) per aggregate query when ``chunk_rows`` is 0
COLUMN_GROUP = 1000  # columns per grouped aggregate query (DuckDB 2.0 crashes past about 3,700)
MAX_ROUNDS = 3
OFFSET_LIMIT = 1e3  # |mean| / std above which a column is read again, shifted by its mean
_SEED_SALT = 0x5DEECE66D


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(value: float) -> str:
    return f"{float(value)!r}::DOUBLE"


def _as_double(ref: str, masked: bool = False) -> str:
    """SQL for the column referred to as ``ref`` as DOUBLE; ``masked``: NULL where the value is NaN or +-inf."""
    x = f"CAST({ref} AS DOUBLE)"
    return f"CASE WHEN isfinite({x}) THEN {x} END" if masked else x


@dataclass(frozen=True)
class Source:
    """The input files, with every column addressed by its position, never by its name.

    DuckDB matches identifiers without regard to case (``nARing`` finds ``naRing``) and matches the
    columns of later files to the first file's by such names, so no input name ever reaches SQL: each
    file's columns are renamed by position (``AS t(c0, c1, ...)``) to ``c<k>``, k being the column's
    position in the first file, and consecutive files with the same column order share one
    ``read_parquet``. Hive partitioning is off, so a path such as ``year=2024/`` adds no column.
    """

    files: tuple[str, ...]
    columns: tuple[tuple[str, ...], ...]  # per file, every column name in file order

    @functools.cached_property
    def _position(self) -> dict[str, int]:
        return {name: k for k, name in enumerate(self.columns[0])}

    def refs(self, names: Sequence[str]) -> list[str]:
        """The SQL names of input columns ``names`` (``c<k>``, k their position in the first file)."""
        return [f"c{self._position[name]}" for name in names]

    def select(self, batch: Sequence[int], exprs: Sequence[str], numbered: bool = False) -> str:
        """SQL selecting ``exprs`` (over the ``c<k>`` names) from the files ``batch``, in order; with
        ``numbered``, also ``fi`` (the file's place in ``batch``) and ``rn`` (the row in its file)."""
        parts = []
        start = 0
        while start < len(batch):
            stop = start + 1
            while stop < len(batch) and self.columns[batch[stop]] == self.columns[batch[start]]:
                stop += 1
            numbers = f", file_index + {start} AS fi, file_row_number AS rn" if numbered else ""
            aliases = ", ".join(self.refs(self.columns[batch[start]]))
            files = ", ".join(sql_string(self.files[i]) for i in batch[start:stop])
            parts.append(f"SELECT {', '.join(exprs)}{numbers} "
                         f"FROM read_parquet([{files}], hive_partitioning = false) AS t({aliases})")
            start = stop
        return parts[0] if len(parts) == 1 else " UNION ALL ".join(f"({part})" for part in parts)


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


@dataclass
class _Plan:
    """How one round reads its columns: finite-masked or not, and each column's scale and shift."""

    columns: np.ndarray  # indices into the descriptor list
    masked: bool
    scale: np.ndarray  # a power of two
    shift: np.ndarray  # the sums are of z = x / scale - shift


@dataclass
class _Partial:
    """Aggregates of one round, combined over row groups; per column of the round's plan."""

    count: np.ndarray
    min: np.ndarray
    max: np.ndarray
    mean_z: np.ndarray  # mean of z = x / scale - shift
    m2_z: np.ndarray  # sum of squared deviations of z


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


def _floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric Arrow column as float64 NumPy, nulls as NaN."""
    return column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


_AGGREGATES = ("n", "lo", "hi", "s", "v")  # per column, in the order the query selects them, after fi, rg, rows


def _matrix(table: pa.Table, name: str, p: int, dtype=np.float64) -> np.ndarray:
    """Aggregate ``name`` of every column of a result as a (row groups x p) array (by position, not name:
    a wide result has six columns per descriptor)."""
    offset = 3 + _AGGREGATES.index(name)
    out = np.empty((table.num_rows, p), dtype=dtype)
    for k in range(p):
        out[:, k] = table.column(offset + len(_AGGREGATES) * k).to_numpy(zero_copy_only=False)
    return out


def _combine(part: _Partial, table: pa.Table, p: int) -> None:
    """Fold one batch's per-row-group aggregates (rows ordered by file, row group) into ``part``."""
    n_g = _matrix(table, "n", p, np.int64)
    lo_g, hi_g = _matrix(table, "lo", p), _matrix(table, "hi", p)
    sum_g, var_g = _matrix(table, "s", p), _matrix(table, "v", p)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for g in range(table.num_rows):  # Chan et al.'s pairwise update, one row group at a time
            has = n_g[g] > 0
            # np.minimum / maximum keep a NaN (DuckDB sorts NaN above +inf), so a NaN is never hidden
            part.min = np.where(has, np.minimum(part.min, lo_g[g]), part.min)
            part.max = np.where(has, np.maximum(part.max, hi_g[g]), part.max)
            n_a, n_b = part.count.astype(np.float64), n_g[g].astype(np.float64)
            n = n_a + n_b
            mean_b = np.where(has, sum_g[g] / np.maximum(n_b, 1), 0.0)
            m2_b = np.where(has, var_g[g] * n_b, 0.0)
            delta = mean_b - part.mean_z
            frac = np.where(has, n_b / np.maximum(n, 1), 0.0)
            part.mean_z = part.mean_z + delta * frac
            part.m2_z = part.m2_z + m2_b + np.where(has, delta * delta * n_a * frac, 0.0)
            part.count = part.count + n_g[g]


def _sample_rows(column: pa.ChunkedArray, p: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Hashes and per-column values of the rows in a result's ``sample`` lists (every row group's)."""
    parts = [chunk.flatten() for chunk in column.chunks]  # flatten() honours offsets and null lists
    if sum(map(len, parts)) == 0:
        return np.empty(0, dtype=np.uint64), [np.empty(0) for _ in range(p)]
    structs = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)  # concat_arrays copies: only when needed
    fields = dict(zip([f.name for f in structs.type], structs.flatten()))
    hashes = fields["rh"].to_numpy(zero_copy_only=False).astype(np.uint64)
    return hashes, [_floats(fields[f"x{k}"]) for k in range(p)]


def _moments(part: _Partial, plan: _Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and std in the input's units, and which columns need another round."""
    n, s = part.count.astype(np.float64), plan.scale
    constant = (part.count > 0) & (part.min == part.max)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        mean = np.where(n > 0, (part.mean_z + plan.shift) * s, np.nan)
        std_z = np.sqrt(np.maximum(part.m2_z, 0.0) / np.maximum(n - 1, 1))
        std = np.where(n > 1, std_z * s, np.nan)
        non_finite = (part.count > 0) & ~(np.isfinite(part.min) & np.isfinite(part.max))
        sums_bad = ~(np.isfinite(part.mean_z) & np.isfinite(part.m2_z))
        offset = ~(np.abs(part.mean_z) <= OFFSET_LIMIT * std_z)
    mean = np.where(constant, part.min, mean)
    std = np.where(constant & (n > 1), 0.0, std)
    redo = (sums_bad | offset) & ~constant & (n > 1)
    if not plan.masked:
        redo |= non_finite
    return mean, std, redo


def _next_plan(columns: np.ndarray, vmin: np.ndarray, vmax: np.ndarray, mean: np.ndarray) -> _Plan:
    """A masked round for ``columns``: each divided by a power of two near its largest magnitude (so
    that neither sums nor squares overflow) and shifted by its mean, once these are known."""
    known = np.isfinite(vmin[columns]) & np.isfinite(vmax[columns])
    scale = pow2_scale(np.where(known, np.maximum(np.abs(vmin[columns]), np.abs(vmax[columns])), 0.0))
    mu = mean[columns]
    shift = np.where(known & np.isfinite(mu), mu / scale, 0.0)
    return _Plan(columns, masked=True, scale=scale, shift=shift)


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


def fetch(source: Source, batch: Sequence[int], query: str, threads: int) -> pa.Table:
    """Run ``query`` over the files ``batch`` on its own connection; a read error names the input file it met."""
    con = duckdb.connect(config={"threads": max(1, threads)})
    try:
        return con.sql(query).to_arrow_table()
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        culprit = unreadable_file(source, batch, first)
        raise PipelineError(f"{culprit}: DuckDB could not read the input ({first}); check every file in 'input'") from None
    finally:
        con.close()


def unreadable_file(source: Source, batch: Sequence[int], message: str) -> str:
    """The input file a failed query choked on: the one DuckDB's message names, else the first that fails alone."""
    files = [source.files[i] for i in batch]
    named = [f for f in files if f in message]
    if named:
        return max(named, key=len)
    con = duckdb.connect(config={"threads": 1})
    try:
        for i in batch:
            try:
                for _ in con.sql(source.select([i], ["*"])).to_arrow_reader(65536):
                    pass
            except (duckdb.Error, pa.ArrowException, OSError):
                return source.files[i]
    finally:
        con.close()
    return files[0]
