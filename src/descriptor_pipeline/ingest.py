"""Ingest: one streaming DuckDB scan -> per-column statistics, quality filters, exact duplicates, row sample.

Outputs (see docs/outputs.md): ``column_stats.parquet`` (one row per input column), ``survivors.txt`` (kept
descriptors in input order) and ``sample.parquet`` (the row sample of the kept descriptors).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from descriptor_pipeline import checkpoints, io
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import (
    InputSchema,
    check_named_columns,
    inspect_inputs,
    integer_extremes,
    numbers_as_text,
    text_numbers_advice,
)
from descriptor_pipeline.known import known_rank
from descriptor_pipeline.logs import LOG
from descriptor_pipeline.scan import Scanner, ScanResult, Source, equal_columns
from descriptor_pipeline.scan.store import SampleStore
from descriptor_pipeline.settings import FEW_ROWS, MIN_ROWS, IngestSettings
from descriptor_pipeline.stats import sample_statistics


def source(schema: InputSchema) -> Source:
    """The input files, their columns addressed by position (see :class:`descriptor_pipeline.scan.Source`)."""
    return Source(tuple(schema.files), tuple(tuple(c) for c in schema.file_columns))


def scan(
    schema: InputSchema,
    settings: IngestSettings,
    threads: int = 1,
    on_batch: Callable[[int, int], None] | None = None,
    spill_dir: str | None = None,
) -> ScanResult:
    """Read every row of the input once with DuckDB (see :mod:`descriptor_pipeline.scan`); a sample past
    ``ingest.memory_mb`` is kept in a temporary file in ``spill_dir``.

    ``on_batch(batches_done, rows_done)`` is called after each aggregate query (memory tests).
    """
    scanner = Scanner(source(schema), schema.descriptors, schema.row_group_rows, seed=settings.seed,
                      sample_rows=settings.sample_rows, chunk_rows=settings.chunk_rows, threads=threads,
                      on_batch=on_batch, memory_bytes=settings.memory_mb * 2**20, spill_dir=spill_dir)
    LOG.info("ingest: scanning %d rows in %d batch%s on %d DuckDB thread%s", schema.n_rows, len(scanner.batches),
             "" if len(scanner.batches) == 1 else "es", scanner.threads, "" if scanner.threads == 1 else "s")
    result = scanner.run()
    if result.rows_seen != schema.n_rows:
        raise PipelineError(
            f"{schema.files[0]}: the scan read {result.rows_seen} rows but the file footers promise {schema.n_rows}; "
            "an input file is damaged or changed during the run"
        )
    if result.rounds > 1:
        LOG.info("ingest: %d aggregate rounds (columns with NaN / inf or huge values read again)", result.rounds)
    return result


def equal_in_sample(sample: SampleStore, groups: list[list[int]]) -> list[list[int]]:
    """Split candidate groups into columns whose sample values are equal in every row (missing equal to
    missing, -0.0 to 0.0): the full comparison when the sample holds every row."""
    confirmed: list[list[int]] = []
    for group in groups:
        values = {j: np.nan_to_num(sample[:, j] + 0.0, nan=np.inf) for j in group}
        left = list(group)
        while len(left) > 1:
            same = [j for j in left if np.array_equal(values[j], values[left[0]])]
            if len(same) > 1:
                confirmed.append(same)
            left = [j for j in left if j not in same]
    return confirmed


def duplicate_groups(schema: InputSchema, result: ScanResult, candidates: list[int], threads: int = 1) -> list[list[int]]:
    """Groups of ``candidates`` equal in every row: columns with the same count, min, max, mean and std
    bits and the same sample values (identical columns always have them), confirmed value by value."""
    by_stats: dict[bytes, list[int]] = {}
    for j in candidates:
        stats = np.array([result.n_present[j], result.min[j], result.max[j], result.mean[j], result.std[j]], dtype=np.float64)
        by_stats.setdefault(np.nan_to_num(stats + 0.0, nan=np.inf).tobytes(), []).append(j)
    groups: dict[tuple[bytes, bytes], list[int]] = {}
    for key, members in by_stats.items():
        if len(members) == 1:  # the sample is hashed only where the statistics tie
            continue
        for j in members:
            sampled = np.nan_to_num(result.sample[:, j] + 0.0, nan=np.inf)  # -0.0 as 0.0, every missing alike
            groups.setdefault((key, hashlib.blake2b(sampled.tobytes(), digest_size=16).digest()), []).append(j)
    candidate_groups = [g for g in groups.values() if len(g) > 1]
    if not candidate_groups:
        return []
    if result.sample.shape[0] == result.rows_seen:  # the sample is every row: compare it, read nothing again
        confirmed = equal_in_sample(result.sample, candidate_groups)
    else:
        confirmed = equal_columns(source(schema), schema.descriptors, candidate_groups, threads)
    LOG.info("ingest: %d candidate groups of exact duplicates (%d columns), %d confirmed",
             len(candidate_groups), sum(map(len, candidate_groups)), len(confirmed))
    return confirmed


def choose_keeper(names: Sequence[str], keep: Sequence[str], prefer: Sequence[str], prefer_known: bool = False) -> str:
    """The member of an exact-duplicate group that stays: a ``keep`` name, else the earliest ``prefer``
    name, else (with ``prefer_known``) the earliest of known.KNOWN, else the name that sorts first. Does
    not depend on column order."""
    kept = sorted(n for n in names if n in set(keep))
    if kept:
        return kept[0]
    rank = {n: i for i, n in enumerate(prefer)}
    return min(names, key=lambda n: (rank.get(n, len(rank)), known_rank(n) if prefer_known else 0, n))


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
    as_text = numbers_as_text(schema.files[0], schema.non_numeric)
    if as_text:
        LOG.warning("ingest: %d non-numeric columns are dropped; %s", len(schema.non_numeric), text_numbers_advice(as_text))
    spill_dir = os.path.dirname(os.path.abspath(out_sample))
    os.makedirs(spill_dir, exist_ok=True)
    result = scan(schema, settings, threads, spill_dir=spill_dir)
    try:
        return _finish(schema, settings, result, as_text, out_stats, out_survivors, out_sample, out_summary, threads, t0)
    finally:
        result.sample.close()


def _finish(schema: InputSchema, settings: IngestSettings, result: ScanResult, as_text: list[str], out_stats: str,
            out_survivors: str, out_sample: str, out_summary: str | None, threads: int, t0: float) -> dict:
    """The statistics, filters and duplicates from the scan's result; the three outputs and the summary."""
    names = schema.descriptors
    sample = result.sample
    if sample.shape[0] < MIN_ROWS:
        LOG.warning("ingest: the sample has %d rows; below %d the passes cannot tell dependence from chance and merge "
                    "nothing (give more rows; docs/calibration.md, Row floor)", sample.shape[0], MIN_ROWS)
    elif sample.shape[0] < FEW_ROWS:
        LOG.warning("ingest: the passes decide from %d rows; below %d, pairs near a threshold may fall either way "
                    "(raise 'sample_rows' or give more rows; docs/calibration.md)", sample.shape[0], FEW_ROWS)
    stats = column_statistics(result, schema.n_rows, threads)
    decision = apply_filters(names, stats, settings)
    for j, name in enumerate(names):
        if decision["status"][j] == "dropped" and name in settings.keep:
            LOG.warning("ingest: %r is in 'keep' but dropped (%s)", name, decision["reason"][j])
    exact_integers(names, integer_extremes(schema), decision)
    candidates = [j for j in range(len(names)) if decision["status"][j] == "kept"]
    mark_duplicates(names, duplicate_groups(schema, result, candidates, threads), decision, settings)

    kept_idx = [j for j in range(len(names)) if decision["status"][j] == "kept"]
    survivors = [names[j] for j in kept_idx]
    removed: dict[str, int] = {}
    for r in decision["reason"]:
        if r:
            removed[r] = removed.get(r, 0) + 1
    LOG.info("ingest: %d of %d descriptors kept; removed: %s", len(survivors), len(names), removed or "none")

    io.write_parquet(out_stats, _stats_table(schema, stats, decision))
    write_sample(out_sample, sample, [names[j] for j in kept_idx], kept_idx)
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
        "numbers_as_text": as_text,
        "excluded": schema.excluded,
        "sample_rows": int(sample.shape[0]),
        "settings": dataclasses.asdict(settings),
        "seconds": round(elapsed, 3),
    }
    io.write_lines(out_survivors, survivors)
    summary[checkpoints.RECORD_KEY] = checkpoints.record([out_stats, out_sample, out_survivors])
    if out_summary:
        io.write_json(out_summary, summary)  # last: what the summary records is on disk
    LOG.info("ingest: done in %.1f s (sample %d rows x %d columns)", elapsed, sample.shape[0], len(kept_idx))
    return summary


SAMPLE_GROUP_VALUES = 2**25  # values per row group of sample.parquet (256 MiB of float64)


def write_sample(path: str, sample: SampleStore, names: Sequence[str], columns: Sequence[int]) -> None:
    """The sample's ``columns`` as ``names``, atomically, in row groups of about SAMPLE_GROUP_VALUES values
    (the file's bytes depend only on the sample, not on where it was held).

    Snappy and no column statistics: at 20,000 columns every row group has 20,000 column chunks, and zstd
    and the statistics took 60 % of the writing (48 s of the sample's 3 GB at p = 20,000) for a file the
    passes read once; snappy still keeps real descriptor tables at about two thirds of their size."""
    schema = pa.schema([(name, pa.float64()) for name in names])
    step = max(1, SAMPLE_GROUP_VALUES // max(len(names), 1))
    rows = sample.shape[0]
    options = {"compression": "snappy", "use_dictionary": False, "write_statistics": False}
    with io.atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, **options) as writer:
        for start in range(0, max(rows, 1), step):
            stop = min(start + step, rows)
            writer.write_table(pa.Table.from_arrays([pa.array(sample.rows(start, stop, j), type=pa.float64()) for j in columns],
                                                    schema=schema))


STAT_COLUMNS = (
    "n_missing", "missing_ratio", "mean", "std", "variance", "min", "max",
    "q01", "q25", "median", "q75", "q99", "iqr", "robust_variance", "n_distinct_sample", "is_binary",
    "mode", "n_off_mode_sample",
)


def column_statistics(result: ScanResult, n_rows: int, threads: int = 1) -> dict[str, np.ndarray]:
    """Per-descriptor statistics: exact ones from the full scan, quantile-based ones from the row sample."""
    present = result.n_present
    sample = sample_statistics(result.sample, threads)
    quant, n_distinct = sample.quantiles, sample.distinct
    std = result.std
    vmin = np.where(present > 0, result.min, np.nan)
    vmax = np.where(present > 0, result.max, np.nan)
    with np.errstate(over="ignore"):
        variance = std**2  # +inf only where the true variance is beyond float64's range
    return {
        "n_missing": n_rows - present,
        "missing_ratio": (n_rows - present) / n_rows,
        "mean": result.mean,
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
        "robust_variance": sample.winsorized_variance,
        "n_distinct_sample": n_distinct,
        "is_binary": (n_distinct == 2) & (quant[0] == vmin) & (quant[4] == vmax),
        "mode": sample.mode,
        "n_off_mode_sample": sample.off_mode_rows,
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
        elif stats["n_off_mode_sample"][j] < settings.min_off_mode_rows:
            verdict = ("near_constant", int(stats["n_off_mode_sample"][j]))
        else:
            continue
        decision["status"][j], (decision["reason"][j], decision["figure"][j]) = "dropped", verdict
    return decision


def exact_integers(names: Sequence[str], extremes: dict[str, tuple[int, int]], decision: dict[str, list]) -> None:
    """Columns of 64-bit integers past 2^53, where float64 statistics and passes would see rounded values:
    constant if their exact min and max agree, else dropped as ``beyond_float64`` (ids, hashes, packed
    bits: no quantity a pass can compare), with a line naming them."""
    beyond = []
    for j, name in enumerate(names):
        if name not in extremes or decision["reason"][j] in ("all_missing", "missing_ratio"):
            continue
        vmin, vmax = extremes[name]
        verdict = ("constant", float(vmin)) if vmin == vmax else ("beyond_float64", float(max(abs(vmin), abs(vmax))))
        decision["status"][j], (decision["reason"][j], decision["figure"][j]) = "dropped", verdict
        if vmin != vmax:
            beyond.append(name)
    if beyond:
        LOG.warning("ingest: %d integer column%s hold%s values past 2^53, which float64 cannot tell apart (e.g. %r): "
                    "dropped as beyond_float64; exclude ids and hashes with 'exclude_columns', or rescale a quantity",
                    len(beyond), "" if len(beyond) == 1 else "s", "s" if len(beyond) == 1 else "", beyond[0])


def mark_duplicates(names: Sequence[str], groups: list[list[int]], decision: dict[str, list], settings: IngestSettings) -> None:
    """In each group of exact duplicates, all but the keeper become its duplicates."""
    for group in groups:
        keeper = choose_keeper([names[j] for j in group], settings.keep, settings.prefer, settings.prefer_known)
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
        "n_distinct_sample": pa.int64(), "is_binary": pa.bool_(), "n_off_mode_sample": pa.int64(),
    }
    return pa.table({k: pa.array(v, type=types.get(k, pa.float64())) for k, v in rows.items()})
