"""The Scanner: the aggregate rounds over the input (their SQL, one query per batch of files and column
group), combined into a ScanResult, and the row sample."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.logs import LOG, Progress
from descriptor_pipeline.scan._sql import _as_double, _literal, _row_group_expr, batches, row_group_bounds
from descriptor_pipeline.scan.source import Source
from descriptor_pipeline.scan._fetch import fetch
from descriptor_pipeline.scan._aggregates import (
    _combine, _floats, _moments, _next_plan, _Partial, _Plan, _row_terms, _sample_rows,
)
from descriptor_pipeline.scan.store import SampleStore

COLUMN_GROUP = 1000  # columns per grouped aggregate query (DuckDB 2.0 crashes past about 3,700)
MAX_ROUNDS = 3
_SEED_SALT = 0x5DEECE66D
_ROW_BITS = 40  # a sampled row's id: its file's index << _ROW_BITS | its row in the file


def _value_type(dtype: pa.DataType) -> pa.DataType:
    """The type of a column's values (a dictionary's value type)."""
    return dtype.value_type if pa.types.is_dictionary(dtype) else dtype


def _as_float64(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """An integer, float, boolean (0 / 1) or dictionary-encoded column as float64, rounded to nearest as
    DuckDB's CAST does (past 2**53 an integer is rounded, not refused)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column if column.type == pa.float64() else column.cast(pa.float64(), safe=False)


class _Readers:
    """Arrow readers of the input files, opened once and kept while their footers fit ``budget`` bytes
    (serialized; in memory a footer takes about ten times that, 50 MB for 20,000 columns; the scanner
    gives a 32nd of ``ingest.memory_mb``), past it opened again for each block of columns (0.08 s for a
    20,000-column footer), so the number of files sets no peak.

    ``pre_buffer``: coalesced reads of a row group's column chunks (1.6x faster on 20,000 columns), but
    a reader keeps the chunks it pre-buffered until its next read, so the scanner asks for it only where
    one block's chunks of every file fit a quarter of the memory budget.
    """

    def __init__(self, files: Sequence[str], budget: int, pre_buffer: bool) -> None:
        self.files, self.budget, self.pre_buffer = files, budget, pre_buffer
        self.kept: dict[int, pq.ParquetFile] = {}
        self.open: dict[int, pq.ParquetFile] = {}
        self.used = 0

    def get(self, i: int) -> pq.ParquetFile:
        if i in self.kept:
            return self.kept[i]
        if i not in self.open:
            reader = pq.ParquetFile(self.files[i], pre_buffer=self.pre_buffer)
            size = reader.metadata.serialized_size
            if self.used + size <= self.budget:
                self.used += size
                self.kept[i] = reader
                return reader
            self.open[i] = reader
        return self.open[i]

    def done(self, i: int) -> None:
        """File ``i`` is not needed again for this block of columns: closed unless it is kept."""
        reader = self.open.pop(i, None)
        if reader is not None:
            reader.close()

    def close(self) -> None:
        for reader in [*self.kept.values(), *self.open.values()]:
            reader.close()
        self.kept, self.open = {}, {}


@dataclass
class ScanResult:
    """Per-column results of the full scan (input order) and the row sample."""

    rows_seen: int
    n_present: np.ndarray  # int64: values that are not null, NaN or +-inf
    min: np.ndarray  # of the present values; +inf / -inf where none
    max: np.ndarray
    mean: np.ndarray  # NaN where no value is present
    std: np.ndarray  # ddof=1; NaN where fewer than two values; +inf beyond float64's range
    sample: SampleStore  # (rows x columns) float64, missing as NaN, rows ordered by their hash
    rounds: int  # aggregate rounds run (1 when no column needed a second look)


class Scanner:
    """Runs the aggregate rounds over the input and combines their per-row-group results."""

    def __init__(self, source: Source, names: Sequence[str], row_group_rows: Sequence[Sequence[int]], seed: int,
                 sample_rows: int, chunk_rows: int = 0, threads: int = 1,
                 on_batch: Callable[[int, int], None] | None = None, memory_bytes: int = 2**30,
                 spill_dir: str | None = None) -> None:
        file_rows = [int(sum(sizes)) for sizes in row_group_rows]
        self.source, self.names, self.file_rows = source, list(names), file_rows
        self.refs = source.refs(names)
        self.n_rows = int(sum(file_rows))
        self.sample_rows = sample_rows
        self.threads = max(1, threads)
        self.on_batch = on_batch
        self.memory_bytes, self.spill_dir = int(memory_bytes), spill_dir
        self.batches = batches(source.files, file_rows, len(names), chunk_rows)
        self.row_group_rows = [list(sizes) for sizes in row_group_rows]
        self.bounds = row_group_bounds(row_group_rows)
        self.seed_key = (seed ^ _SEED_SALT) & (2**64 - 1)
        # Each column's term of the row hash is salted with its name, not its place in the files.
        self.salts = [int.from_bytes(hashlib.blake2b(n.encode("utf-8"), digest_size=8).digest(), "little") for n in names]

    # ---- SQL -------------------------------------------------------------------------------------

    def _hash_terms(self, plan: _Plan) -> str:
        """SQL XOR of the row-hash terms of ``plan``'s columns (x<k>): each value hashed with its column's
        salt, so the XOR over every column does not depend on column order or on how columns are grouped."""
        terms = [f"hash(x{k}, {self.salts[j]}::UBIGINT)" for k, j in enumerate(plan.columns)]
        while len(terms) > 1:  # a balanced tree: DuckDB's expressions stay shallow at any width
            terms = [f"xor({terms[i]}, {terms[i + 1]})" if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
        return terms[0] if terms else "0::UBIGINT"

    def _query(self, batch: list[int], plan: _Plan, threshold: int | None, mode: str | None) -> str:
        """Per-row-group aggregates of ``plan``'s columns; ``mode`` "sample": also the rows whose hash is
        at most ``threshold`` (``plan`` then holds every column); "hash": also every row's hash terms of
        the plan's columns, in row order."""
        cols = [f"{_as_double(self.refs[j], plan.masked)} AS x{k}" for k, j in enumerate(plan.columns)]
        inner = (f"SELECT *, {_row_group_expr([self.bounds[i] for i in batch])} AS rg "
                 f"FROM ({self.source.select(batch, cols, numbered=True)})")
        derived = ["*"]
        if mode == "sample":
            derived.append(f"hash(xor({self._hash_terms(plan)}, {self.seed_key}::UBIGINT)) AS rh")
        elif mode == "hash":
            derived.append(f"{self._hash_terms(plan)} AS ph")
        aggs = []
        for k in range(len(plan.columns)):
            x, s, c = f"x{k}", plan.scale[k], plan.shift[k]
            z = x if s == 1.0 else f"({x} / {_literal(s)})"
            z = z if c == 0.0 else f"({z} - {_literal(c)})"
            aggs.append(f"count({x}) AS n{k}, min({x}) AS lo{k}, max({x}) AS hi{k}, sum({z}) AS s{k}, "
                        f"var_pop({z}) AS v{k}")
        if mode == "sample":
            fields = ", ".join(f"x{k}" for k in range(len(plan.columns)))
            aggs.append(f"list(struct_pack(rh, {fields})) FILTER (WHERE rh <= {threshold}::UBIGINT) AS sample")
        elif mode == "hash":
            aggs.append("list(ph ORDER BY rn) AS ph")
        return (f"SELECT fi, rg, count(*) AS rows, {', '.join(aggs)} "
                f"FROM (SELECT {', '.join(derived)} FROM ({inner})) GROUP BY fi, rg ORDER BY fi, rg")

    def _in_query(self) -> bool:
        """Whether the first round's one query per batch returns the sample rows themselves (every column
        in one query, and their values within the memory budget), rather than the row hashes."""
        return len(self.names) <= COLUMN_GROUP and self._target() * max(len(self.names), 1) * 8 <= self.memory_bytes

    def _target(self) -> int:
        return min(self.sample_rows, self.n_rows) if self.sample_rows > 0 else self.n_rows

    def _run(self, plan: _Plan, threshold: int | None, what: str) -> tuple[_Partial, int, np.ndarray, list]:
        """One round over every batch: per-row-group results combined in (file, row group) order and,
        when ``threshold`` is given, the rows whose hash is at most it: their hashes and either their
        values (per batch, per column) or their ids (file << 40 | row)."""
        p = len(plan.columns)
        groups = [slice(start, min(start + COLUMN_GROUP, p)) for start in range(0, p, COLUMN_GROUP)] or [slice(0, 0)]
        parts = [_Partial(np.zeros(g.stop - g.start, dtype=np.int64), np.full(g.stop - g.start, np.inf),
                          np.full(g.stop - g.start, -np.inf), np.zeros(g.stop - g.start), np.zeros(g.stop - g.start))
                 for g in groups]
        rows = 0
        hashes: list[np.ndarray] = []
        taken: list = []  # per batch: the rows' values per column, or their ids
        if len(groups) > 1:
            what = f"{what} ({len(groups)} queries of up to {COLUMN_GROUP} columns a batch)"
        mode = None if threshold is None else ("sample" if self._in_query() else "hash")
        progress = Progress(what, self.n_rows, "rows")
        for b, batch in enumerate(self.batches, start=1):
            terms = None  # XOR of the hash terms of the columns read so far, every row of the batch in order
            for g, part in zip(groups, parts):
                sub = _Plan(plan.columns[g], plan.masked, plan.scale[g], plan.shift[g])
                table = fetch(self.source, batch, self._query(batch, sub, threshold, mode), self.threads)
                if g.start == 0:
                    rows += int(np.sum(table.column("rows").to_numpy()))
                _combine(part, table, g.stop - g.start)
                if mode == "sample":
                    h, v = _sample_rows(table.column("sample"), p)
                    hashes.append(h)
                    taken.append(v)
                elif mode == "hash":
                    ph = _row_terms(table.column("ph"))
                    terms = ph if terms is None else np.bitwise_xor(terms, ph, out=terms)
                del table
            if mode == "hash":
                h, ids = self._candidates(batch, terms, threshold)
                hashes.append(h)
                taken.append(ids)
            if self.on_batch is not None:
                self.on_batch(b, rows)
            progress.update(sum(self.file_rows[i] for i in batch))
        progress.finish()
        h = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
        part = parts[0] if len(parts) == 1 else _Partial(*(np.concatenate([getattr(q, f.name) for q in parts])
                                                            for f in dataclasses.fields(_Partial)))
        return part, rows, h, taken

    def _candidates(self, batch: list[int], terms: np.ndarray | None, threshold: int) -> tuple[np.ndarray, np.ndarray]:
        """Hashes and ids of the rows of ``batch`` (``terms``: their XORed hash terms, in file and row
        order) whose hash, the same as the one-query form computes, is at most ``threshold``."""
        n = sum(self.file_rows[i] for i in batch)
        if terms is None or terms.size != n:
            raise PipelineError(f"{self.source.files[batch[0]]}: the scan returned {0 if terms is None else terms.size} "
                                f"row hashes for {n} rows; an input file is damaged or changed during the run")
        con = duckdb.connect(config={"threads": 1})
        try:
            con.register("terms", pa.table({"t": pa.array(terms, type=pa.uint64())}))
            h = con.sql(f"SELECT hash(xor(t, {self.seed_key}::UBIGINT)) FROM terms").fetchnumpy()
        finally:
            con.close()
        rh = next(iter(h.values())).astype(np.uint64)
        ids = np.concatenate([(np.int64(i) << _ROW_BITS) + np.arange(self.file_rows[i], dtype=np.int64) for i in batch])
        keep = rh <= np.uint64(threshold)
        return rh[keep], ids[keep]

    def _fill(self, store: SampleStore, ids: np.ndarray) -> None:
        """The values of the rows ``ids`` (in sample order) into ``store``: per block of columns that fits
        a quarter of the memory budget, the row groups that hold some of the rows, read with Arrow.

        Arrow reads a few columns of a wide file at a fraction of the cost of a DuckDB query, which parses
        every file's footer and plans all of its columns again (20,000 columns: 0.2 s a block against
        1.8 s). Decimal columns come from DuckDB, whose CAST the first round's values went through.
        """
        target, p = ids.size, len(self.names)
        width = max(1, min(COLUMN_GROUP, self.memory_bytes // 4 // max(8 * target, 1)))
        files, rn = ids >> _ROW_BITS, ids & ((1 << _ROW_BITS) - 1)
        held = sum(max(sizes, default=0) for sizes in self.row_group_rows) * width * 8  # pre-buffered, at most
        readers = _Readers(self.source.files, self.memory_bytes // 32, pre_buffer=held <= self.memory_bytes // 4)
        types = {field.name: field.type for field in readers.get(0).schema_arrow}  # one schema, not one per name
        decimal = np.array([pa.types.is_decimal(_value_type(types[n])) for n in self.names], dtype=bool)
        # per file and row group: the rows it holds (within the group) and their places in the sample
        wanted: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        for i in range(len(self.source.files)):
            mine = np.flatnonzero(files == i)
            starts = np.concatenate([[0], self.bounds[i]]).astype(np.int64)
            group = np.searchsorted(starts, rn[mine], side="right") - 1
            for g in np.unique(group):
                at = mine[group == g]
                wanted.append((i, int(g), rn[at] - starts[g], at))
        progress = Progress("ingest sample rows", p, "columns")
        buffer = np.empty((target, min(width, p)), order="F")  # one buffer for every block: its pages are touched once
        try:
            for lo in range(0, p, width):
                hi = min(lo + width, p)
                block = buffer[:, : hi - lo]
                block.fill(np.nan)
                arrow = [j for j in range(lo, hi) if not decimal[j]]
                step = max(1024, self.memory_bytes // 16 // max(8 * len(arrow), 1))  # rows per Arrow batch
                for n, (i, g, rows, at) in enumerate(wanted):
                    if arrow:
                        self._read_back(block, lo, arrow, readers.get(i), i, g, rows, at, step)
                    if n + 1 == len(wanted) or wanted[n + 1][0] != i:
                        readers.done(i)
                if len(arrow) < hi - lo:
                    self._fill_sql(block, lo, [j for j in range(lo, hi) if decimal[j]], files, rn)
                block[~np.isfinite(block)] = np.nan
                store.write(lo, block)
                progress.update(hi - lo)
        finally:
            readers.close()
        progress.finish()

    def _read_back(self, block: np.ndarray, lo: int, columns: list[int], reader: pq.ParquetFile, i: int, g: int,
                   rows: np.ndarray, at: np.ndarray, step: int) -> None:
        """``columns`` of rows ``rows`` of row group ``g`` of file ``i`` into ``block``'s rows ``at``, read
        ``step`` rows at a time (a row group may be far larger than the memory budget)."""
        order = np.argsort(rows, kind="stable")
        rows, at = rows[order], at[order]
        start = 0
        names, threads = [self.names[j] for j in columns], self.threads > 1
        try:
            if self.row_group_rows[i][g] <= step:  # one read (a batch reader costs 0.06 s to set up at 20,000 columns)
                batches = [reader.read_row_group(g, columns=names, use_threads=threads)]
            else:
                batches = reader.iter_batches(batch_size=step, row_groups=[g], columns=names, use_threads=threads)
            for batch in batches:
                stop = start + batch.num_rows
                a, b = np.searchsorted(rows, [start, stop])
                for k, j in enumerate(columns):
                    block[at[a:b], j - lo] = _floats(_as_float64(batch.column(k)))[rows[a:b] - start]
                start = stop
        except (pa.ArrowException, OSError, KeyError, IndexError, ValueError) as exc:
            raise PipelineError(f"{self.source.files[i]}: Arrow could not read the sampled rows back "
                                f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                                "an input file is damaged or changed during the run") from None
        if start <= int(rows[-1]):
            raise PipelineError(f"{self.source.files[i]}: row group {g} has {start} rows, fewer than when it was "
                                "scanned; an input file changed during the run")

    def _fill_sql(self, block: np.ndarray, lo: int, columns: list[int], files: np.ndarray, rn: np.ndarray) -> None:
        """``columns`` (indices of descriptors, ``block``'s columns from ``lo``) of the sampled rows through
        DuckDB: one query per batch that holds some of the rows."""
        position = np.arange(files.size, dtype=np.int64)
        for batch in self.batches:
            mine = (files >= batch[0]) & (files <= batch[-1])
            if not mine.any():
                continue
            sel = pa.table({"fi": files[mine] - batch[0], "rn": rn[mine], "pos": position[mine]})
            cols = [f"{_as_double(self.refs[j])} AS x{k}" for k, j in enumerate(columns)]
            fields = ", ".join(f"t.x{k}" for k in range(len(columns)))
            query = (f"SELECT sel.pos, {fields} FROM ({self.source.select(batch, cols, numbered=True)}) AS t "
                     "JOIN sel ON t.fi = sel.fi AND t.rn = sel.rn")
            table = fetch(self.source, batch, query, self.threads, tables={"sel": sel})
            pos = table.column(0).to_numpy()
            if pos.size != int(mine.sum()):
                raise PipelineError(f"{self.source.files[batch[0]]}: {pos.size} of {int(mine.sum())} sampled rows "
                                    "read back; an input file changed during the run")
            for k, j in enumerate(columns):
                block[pos, j - lo] = _floats(table.column(1 + k))
            del table

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
        target = self._target()
        slack = 6.0
        while True:
            rounds += 1
            threshold = self.threshold(slack) if rounds == 1 else None
            what = "ingest scan" if rounds == 1 else f"ingest scan, round {rounds} ({plan.columns.size} columns)"
            part, rows, h, t = self._run(plan, threshold, what)
            if rounds == 1:
                rows_seen, hashes, taken = rows, h, t
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
            _, _, hashes, taken = self._run(first, self.threshold(slack), "ingest sample")
        store = SampleStore(target, p, self.memory_bytes, self.spill_dir)
        if not self._in_query():  # row ids: the values come from one more read
            ids = np.concatenate(taken)
            order = np.lexsort((ids, hashes))[:target]  # equal hashes: equal rows, in any order
            self._fill(store, ids[order])
        else:
            order = np.argsort(hashes, kind="stable")[:target]
            for j in range(p):
                column = taken[0][j] if len(taken) == 1 else np.concatenate([batch[j] for batch in taken])
                column = column[order]
                column[~np.isfinite(column)] = np.nan
                store.write(j, column[:, None])
        if store.spilled:
            LOG.info("ingest: the sample (%d rows x %d columns, %.0f MiB) is kept in a temporary file: it is past "
                     "'ingest.memory_mb'", target, p, target * p * 8 / 2**20)
        return ScanResult(rows_seen, n_present, vmin, vmax, mean, std, store, rounds)
