"""The Python side of the aggregate rounds: per-row-group results combined (Chan et al.'s pairwise
update), the sample rows unpacked, mean and std in the input's units, and the plan of the next round."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from descriptor_pipeline.stats import pow2_scale

OFFSET_LIMIT = 1e3  # |mean| / std above which a column is read again, shifted by its mean


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


def _row_terms(column: pa.ChunkedArray) -> np.ndarray:
    """Every row's hash terms from a result's ``ph`` lists, in (file, row group, row) order."""
    parts = [chunk.flatten() for chunk in column.chunks]
    if not parts:
        return np.empty(0, dtype=np.uint64)
    flat = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    return flat.to_numpy(zero_copy_only=False).astype(np.uint64)


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
