"""Ingest: one streaming DuckDB scan -> per-column statistics, quality filters, exact duplicates, row sample.

Outputs (see README): ``column_stats.parquet`` (one row per input column), ``survivors.txt`` (kept
descriptors in input order) and ``sample.parquet`` (the row sample of the kept descriptors).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from descriptor_pipeline import io
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import InputSchema, check_named_columns, inspect_inputs
from descriptor_pipeline.logs import LOG, Progress
from descriptor_pipeline.stats import ColumnScanner, distinct_counts, sample_quantiles, winsorized_variance

CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class IngestSettings:
    """The ``ingest`` config section plus the top-level keys ingest uses."""

    max_missing_ratio: float = 0.5
    min_robust_variance: float = 1e-10
    chunk_rows: int = 0
    seed: int = 42
    sample_rows: int = 20000
    keep: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()
    exclude_columns: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: dict) -> IngestSettings:
        section = config.get("ingest", {})
        return cls(
            max_missing_ratio=float(section.get("max_missing_ratio", cls.max_missing_ratio)),
            min_robust_variance=float(section.get("min_robust_variance", cls.min_robust_variance)),
            chunk_rows=int(section.get("chunk_rows", cls.chunk_rows)),
            seed=int(config.get("seed", cls.seed)),
            sample_rows=int(config.get("sample_rows", cls.sample_rows)),
            keep=tuple(config.get("keep", ())),
            prefer=tuple(config.get("prefer", ())),
            exclude_columns=tuple(config.get("exclude_columns", ())),
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _unreadable_file(files: Sequence[str], select: str, message: str) -> str:
    """The input file a failed scan choked on: the one DuckDB's message names, else the first that fails alone."""
    named = [f for f in files if f in message]
    if named:
        return max(named, key=len)
    con = duckdb.connect(config={"threads": 1})
    try:
        for f in files:
            try:
                for _ in con.sql(f"SELECT {select} FROM read_parquet({_sql_string(f)})").to_arrow_reader(65536):
                    pass
            except (duckdb.Error, pa.ArrowException, OSError):
                return f
    finally:
        con.close()
    return files[0]


def scan(
    schema: InputSchema,
    settings: IngestSettings,
    threads: int = 1,
    on_chunk: Callable[[int, int], None] | None = None,
) -> ColumnScanner:
    """Stream every row of the input once through DuckDB into a :class:`ColumnScanner`.

    ``on_chunk(chunks_done, rows_done)`` is called after each streamed chunk (progress, memory tests).
    """
    names = schema.descriptors
    chunk_rows = settings.chunk_rows or max(2048, CHUNK_BYTES // (8 * len(names)))
    scanner = ColumnScanner(names, seed=settings.seed, sample_rows=settings.sample_rows)
    con = duckdb.connect(config={"threads": max(1, threads)})
    file_list = "[" + ", ".join(_sql_string(f) for f in schema.files) + "]"
    select = ", ".join(f"CAST({_quote(c)} AS DOUBLE)" for c in names)
    query = f"SELECT {select} FROM read_parquet({file_list})"
    progress = Progress("ingest scan", schema.n_rows, "rows")
    try:
        reader = con.sql(query).to_arrow_reader(chunk_rows)
        for chunks_done, batch in enumerate(reader, start=1):
            chunk = np.empty((batch.num_rows, len(names)))
            for j in range(len(names)):
                chunk[:, j] = batch.column(j).to_numpy(zero_copy_only=False)
            scanner.update(chunk)
            progress.update(batch.num_rows)
            if on_chunk is not None:
                on_chunk(chunks_done, scanner.rows_seen)
    except (duckdb.Error, pa.ArrowException, OSError) as exc:  # errors met while iterating arrive via Arrow
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        culprit = _unreadable_file(schema.files, select, first)
        raise PipelineError(f"{culprit}: DuckDB could not read the input ({first}); check every file in 'input'") from None
    finally:
        con.close()
    progress.finish()
    if scanner.rows_seen != schema.n_rows:
        raise PipelineError(
            f"{schema.files[0]}: the scan read {scanner.rows_seen} rows but the file footers promise {schema.n_rows}; "
            "an input file is damaged or changed during the run"
        )
    return scanner


def _duplicate_groups(fingerprint: np.ndarray, candidates: list[int]) -> list[list[int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for j in candidates:
        groups.setdefault((int(fingerprint[0, j]), int(fingerprint[1, j])), []).append(j)
    return [g for g in groups.values() if len(g) > 1]


def choose_keeper(names: Sequence[str], keep: Sequence[str], prefer: Sequence[str]) -> str:
    """The member of an exact-duplicate group that stays: a ``keep`` name, else the earliest ``prefer``
    name, else the name that sorts first. Does not depend on column order."""
    kept = sorted(n for n in names if n in set(keep))
    if kept:
        return kept[0]
    rank = {n: i for i, n in enumerate(prefer)}
    return min(names, key=lambda n: (rank.get(n, len(rank)), n))


def run_ingest(
    files: Sequence[str],
    settings: IngestSettings,
    out_stats: str,
    out_survivors: str,
    out_sample: str,
    out_summary: str | None = None,
    threads: int = 1,
) -> dict:
    """Run the ingest stage end to end and write its three outputs; return a small summary."""
    t0 = time.perf_counter()
    schema = inspect_inputs(files, settings.exclude_columns)
    check_named_columns(schema, "keep", settings.keep)
    check_named_columns(schema, "prefer", settings.prefer)
    LOG.info(
        "ingest: %d files, %d rows, %d columns (%d numeric descriptors, %d non-numeric, %d excluded)",
        len(schema.files), schema.n_rows, len(schema.columns), len(schema.descriptors),
        len(schema.non_numeric), len(schema.excluded),
    )
    scanner = scan(schema, settings, threads)
    names = schema.descriptors
    sample = scanner.sample()
    stats = column_statistics(scanner, sample, schema.n_rows)
    decision = apply_filters(names, stats, settings)
    for j, name in enumerate(names):
        if decision["status"][j] == "dropped" and name in settings.keep:
            LOG.warning("ingest: %r is in 'keep' but dropped (%s)", name, decision["reason"][j])
    mark_duplicates(names, scanner.fingerprint, decision, settings)

    kept_idx = [j for j in range(len(names)) if decision["status"][j] == "kept"]
    survivors = [names[j] for j in kept_idx]
    removed: dict[str, int] = {}
    for r in decision["reason"]:
        if r:
            removed[r] = removed.get(r, 0) + 1
    LOG.info("ingest: %d of %d descriptors kept; removed: %s", len(survivors), len(names), removed or "none")

    io.write_parquet(out_stats, _stats_table(schema, stats, decision))
    io.write_parquet(out_sample, pa.table({names[j]: sample[:, j] for j in kept_idx}))
    elapsed = time.perf_counter() - t0
    summary = {
        "stage": "ingest",
        "input_files": schema.files,
        "rows": schema.n_rows,
        "columns": len(schema.columns),
        "descriptors": len(names),
        "kept": len(survivors),
        "removed": removed,
        "non_numeric": schema.non_numeric,
        "excluded": schema.excluded,
        "sample_rows": int(sample.shape[0]),
        "settings": dataclasses.asdict(settings),
        "seconds": round(elapsed, 3),
    }
    if out_summary:
        io.write_json(out_summary, summary)
    io.write_lines(out_survivors, survivors)
    LOG.info("ingest: done in %.1f s (sample %d rows x %d columns)", elapsed, sample.shape[0], len(kept_idx))
    return summary


STAT_COLUMNS = (
    "n_missing", "missing_ratio", "mean", "std", "variance", "min", "max",
    "q01", "q25", "median", "q75", "q99", "iqr", "robust_variance", "n_distinct_sample", "is_binary",
)


def column_statistics(scanner: ColumnScanner, sample: np.ndarray, n_rows: int) -> dict[str, np.ndarray]:
    """Per-descriptor statistics: exact ones from the full scan, quantile-based ones from the row sample."""
    present = scanner.n_present
    quant = sample_quantiles(sample)
    std = scanner.std()
    n_distinct = distinct_counts(sample)
    vmin = np.where(present > 0, scanner.min, np.nan)
    vmax = np.where(present > 0, scanner.max, np.nan)
    with np.errstate(over="ignore"):
        variance = std**2  # +inf only where the true variance is beyond float64's range
    return {
        "n_missing": n_rows - present,
        "missing_ratio": (n_rows - present) / n_rows,
        "mean": scanner.mean(),
        "std": std,
        "variance": variance,
        "min": vmin,
        "max": vmax,
        "q01": quant[0],
        "q25": quant[1],
        "median": quant[2],
        "q75": quant[3],
        "q99": quant[4],
        "iqr": quant[3] - quant[1],
        "robust_variance": winsorized_variance(sample, quant[0], quant[4]),
        "n_distinct_sample": n_distinct,
        "is_binary": (n_distinct == 2) & (quant[0] == vmin) & (quant[4] == vmax),
    }


def apply_filters(names: Sequence[str], stats: dict[str, np.ndarray], settings: IngestSettings) -> dict[str, list]:
    """Quality filters in order all_missing, missing_ratio, constant, near_constant; each with its figure."""
    p = len(names)
    decision: dict[str, list] = {"status": ["kept"] * p, "reason": [None] * p, "figure": [None] * p, "duplicate_of": [None] * p}
    for j in range(p):
        ratio = float(stats["missing_ratio"][j])
        if ratio == 1.0:
            verdict = ("all_missing", 1.0)
        elif ratio > settings.max_missing_ratio:
            verdict = ("missing_ratio", ratio)
        elif stats["min"][j] == stats["max"][j]:
            verdict = ("constant", float(stats["min"][j]))
        elif not stats["robust_variance"][j] >= settings.min_robust_variance:
            verdict = ("near_constant", float(np.nan_to_num(stats["robust_variance"][j])))
        else:
            continue
        decision["status"][j], (decision["reason"][j], decision["figure"][j]) = "dropped", verdict
    return decision


def mark_duplicates(names: Sequence[str], fingerprint: np.ndarray, decision: dict[str, list], settings: IngestSettings) -> None:
    """Group kept columns with equal 128-bit fingerprints; all but the keeper become its duplicates."""
    candidates = [j for j in range(len(names)) if decision["status"][j] == "kept"]
    for group in _duplicate_groups(fingerprint, candidates):
        keeper = choose_keeper([names[j] for j in group], settings.keep, settings.prefer)
        for j in group:
            if names[j] != keeper and names[j] not in settings.keep:
                decision["status"][j], decision["reason"][j] = "duplicate", "exact_duplicate"
                decision["figure"][j], decision["duplicate_of"][j] = 1.0, keeper


def _stats_table(schema: InputSchema, stats: dict[str, np.ndarray], decision: dict[str, list]) -> pa.Table:
    """One row per input column, in input order: identity, status, reason, figure, duplicate_of, statistics."""
    index = {name: j for j, name in enumerate(schema.descriptors)}
    rows: dict[str, list] = {k: [] for k in (
        "column", "position", "dtype", "status", "reason", "figure", "duplicate_of", "n_rows", *STAT_COLUMNS)}
    for pos, col in enumerate(schema.columns):
        j = index.get(col)
        rows["column"].append(col)
        rows["position"].append(pos)
        rows["dtype"].append(schema.types[col])
        rows["n_rows"].append(schema.n_rows)
        if j is None:
            rows["status"].append("dropped")
            rows["reason"].append("excluded" if col in schema.excluded else "non_numeric")
            for key in ("figure", "duplicate_of", *STAT_COLUMNS):
                rows[key].append(None)
            continue
        for key in ("status", "reason", "figure", "duplicate_of"):
            rows[key].append(decision[key][j])
        for key in STAT_COLUMNS:
            v = stats[key][j].item()
            rows[key].append(None if isinstance(v, float) and np.isnan(v) else v)
    types = {
        "column": pa.string(), "position": pa.int64(), "dtype": pa.string(), "status": pa.string(),
        "reason": pa.string(), "duplicate_of": pa.string(), "n_rows": pa.int64(), "n_missing": pa.int64(),
        "n_distinct_sample": pa.int64(), "is_binary": pa.bool_(),
    }
    return pa.table({k: pa.array(v, type=types.get(k, pa.float64())) for k, v in rows.items()})
