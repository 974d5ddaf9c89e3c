"""The block engine: all column pairs of a matrix, block against block, within a memory budget, the same
bytes for any number of workers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from types import ModuleType
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from descriptor_pipeline.backend import to_numpy
from descriptor_pipeline.dependence._base import HIST_EDGES, EdgeResult, Measure


def block_rows(itemsize: int, block_memory_mb: int) -> int:
    """Feature rows per block so that one product block (and its reduction temporaries) fits the budget."""
    return int(math.sqrt(block_memory_mb * 2**20 / 3 / itemsize))


def block_columns(width: int, itemsize: int, block_memory_mb: int) -> int:
    """Columns per block when every column has ``width`` features."""
    return max(1, block_rows(itemsize, block_memory_mb) // width)


def block_starts(widths: np.ndarray, rows: int) -> list[int]:
    """First column of each block: consecutive columns while their widths sum to at most ``rows`` (one at least)."""
    starts, total = [], rows
    for c, w in enumerate(widths.tolist()):
        if total + w > rows:
            starts.append(c)
            total = 0
        total += w
    return starts


# Features a measure keeps in memory, in block budgets (block_memory_mb each); beyond, in a file.
KEEP_BLOCKS = 8

# Rows of one panel of a block product. The products run as fixed panels, each on one BLAS thread,
# spread over ``threads`` workers: a multi-threaded BLAS call rounds differently with each thread count
# (OpenBLAS does), and the outputs must not depend on --cores.
PANEL_ROWS = 512


def _block_product(xp: ModuleType, FI: Any, FJ: Any, pool: ThreadPoolExecutor | None) -> Any:
    """``FI @ FJ.T``; with NumPy, as fixed row panels (the same result for any number of workers)."""
    if xp is not np:
        return FI @ xp.permute_dims(FJ, (1, 0))
    out = np.empty((FI.shape[0], FJ.shape[0]), dtype=FI.dtype)
    FJt = FJ.T

    def panel(lo: int) -> None:
        np.matmul(FI[lo : lo + PANEL_ROWS], FJt, out=out[lo : lo + PANEL_ROWS])

    starts = range(0, FI.shape[0], PANEL_ROWS)
    if pool is None:
        for lo in starts:
            panel(lo)
    else:
        list(pool.map(panel, starts))
    return out


def all_pairs(
    X: np.ndarray,
    measure: Measure,
    threshold: float,
    xp: ModuleType,
    dtype: str = "float32",
    block_memory_mb: int = 256,
    on_block: Callable[[int, int], None] | None = None,
    threads: int = 1,
    shard: tuple[int, int] = (0, 1),
) -> EdgeResult:
    """Similarities of all column pairs of ``X`` (columns, rows), block against block; keep those >= threshold.

    ``threads`` workers share the feature maps (by columns) and the block products (by fixed panels);
    the result is identical for any number of them. ``shard = (k, m)`` computes only the block pairs
    whose position in the schedule is k modulo m, so m jobs together give every pair exactly once.
    """
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=threads) if threads > 1 else nullcontext() as pool:
        return _all_pairs(X, measure, threshold, xp, dtype, block_memory_mb, on_block, pool, threads, shard)


def _all_pairs(
    X: np.ndarray,
    measure: Measure,
    threshold: float,
    xp: ModuleType,
    dtype: str,
    block_memory_mb: int,
    on_block: Callable[[int, int], None] | None,
    pool: ThreadPoolExecutor | None,
    threads: int,
    shard: tuple[int, int],
) -> EdgeResult:
    t0 = time.perf_counter()
    p = X.shape[0]
    compute_dtype = getattr(xp, dtype)
    itemsize = 4 if dtype == "float32" else 8
    cache_bytes = KEEP_BLOCKS * block_memory_mb * 2**20
    fit = measure.fit(X, threshold, xp, pool, compute_dtype, cache_bytes)
    widths = np.asarray(fit.widths, dtype=np.int64)
    starts = block_starts(widths, block_rows(itemsize, block_memory_mb))
    ends = dict(zip(starts, [*starts[1:], p]))
    b = max((ends[s] - s for s in starts), default=1)
    cache: dict[int, Any] = {}
    cacheable = not fit.holds_features and int(widths.sum()) * X.shape[1] * itemsize <= cache_bytes

    def feats(s: int) -> Any:
        if s in cache:
            return cache[s]
        cols = slice(s, ends[s])
        if pool is None or xp is not np:
            F = xp.astype(measure.features(fit, xp, xp.asarray(X[cols]), cols), compute_dtype)
        else:  # features are per column: the same bytes however the block is split among workers
            step = -(-(cols.stop - cols.start) // threads)
            parts = [slice(lo, min(lo + step, cols.stop)) for lo in range(cols.start, cols.stop, step)]
            F = np.concatenate(list(pool.map(lambda c: measure.features(fit, np, X[c], c).astype(compute_dtype), parts)))
        if cacheable:
            cache[s] = F
        return F

    edges_i: list[np.ndarray] = []
    edges_j: list[np.ndarray] = []
    edges_s: list[np.ndarray] = []
    counts = np.zeros(len(HIST_EDGES), dtype=np.int64)
    schedule = [(si, sj) for si in starts for sj in starts if sj >= si]
    mine = [pair for k, pair in enumerate(schedule) if k % shard[1] == shard[0]]
    n_blocks = len(mine)
    done = 0
    FI, current = None, None
    for si, sj in mine:
        if si != current:
            FI, current = feats(si), si
        bi, bj = ends[si] - si, ends[sj] - sj
        FJ = FI if sj == si else feats(sj)
        S = measure.reduce(fit, xp, _block_product(xp, FI, FJ, pool), slice(si, ends[si]), slice(sj, ends[sj]), pool)
        gi = xp.arange(si, si + bi)[:, None]
        gj = xp.arange(sj, sj + bj)[None, :]
        valid = gi < gj
        for k, edge in enumerate(HIST_EDGES):
            counts[k] += int(xp.sum(xp.astype(valid & (S >= edge), xp.int64)))
        ii, jj = xp.nonzero(valid & (S >= threshold))
        if ii.shape[0]:
            edges_i.append(to_numpy(ii) + si)
            edges_j.append(to_numpy(jj) + sj)
            flat = xp.take(xp.reshape(S, (-1,)), ii * bj + jj)
            edges_s.append(to_numpy(xp.astype(flat, xp.float64)))
        done += 1
        if on_block is not None:
            on_block(done, n_blocks)
    hist = [int(counts[k] - (counts[k + 1] if k + 1 < len(counts) else 0)) for k in range(len(counts))]
    cat = (lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dtype=dt))
    return EdgeResult(
        i=cat(edges_i, np.int64), j=cat(edges_j, np.int64), similarity=cat(edges_s, np.float64),
        hist_counts=hist, n_blocks=n_blocks, block_columns=b, seconds=time.perf_counter() - t0,
        features=fit.description, histogram_values=fit.histogram_values,
    )
