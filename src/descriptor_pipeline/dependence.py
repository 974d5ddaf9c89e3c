"""The block engine and the three dependence measures, written once against the array namespace ``xp``.

Data layout: columns are rows here, ``X`` has shape (columns, rows), float64, NaN = missing.

Every measure maps a column to ``d`` feature rows (``d`` = 1 for Spearman, D random Fourier features
for HSIC, k sinusoidal features for RDC), centered over the column's present rows, with 0 where the
value is missing. All pairs of a column block I against a block J come from one matrix product
``F_I @ F_J.T``; a measure-specific reduction turns each (d x d) sub-block into one similarity, and only
pairs at or above the threshold leave the block, as edges. Memory is bounded by the block size.

Missing values (one rule for all three measures): a missing value contributes a zero centered feature,
so a row where either column is missing adds nothing to their cross-product. For two columns with
the same missing rows this equals the measure on their complete rows. Where the missing rows differ,
each column is still centered and scaled over its own present rows, so the value differs from the
complete-case value (usually lower, since rows known for only one column add nothing to the
cross-product but count in that column's own norm).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from descriptor_pipeline.backend import svdvals, to_numpy, unpermute

HIST_EDGES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)


def derive_seed(seed: int, *names: str) -> int:
    """A 63-bit seed derived from the config seed and a purpose (e.g. the pass name)."""
    digest = hashlib.blake2b("\x00".join((str(seed), *names)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def average_ranks(xp: ModuleType, X: Any) -> tuple[Any, Any]:
    """Average ranks (1-based, ties get the mean rank) of each row's present values.

    ``X`` is (columns, rows) float64 with NaN for missing; returns (ranks, n_present). Ranks at missing
    positions are meaningless and must be masked by the caller.
    """
    if xp is np:
        return _rank_transform_numpy(X, lambda ranks, m: ranks), _count_present_numpy(X)
    present = ~xp.isnan(X)
    n_present = xp.sum(xp.astype(present, xp.int64), axis=-1)
    b, n = X.shape
    keyed = xp.where(present, X, xp.inf)  # missing (and only missing: +-inf were made NaN) sorts last
    order = xp.argsort(keyed, axis=-1, stable=False)  # ties are averaged, so their order is irrelevant
    ordered = xp.take_along_axis(keyed, order, axis=-1)
    new_run = xp.concat([xp.ones((b, 1), dtype=xp.bool), ordered[:, 1:] != ordered[:, :-1]], axis=1)
    flat = xp.reshape(new_run, (-1,))
    starts = xp.nonzero(flat)[0]
    run = xp.cumulative_sum(xp.astype(flat, xp.int64)) - 1
    first = xp.take(starts, run)
    last = xp.take(xp.concat([starts[1:], xp.asarray([b * n], dtype=starts.dtype)]), run) - 1
    offset = (xp.arange(b * n, dtype=xp.int64) // n) * n
    ranks_sorted = xp.reshape(xp.astype(first + last - 2 * offset, xp.float64) / 2.0 + 1.0, (b, n))
    return unpermute(xp, order, ranks_sorted), n_present


# NumPy fast path of the ranking (the generic code above is what CuPy and strict namespaces run; the
# tests hold both to scipy). One row at a time, so the sort, the gather, the tie scan and the scatter
# stay in cache and use NumPy's 1-D fast paths; the caller's transform of the ranks (centering,
# scaling) is applied in sorted order, where it is a contiguous pass, and for a tie-free row it depends
# only on the number of present values, so it is computed once and reused.


def _count_present_numpy(X: np.ndarray) -> np.ndarray:
    return X.shape[1] - np.count_nonzero(np.isnan(X), axis=1)


def _rank_transform_numpy(
    X: np.ndarray, transform: Callable[[np.ndarray, int], np.ndarray], dtype: Any = np.float64
) -> np.ndarray:
    """``transform(sorted average ranks, n_present)`` of each row, scattered back to input order.

    Missing values sort last, so the first ``n_present`` sorted positions of a row are its present
    values (the ranks passed beyond them are placeholders). ``transform`` may modify its argument.
    """
    b, n = X.shape
    out = np.empty((b, n), dtype=dtype)
    base = np.arange(1.0, n + 1.0)
    ordered = np.empty(n)
    tie_free: dict[int, np.ndarray] = {}
    for r in range(b):
        row = X[r]
        missing = np.isnan(row)
        m = n - int(np.count_nonzero(missing))
        if m < n:  # +inf (only missing values: +-inf were made NaN) sorts last, and sorts 2-4x faster than NaN
            row = np.where(missing, np.inf, row)
        order = np.argsort(row)
        np.take(row, order, out=ordered)
        same = ordered[1:m] == ordered[: max(m - 1, 0)]
        if same.any():
            starts = np.flatnonzero(np.concatenate([np.ones(1, dtype=bool), ~same]))
            lengths = np.diff(np.append(starts, m))
            ranks = base.copy()
            ranks[:m] = np.repeat(starts + (lengths + 1) / 2.0, lengths)  # a run's mean 1-based rank
            values = transform(ranks, m).astype(dtype, copy=False)
        else:
            values = tie_free.get(m)
            if values is None:
                if len(tie_free) >= 8:
                    tie_free.clear()
                values = tie_free[m] = transform(base.copy(), m).astype(dtype, copy=False)
        np.put(out[r], order, values)
    return out


def _unit_centered_sorted(ranks: np.ndarray, m: int) -> np.ndarray:
    """Spearman features in sorted order: ranks centered over the m present values, unit norm, 0 if missing."""
    ranks[:m] -= (m + 1) / 2.0
    ranks[m:] = 0.0
    norm = math.sqrt(float(ranks[:m] @ ranks[:m]))
    if norm > 0:
        ranks /= norm
    else:
        ranks[:] = 0.0
    return ranks


def _center_present(xp: ModuleType, F: Any, present: Any, n_present: Any) -> Any:
    """Center features (columns, d, rows) over each column's present rows; 0 at missing rows."""
    denom = xp.astype(xp.maximum(n_present, 1), F.dtype)[:, None, None]
    if bool(xp.all(present)):  # no missing value in the chunk: the same values without the masking passes
        return F - xp.sum(F, axis=-1, keepdims=True) / denom
    mask = present[:, None, :]
    mean = xp.sum(xp.where(mask, F, 0.0), axis=-1, keepdims=True) / denom
    return xp.where(mask, F - mean, 0.0)


def _varies(xp: ModuleType, X: Any, present: Any) -> Any:
    """True for columns with at least two distinct present values.

    A constant column has constant features; centering leaves only rounding noise, which the
    normalization/orthonormalization would blow up to unit scale (two constant columns then scored ~1).
    Its features are set to 0 instead, so it has similarity 0 with everything, as in Spearman.
    """
    hi = xp.max(xp.where(present, X, -xp.inf), axis=-1)
    lo = xp.min(xp.where(present, X, xp.inf), axis=-1)
    return hi > lo


class Measure:
    """A dependence measure: ``width`` features per column and a reduction of (d x d) blocks."""

    name: str = ""
    width: int = 1
    # How the values that feed the similarity histogram are obtained (recorded in the pass summary).
    histogram_values: str = "exact"

    def plan(self, threshold: float) -> None:
        """The threshold the pairs will be kept at, told before fit (a measure may plan its work by it)."""

    def fit(
        self, X: np.ndarray, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None, dtype: Any = None, keep_bytes: int = 0
    ) -> None:
        """Per-column parameters from the whole (columns, rows) host matrix (optional); ``xp`` may do
        the heavy part, and ``pool`` share NumPy work by columns. A measure whose fit builds the
        features anyway may keep them (as ``dtype``, at most ``keep_bytes``) for ``features``."""

    @property
    def holds_features(self) -> bool:
        """True when fit kept every column's features (the engine then caches nothing itself)."""
        return False

    @property
    def column_widths(self) -> np.ndarray | None:
        """Features per column when they differ between columns (set by fit); None: ``width`` each."""
        return None

    def describe(self) -> dict | None:
        """What fit chose, for the pass summary (None: nothing)."""
        return None

    def features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        """(sum of widths, rows) float64 features of the columns ``cols`` of the fitted matrix, block ``X``."""
        raise NotImplementedError

    def reduce(self, xp: ModuleType, G: Any, ci: slice, cj: slice, threshold: float) -> Any:
        """(len(ci), len(cj)) similarities of the columns ``ci`` x ``cj`` from their product block ``G``."""
        raise NotImplementedError


class Spearman(Measure):
    """|Spearman rho|: Pearson correlation of average ranks; features are unit-norm centered ranks."""

    name, width = "spearman", 1

    def features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        if xp is np:
            return _rank_transform_numpy(X, _unit_centered_sorted)
        present = ~xp.isnan(X)
        ranks, n_present = average_ranks(xp, X)
        centered = xp.where(present, ranks - xp.astype(n_present + 1, xp.float64)[:, None] / 2.0, 0.0)
        norm = xp.sqrt(xp.sum(centered * centered, axis=-1, keepdims=True))
        return xp.where(norm > 0, centered / xp.where(norm > 0, norm, 1.0), 0.0)

    def reduce(self, xp: ModuleType, G: Any, ci: slice, cj: slice, threshold: float) -> Any:
        return xp.abs(G)


def _first_at_or_above(w: np.ndarray, t: float, strict: bool) -> np.ndarray:
    """Per row a of sorted ``w``: the first b > a whose computed difference w[b] - w[a] is >= t
    (``strict``) or > t; ``w.size`` when there is none."""
    m = w.size
    idx = np.arange(m)
    keep = np.less if strict else np.less_equal
    B = np.clip(np.searchsorted(w, w + t, side="left" if strict else "right"), idx + 1, m)
    while True:  # w + t is rounded: move each row's boundary until the differences themselves agree
        up = B < m
        up[up] = keep(w[B[up]] - w[up], t)
        if not up.any():
            break
        B[up] += 1
    while True:
        down = B > idx + 1
        down[down] = ~keep(w[B[down] - 1] - w[down], t)
        if not down.any():
            break
        B[down] -= 1
    return B


def _next_pair_distance(w: np.ndarray, k: int, t: float) -> float:
    """The (k + 1)-th smallest difference of sorted ``w`` (as _pair_distance), given ``t``, the k-th:
    ``t`` again when more than k + 1 differences are <= t, else the smallest difference above it."""
    idx = np.arange(w.size)
    above = _first_at_or_above(w, t, False)
    if int(np.sum(above - idx - 1)) > k + 1:
        return t
    rows = above < w.size
    return float(np.min(w[above[rows]] - w[rows]))


def _pair_distance(w: np.ndarray, k: int) -> float:
    """The k-th smallest (0-based) of the m (m - 1) / 2 differences w[b] - w[a], a < b, of sorted w, exactly.

    Selection in the implicit sorted matrix of differences: each row a keeps a window [lo, hi) of
    candidate b; a candidate drawn at random (a fixed seed: the draw only changes the work, never the
    value) splits every row at the same value t, found with one ``searchsorted`` per row and then
    checked against the computed difference itself, so the counts are exact in floating point. When the
    windows hold at most 4 m candidates, they are enumerated and partitioned. O(m log m) expected, where
    the full distance matrix costs m^2.
    """
    m = w.size
    idx = np.arange(m)
    lo, hi = idx + 1, np.full(m, m)
    below = 0  # pairs known to be smaller than every candidate
    rng = np.random.default_rng(0)

    while True:
        sizes = hi - lo
        ends = np.cumsum(sizes)
        total = int(ends[-1])
        if total <= 4 * m:
            a = np.repeat(idx, sizes)
            b = np.arange(total) - np.repeat(ends - sizes - lo, sizes)
            return float(np.partition(w[b] - w[a], k - below)[k - below])
        r = int(rng.integers(total))
        a = int(np.searchsorted(ends, r, side="right"))
        t = float(w[lo[a] + r - (ends[a] - sizes[a])] - w[a])
        lt, le = _first_at_or_above(w, t, True), _first_at_or_above(w, t, False)
        n_lt, n_le = int(np.sum(lt - idx - 1)), int(np.sum(le - idx - 1))
        if k < n_lt:
            hi = np.minimum(hi, lt)
        elif k < n_le:
            return t
        else:
            lo, below = np.maximum(lo, le), n_le


def _pool_map(pool: ThreadPoolExecutor | None, xp: ModuleType) -> Callable:
    """``map`` over the pool's workers for NumPy work (other namespaces run in the calling thread)."""
    return pool.map if pool is not None and xp is np else map


def median_bandwidth(x: np.ndarray, max_points: int = 1000) -> float:
    """Median heuristic: the median |x_a - x_b| over pairs a < b of the first ``max_points`` present values.

    Exact (the value the full distance matrix gives) in O(m log m). Falls back to the standard
    deviation, then 1.0, when the median distance is 0.
    """
    v = x[~np.isnan(x)][:max_points]
    m = v.size
    if m < 2:
        return 1.0
    # Distances of values near 1e308 overflow: work on v / 2**e with |v| < 2**(e + 1) (exact: a power of two).
    top = float(np.max(np.abs(v)))
    if top == 0.0 or not np.isfinite(top):
        return 1.0
    scale = math.ldexp(1.0, math.frexp(top)[1] - 1)
    v = v / scale
    w = np.sort(v)
    pairs = m * (m - 1) // 2
    half = pairs // 2
    if pairs % 2:
        med = _pair_distance(w, half)
    else:  # the mean of the (half - 1)-th and half-th differences; the second from the first in one step
        below = _pair_distance(w, half - 1)
        med = (below + _next_pair_distance(w, half - 1, below)) / 2.0
    width = med if med > 0 else float(np.std(v))
    if not width > 0:
        return 1.0
    return min(width * scale, float(np.finfo(np.float64).max))


def median_bandwidths(X: np.ndarray, max_points: int = 1000) -> np.ndarray:
    """``median_bandwidth`` of every row of ``X`` (columns, rows), bit for bit, batched.

    Rows with the same number m of values used (``max_points`` at most) are selected together, 64 at a
    time: a fixed sample of pair differences brackets each row's middle difference, and pivots inside the
    bracket narrow it, each pivot's pair counts found for all rows and all a at once (boundaries placed
    by ``searchsorted``, then checked against the computed differences, as in ``_first_at_or_above``),
    until at most 32 m pairs per row are left to enumerate and partition. The same O(m log m) selection
    as one row at a time, in a few large NumPy calls per group instead of hundreds of small ones per row:
    with the GIL held by small calls, two workers ran the per-row selection slower than one (1.9 s
    against 1.6 s for 1,000 columns; batched 0.73 s). Degenerate rows go to ``median_bandwidth``.
    """
    out = np.empty(X.shape[0])
    values = [row[~np.isnan(row)][:max_points] for row in X]
    groups: dict[int, list[int]] = {}
    for r, v in enumerate(values):
        top = float(np.max(np.abs(v))) if v.size else 0.0
        if v.size < 3 or top == 0.0 or not np.isfinite(top):
            out[r] = median_bandwidth(X[r], max_points)
        else:
            groups.setdefault(v.size, []).append(r)
    for m, rows in groups.items():
        for lo in range(0, len(rows), 64):  # offsets below 8 * 64: the flat keys lose at most 9 bits
            part = rows[lo : lo + 64]
            V = np.vstack([values[r] for r in part])
            out[part] = _median_bandwidth_rows(V)
    return out


def _median_bandwidth_rows(V: np.ndarray) -> np.ndarray:
    """``median_bandwidth`` of each row of (b, m) finite values, m >= 3, not all zero."""
    b, m = V.shape
    top = np.max(np.abs(V), axis=1)
    scale = np.ldexp(1.0, np.frexp(top)[1] - 1)  # exact powers of two: |V / scale| < 2
    W = np.sort(V / scale[:, None], axis=1)
    Wf = W.reshape(-1)
    pairs = m * (m - 1) // 2
    half = pairs // 2
    k = half if pairs % 2 else half - 1  # the (first) middle difference, 0-based
    a_of = np.tile(np.arange(m), b)  # per flat position r * m + a: a

    def boundaries(P: np.ndarray, tt: np.ndarray, strict: bool) -> np.ndarray:
        """At flat positions P = r * m + a: the first c > a with W[r, c] - W[r, a] >= tt (strict) or > tt; m if none."""
        keep = np.less if strict else np.less_equal
        base = P - a_of[P]
        side = "left" if strict else "right"
        B = np.concatenate([np.searchsorted(W[r], W[r] + tt[i], side=side) for i, r in zip(range(0, P.size, m), base[::m] // m)])
        B = np.clip(B, a_of[P] + 1, m)
        while True:  # W + t is rounded: move each boundary until the differences themselves agree
            up = np.flatnonzero(B < m)
            up = up[keep(Wf[base[up] + B[up]] - Wf[P[up]], tt[up])]
            if not up.size:
                break
            B[up] += 1
        while True:
            down = np.flatnonzero(B > a_of[P] + 1)
            down = down[~keep(Wf[base[down] + B[down] - 1] - Wf[P[down]], tt[down])]
            if not down.size:
                break
            B[down] -= 1
        return B

    # Per row an open bracket (lo, hi) of the k-th difference: below = #(d <= lo) <= k < #(d < hi) = upto,
    # with each a's pairs inside it at c in [B_lo, B_hi). Pivots are pair differences inside the bracket:
    # first two from a fixed sample of pairs (around the k-th's place in it), then random ones (a fixed
    # seed: the draws only change the work, never the value), until at most 32 m pairs are left inside,
    # which are enumerated and partitioned.
    found = np.full(b, np.nan)
    B_lo = a_of + 1
    B_hi = np.full(b * m, m)
    below = np.zeros(b, dtype=np.int64)
    upto = np.full(b, pairs, dtype=np.int64)
    rng = np.random.default_rng(0)

    def probe(rows: np.ndarray, t: np.ndarray) -> None:
        P = (rows[:, None] * m + np.arange(m)[None, :]).reshape(-1)
        tt = np.repeat(t, m)
        B_lt, B_le = boundaries(P, tt, True), boundaries(P, tt, False)
        n_lt = np.sum((B_lt - a_of[P] - 1).reshape(-1, m), axis=1)
        n_le = np.sum((B_le - a_of[P] - 1).reshape(-1, m), axis=1)
        hit = (n_lt <= k) & (k < n_le)
        found[rows[hit]] = t[hit]
        go_lo = ~hit & (n_le <= k)
        go_hi = ~hit & (k < n_lt)
        below[rows[go_lo]], upto[rows[go_hi]] = n_le[go_lo], n_lt[go_hi]
        lo_p, hi_p = np.repeat(go_lo, m), np.repeat(go_hi, m)
        B_lo[P[lo_p]], B_hi[P[hi_p]] = B_le[lo_p], B_lt[hi_p]

    n_sample = 2048
    a_s = rng.integers(0, m - 1, n_sample)
    c_s = a_s + 1 + (rng.random(n_sample) * (m - 1 - a_s)).astype(np.int64)
    sample = np.sort(W[:, c_s] - W[:, a_s], axis=1)
    q = int(k / pairs * n_sample)
    every = np.arange(b)
    probe(every, sample[:, max(q - 48, 0)])
    rows = np.flatnonzero(np.isnan(found))
    if rows.size:
        probe(rows, sample[rows, min(q + 48, n_sample - 1)])
    while True:
        rows = np.flatnonzero(np.isnan(found) & (upto - below > 32 * m))
        if not rows.size:
            break
        P = (rows[:, None] * m + np.arange(m)[None, :]).reshape(-1)
        sizes = B_hi[P] - B_lo[P]
        ends = np.cumsum(sizes)
        totals = (upto - below)[rows]
        firsts = ends[m - 1 :: m] - totals  # the cumulative count before each row
        pick = firsts + (rng.random(rows.size) * totals).astype(np.int64)
        j = np.searchsorted(ends, pick, side="right")
        c = B_lo[P[j]] + pick - (ends[j] - sizes[j])
        probe(rows, Wf[P[j] - a_of[P[j]] + c] - Wf[P[j]])
    med = np.empty(b)
    for r in range(b):
        if not np.isnan(found[r]):
            first = float(found[r])
        else:
            part = slice(r * m, (r + 1) * m)
            sizes = B_hi[part] - B_lo[part]
            ends = np.cumsum(sizes)
            a = np.repeat(np.arange(m), sizes)
            c = np.arange(int(ends[-1])) - np.repeat(ends - sizes - B_lo[part], sizes)
            first = float(np.partition(W[r, c] - W[r, a], k - below[r])[k - below[r]])
        med[r] = first if pairs % 2 else (first + _next_pair_distance(W[r], k, first)) / 2.0
    out = np.empty(b)
    for r in range(b):
        width = med[r] if med[r] > 0 else float(np.std(V[r] / scale[r]))
        out[r] = 1.0 if not width > 0 else min(width * scale[r], float(np.finfo(np.float64).max))
    return out


# Absolute slack of the HSIC screen: a pair is computed exactly when its bound is at least the threshold
# less this (the bound and the product are float32-rounded, by about 1e-6 at most).
SCREEN_MARGIN = 1e-4
# Below this threshold most pairs' bounds reach it (the bound exceeds the value by about 0.3 at two
# directions): every pair from the full products is then faster (n = 5,000, p = 1,000 at threshold 0:
# 14.0 s screened, 5.0 s not).
SCREEN_MIN_THRESHOLD = 0.5

# Columns whose random features are built together: small enough that the (columns, D, rows)
# temporaries stay a few MB (allocating and touching fresh pages dominated with whole blocks).
FEATURE_CHUNK = 8


class _Spill:
    """Compressed features written once to an unlinked temporary file (``tempfile``: $TMPDIR) and read
    back through a read-only memory map, for tables whose features pass fit's ``keep_bytes``: the page
    cache holds them while memory allows, and the kernel drops clean pages under pressure. The space is
    freed when the map is dropped. A failed write (a full disk) gives up the file: the features are
    then built again per block, as without it."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    @classmethod
    def open(cls, first: list) -> _Spill | None:
        try:
            spill = cls(tempfile.TemporaryFile(prefix="descriptor-pipeline-features-"))
        except OSError:
            return None
        return spill if spill.write(first) else None

    def write(self, arrays: list) -> bool:
        try:
            for a in arrays:
                self.handle.write(np.ascontiguousarray(a).data)
            return True
        except OSError:
            self.close()
            return False

    def close(self) -> None:
        """Close the file; a buffered tail that cannot be written (the disk is full) is dropped with it."""
        try:
            self.handle.close()
        except OSError:  # the buffer's flush failed again; the descriptor is closed all the same
            pass

    def map(self, dtype: np.dtype, rows: int) -> np.ndarray | None:
        """The (written rows, ``rows``) array read from the file; None when the last writes fail."""
        try:
            self.handle.flush()  # buffered writes meet a full disk here at the latest
            stack = np.memmap(self.handle, dtype=dtype, mode="r", shape=(self.handle.tell() // (dtype.itemsize * rows), rows))
        except OSError:
            stack = None
        self.close()  # the map keeps its own reference to the file
        return stack


class PerColumnRank(Measure):
    """A measure whose columns each keep their own number of feature rows (``ranks``, set by fit).

    Subclasses give ``_compress(xp, X, cols, ranks=None) -> (rows per column, ranks, left_out, power)``:
    each column's (r, rows) features, its rank (``ranks`` when given), the energy it leaves out and the
    squared norms of its rows, descending (None where the measure has no use for them). fit runs it over
    every column in chunks of fixed size and keeps the features (as ``dtype``): in memory while they fit
    in ``keep_bytes``, beyond that (NumPy) in a temporary file read through a memory map (``_Spill``);
    ``features`` then only gathers them. Elsewhere, or if the file cannot be written, it builds them
    again per block with fit's ranks (``describe()["held"]`` says which).
    """

    ranks: np.ndarray
    left_out: np.ndarray
    power: np.ndarray  # (columns, width) squared row norms of the kept features, descending, zero-padded
    _stack: Any  # the kept features of every column, one (sum of ranks, rows) array (or memory map); None
    _offsets: np.ndarray  # column c's rows of _stack: _offsets[c] to _offsets[c + 1]

    @property
    def compressed(self) -> bool:
        return True

    def _reset(self, p: int, width: int) -> None:
        self.ranks = np.full(p, width, dtype=np.int64)
        self.left_out = np.zeros(p)
        self.power = np.zeros((p, 0))
        self.width = width
        self._stack, self._offsets = None, np.zeros(p + 1, dtype=np.int64)

    @property
    def column_widths(self) -> np.ndarray | None:
        return self.ranks if self.compressed else None

    @property
    def holds_features(self) -> bool:
        return self._stack is not None

    def _column(self, c: int) -> Any:
        """Column ``c``'s kept (rank, rows) features, a view of the stack."""
        return self._stack[int(self._offsets[c]) : int(self._offsets[c + 1]), :]

    def _chunk(self, xp: ModuleType, rows: int) -> int:
        return FEATURE_CHUNK if xp is np else max(1, 2**25 // max(1, self.width * rows))

    def _fit_ranks(self, X: np.ndarray, xp: ModuleType, pmap: Callable, dtype: Any, keep_bytes: int) -> None:
        p = X.shape[0]
        chunk = self._chunk(xp, X.shape[1])
        itemsize = 4 if dtype == xp.float32 else 8
        kept: list | None = [] if dtype is not None and keep_bytes > 0 else None
        size = 0
        spill: _Spill | None = None
        ranks, left_out, power = [], [], []
        chunks = [slice(lo, min(lo + chunk, p)) for lo in range(0, p, chunk)]
        for W, r, e, s2 in pmap(lambda c: self._compress(xp, xp.asarray(X[c]), c), chunks):
            ranks.append(r)
            left_out.append(e)
            power.append(s2)
            if kept is None:
                continue
            W = [xp.astype(w, dtype) for w in W]
            size += int(r.sum()) * X.shape[1] * itemsize
            if spill is None and size > keep_bytes:  # past keep_bytes: on to a temporary file (NumPy), or rebuilt
                spill = _Spill.open(kept) if xp is np else None
                kept = [] if spill is not None else None
            if spill is not None:
                if not spill.write(W):
                    kept, spill = None, None
            elif kept is not None:
                kept.extend(W)
        self.ranks, self.left_out = np.concatenate(ranks), np.concatenate(left_out)
        self.width = int(self.ranks.max())
        if all(s2 is not None for s2 in power):
            self.power = np.concatenate([np.pad(s2, ((0, 0), (0, self.width - s2.shape[1]))) for s2 in power])
        # One (sum of ranks, rows) array, in memory or mapped from the file: a block's features are a view of it.
        if spill is not None:  # something was written: the file holds at least one row (None: the last writes failed)
            self._stack = spill.map(np.dtype(dtype), X.shape[1])
        elif kept:
            self._stack = xp.concat(kept, axis=0)
        if self._stack is not None:
            self._offsets = np.concatenate([[0], np.cumsum(self.ranks)])

    def _compress(
        self, xp: ModuleType, X: Any, cols: slice, ranks: np.ndarray | None = None
    ) -> tuple[list, np.ndarray, np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _compressed_features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        if self._stack is not None:
            return self._stack[int(self._offsets[cols.start]) : int(self._offsets[cols.stop]), :]
        chunk = self._chunk(xp, X.shape[1])
        out = []
        for lo in range(0, X.shape[0], chunk):
            hi = min(lo + chunk, X.shape[0])
            part = slice(cols.start + lo, cols.start + hi)
            out.extend(self._compress(xp, X[lo:hi, :], part, self.ranks[part])[0])
        return xp.concat(out, axis=0)

    def _settings(self) -> dict:
        """The measure's compression settings, first in ``describe``."""
        return {}

    def describe(self) -> dict | None:
        if not self.compressed or not self.ranks.size:
            return None
        return {**self._settings(), "rank_max": int(self.ranks.max()), "rank_mean": round(float(self.ranks.mean()), 3),
                "rank_median": float(np.median(self.ranks)), "energy_left_out_max": self.truncated_energy,
                "held": self.held}

    @property
    def held(self) -> str:
        """Where fit put the compressed features."""
        if self._stack is None:
            return "rebuilt per block"
        return "temporary file" if isinstance(self._stack, np.memmap) else "memory"

    @property
    def truncated_energy(self) -> float:
        """The largest energy any column leaves out (0 without compression)."""
        return float(np.max(self.left_out)) if self.left_out.size else 0.0


@dataclass
class HSIC(PerColumnRank):
    """Normalized HSIC, HSIC(x,y)/sqrt(HSIC(x,x) HSIC(y,y)), Gaussian kernels, random Fourier features.

    phi(x) = sqrt(2/D) cos(omega x / sigma + b), omega ~ N(0, 1), b ~ U(0, 2 pi), the same draws for
    every column; sigma is the column's median-heuristic bandwidth. HSIC(x,y) ~ ||C_xy||_F^2.

    Compression (``energy_tol``, default 1e-6): a column's (D, rows) centered features Phi, scaled so
    that ||Phi Phi^T||_F = 1, are far from full rank (a 1-D Gaussian kernel's spectrum decays fast).
    With Phi = U S V^T, the block products use W = U_r^T Phi = S_r V_r^T, the column's top r directions,
    where r (its entry of ``ranks``) is the smallest rank that leaves out at most ``energy_tol`` of
    sum_k s_k^2. Since ||W_x W_y^T||_F = ||P_x Phi_x Phi_y^T P_y||_F with orthogonal projections P, the
    compressed similarity lies in [H - e_x - e_y, H], H the uncompressed one and e the energy a column
    leaves out (each at most ``energy_tol``); a pair costs rows * r_x * r_y instead of rows * D^2.
    ``energy_tol=None`` is the uncompressed estimator (the reference).

    Screen (``screen``, default 2; with compression, while fit holds the features): the block products
    use only each column's top k = ``screen`` rows A (the rest of W is T), and a pair's value is computed
    from its full W only when an upper bound reaches the threshold. With a_1 >= a_2 >= ... the squared
    row norms of W_x (its s_i^2; the rows of W are orthogonal) and b those of W_y,

        ||W_x W_y^T||_F^2 = ||A_x A_y^T||^2 + ||A_x T_y^T||^2 + ||T_x A_y^T||^2 + ||T_x T_y^T||^2,

    the first term comes from the product, and each other is at most sum_i of the products of the
    matching spectra in order (von Neumann's trace inequality: ||A T^T||_F^2 = tr(A^T A T^T T)), e.g.
    ||A_x T_y^T||^2 <= sum_{i <= k} a_i b_{k+i}; the first two together are also at most
    sum_{i <= k} a_i b_i (the same inequality for A_x against the whole W_y), and the whole at most
    sum_i a_i b_i. Pairs whose bound is below the threshold (less a margin of 1e-4 for float32
    rounding) cannot reach it; the others get their exact value (one product per column against its
    candidate partners). A pair then costs rows * k^2 instead of rows * r_x * r_y; below the threshold
    the histogram sees the bound. ``screen=None``: every pair from its full W (the reference); the
    screen is also off for thresholds below SCREEN_MIN_THRESHOLD (``plan``), where few pairs are ruled out.

    Fitted for float32 products (``fit(..., dtype=float32)``, the pipeline's default), the cosines are
    evaluated in float32, several times faster than in float64 (NumPy's SIMD float32 cos): the phase
    omega x / sigma + b is formed in float64 and reduced modulo 2 pi there (``_float32_cosines``), so each
    feature is within about 4e-7 of its float64 value whatever the column's scale, about the rounding of
    the float32 products that follow. The centering and the product with the top directions run in
    float32 as well; the D x D Gram matrices and their eigen-decompositions stay in float64.
    """

    n_features: int = 64
    seed: int = 0
    energy_tol: float | None = 1e-6
    screen: int | None = 2
    name: str = "hsic"
    sigma: np.ndarray = field(default_factory=lambda: np.ones(0))

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.omega = rng.standard_normal(self.n_features)
        self.phase = rng.uniform(0.0, 2.0 * math.pi, self.n_features)
        self._cos_float32 = False  # set by fit: float32 cosines for float32 products
        self._screening = False  # set by fit: the screen is on
        self._pool: ThreadPoolExecutor | None = None
        self._threshold = 1.0  # told by plan; the screen runs for thresholds of at least SCREEN_MIN_THRESHOLD
        self._reset(0, self.n_features)

    @property
    def compressed(self) -> bool:
        return self.energy_tol is not None

    def plan(self, threshold: float) -> None:
        self._threshold = threshold

    @property
    def column_widths(self) -> np.ndarray | None:
        if self._screening:
            return np.minimum(self.ranks, self.screen)
        return super().column_widths

    @property
    def histogram_values(self) -> str:  # type: ignore[override]
        if self._screening:
            return (
                f"exact at or above the threshold; below it, an upper bound from each column's top {self.screen} "
                "directions and the spectra of the rest (bins below the threshold can hold pairs whose HSIC is lower)"
            )
        return "exact"

    def _settings(self) -> dict:
        return {"n_features": self.n_features, "energy_tol": self.energy_tol, "screen": self.screen if self._screening else None}

    def fit(
        self, X: np.ndarray, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None, dtype: Any = None, keep_bytes: int = 0
    ) -> None:
        p = X.shape[0]
        self._cos_float32 = dtype is not None and dtype == xp.float32
        # Per column, in chunks of fixed size: the same values however the pool's workers share them.
        pmap = _pool_map(pool, xp)
        parts = [slice(lo, min(lo + 64, p)) for lo in range(0, p, 64)]
        self.sigma = np.concatenate([np.ones(0), *pmap(lambda c: median_bandwidths(X[c]), parts)])
        self._reset(p, self.n_features)
        self._screening = False
        self._pool = pool  # for the screen's exact values, while all_pairs runs
        if self.compressed and p:
            self._fit_ranks(X, xp, pmap, dtype, keep_bytes)
            # The screen needs every column's full W at hand for its candidates; it pays when W is wider.
            self._screening = (
                self.screen is not None and self._stack is not None and self.width > self.screen
                and self._threshold >= SCREEN_MIN_THRESHOLD
            )
            if self._screening:  # zero columns up to 2 k: the screen's head and tail spectra are k wide
                self.power = np.pad(self.power, ((0, 0), (0, max(0, 2 * self.screen - self.power.shape[1]))))

    def _compress(
        self, xp: ModuleType, X: Any, cols: slice, ranks: np.ndarray | None = None
    ) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
        """Per column of a chunk: its compressed (r, rows) features W = U_r^T Phi (the top direction
        last), its rank r (``ranks`` when given; else the smallest that leaves out at most energy_tol, at
        least 1: a constant column keeps one row of zeros), the energy it leaves out and the (b, max r)
        s_1^2 >= s_2^2 >= ... of its kept rows (zero beyond r)."""
        phi, gram, scale = self._phi(xp, X, cols)
        evals, vecs = xp.linalg.eigh(gram)  # ascending eigenvalues: the top directions come last
        d = phi.shape[1]
        s2 = np.clip(to_numpy(evals), 0.0, None)
        # tail[:, r] = sum_{k >= r} s_k^2 (descending s): the energy a column leaves out at rank r.
        tail = np.concatenate([np.cumsum(s2, axis=1)[:, ::-1], np.zeros((s2.shape[0], 1))], axis=1)
        if ranks is None:
            ranks = np.maximum(1, np.argmax(tail <= self.energy_tol, axis=1)).astype(np.int64)
        top = int(ranks.max())
        U = xp.astype(xp.permute_dims(vecs[:, :, d - top :], (0, 2, 1)), phi.dtype)
        W = (U @ phi) * xp.astype(scale, phi.dtype)[:, None, None]  # (b, top, rows) = U_top^T Phi, normalized
        power = np.where(np.arange(top)[None, :] < ranks[:, None], s2[:, ::-1][:, :top], 0.0)
        return [W[c, top - int(r) :, :] for c, r in enumerate(ranks)], ranks, tail[np.arange(len(ranks)), ranks], power

    def _phi(self, xp: ModuleType, X: Any, cols: slice) -> tuple[Any, Any, Any]:
        """(b, D, rows) centered features Phi (float32 with float32 cosines), the (b, D, D) float64
        Phi Phi^T of the features scaled to ||Phi Phi^T||_F = 1, and (b,) that scale (0: a constant
        column). The scale is applied by the callers, to the compressed rows where there are some."""
        present = ~xp.isnan(X)
        n_present = xp.sum(xp.astype(present, xp.int64), axis=-1)
        sigma = xp.asarray(self.sigma[cols])
        scaled = xp.where(present, X, 0.0) / sigma[:, None]
        # The factor sqrt(2 / D) of phi is left out: the normalization below removes any common scale.
        if self._cos_float32:  # centered and multiplied in float32 as well
            largest = float(xp.max(xp.abs(scaled))) * float(np.max(np.abs(self.omega))) + 2.0 * math.pi
            phi = _float32_cosines(xp, scaled, self.omega, self.phase, largest)
        else:
            phi = xp.cos(scaled[:, None, :] * xp.asarray(self.omega)[None, :, None] + xp.asarray(self.phase)[None, :, None])
        phi = _center_present(xp, phi, present, n_present)
        return (phi, *_normalize_gram(xp, phi, _varies(xp, X, present)))

    def features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        if not self.compressed:
            phi, _, scale = self._phi(xp, X, cols)
            phi = phi * xp.astype(scale, phi.dtype)[:, None, None]
            return xp.reshape(phi, (phi.shape[0] * phi.shape[1], phi.shape[2]))
        if self._screening:  # the top rows of each kept W (its last ones)
            k = self.screen
            return xp.concat([self._column(c)[max(0, int(self.ranks[c]) - k) :, :] for c in range(cols.start, cols.stop)], axis=0)
        return self._compressed_features(xp, X, cols)

    def reduce(self, xp: ModuleType, G: Any, ci: slice, cj: slice, threshold: float) -> Any:
        if self.energy_tol is None:
            d, bi, bj = self.width, ci.stop - ci.start, cj.stop - cj.start
            G4 = xp.reshape(G, (bi, d, bj, d))
            return xp.sum(xp.sum(G4 * G4, axis=3), axis=1)
        if self._screening:
            return self._screened(xp, G, ci, cj, threshold)
        return segment_sums(xp, G * G, self.ranks[ci], self.ranks[cj])

    def _screened(self, xp: ModuleType, G: Any, ci: slice, cj: slice, threshold: float) -> Any:
        k = self.screen
        bi, bj = ci.stop - ci.start, cj.stop - cj.start
        top = xp.astype(segment_sums(xp, G * G, np.minimum(self.ranks[ci], k), np.minimum(self.ranks[cj], k)), xp.float64)
        power = self.power  # (columns, >= 2 k), padded in fit
        head_i, tail_i, head_j, tail_j = power[ci, :k], power[ci, k:], power[cj, :k], power[cj, k:]
        rest = xp.clip(xp.asarray(head_i @ head_j.T) - top, 0.0, None)  # ||A_x W_y^T||^2 - top and its mirror, at most
        bound = (
            top
            + xp.minimum(xp.asarray(head_i @ tail_j[:, :k].T), rest)
            + xp.minimum(xp.asarray(tail_i[:, :k] @ head_j.T), rest)
            + xp.asarray(tail_i @ tail_j.T)
        )
        bound = xp.minimum(bound, xp.asarray(power[ci] @ power[cj].T))
        valid = np.arange(ci.start, ci.stop)[:, None] < np.arange(cj.start, cj.stop)[None, :]
        flagged = xp.reshape((bound >= threshold - SCREEN_MARGIN) & xp.asarray(valid), (-1,))
        candidates = to_numpy(xp.nonzero(flagged)[0])
        if candidates.size == 0:
            return bound
        a, b = candidates // bj, candidates % bj
        off, rj = self._offsets, self.ranks[cj]
        FJ = self._stack[int(off[cj.start]) : int(off[cj.stop]), :]  # the block's full W, a view
        xs, firsts = np.unique(a, return_index=True)

        def exact(x: int, partners: np.ndarray) -> Any:
            """||W_x W_y^T||_F^2 of column x of the block against its candidate partners (ascending)."""
            Wx = self._column(ci.start + x)
            if 4 * int(rj[partners].sum()) >= FJ.shape[0]:  # many partners: against the whole block, no gather
                P = xp.astype(Wx @ xp.permute_dims(FJ, (1, 0)), xp.float64)
                sums = xp.reshape(segment_sums(xp, P * P, np.array([Wx.shape[0]]), rj), (-1,))
                return xp.take(sums, xp.asarray(partners))
            rows = np.concatenate([np.arange(off[cj.start + y], off[cj.start + y + 1]) for y in partners.tolist()])
            Wy = xp.take(self._stack, xp.asarray(rows), axis=0)
            P = xp.astype(Wx @ xp.permute_dims(Wy, (1, 0)), xp.float64)
            return xp.reshape(segment_sums(xp, P * P, np.array([Wx.shape[0]]), rj[partners]), (-1,))

        groups = list(zip(xs.tolist(), np.split(b, firsts[1:])))
        pmap = _pool_map(self._pool, xp)  # each column on its own: the same bytes for any number of workers
        values = list(pmap(lambda g: exact(*g), groups))
        # nonzero lists the candidates by flat position, i.e. by (a, b): the order of the values
        out = _scatter(xp, xp.reshape(bound, (-1,)), xp.asarray(candidates), xp.concat(values))
        return xp.reshape(out, (bi, bj))


def segment_sums(xp: ModuleType, A: Any, rows: np.ndarray, cols: np.ndarray) -> Any:
    """(len(rows), len(cols)) sums of the blocks of ``A`` cut into segments of ``rows`` x ``cols`` entries.

    NumPy: ``add.reduceat``, each block summed on its own. Other namespaces: products with 0/1
    segment-indicator matrices (one BLAS-like call per axis).
    """
    if xp is np:
        oi = np.concatenate([[0], np.cumsum(rows[:-1])])
        oj = np.concatenate([[0], np.cumsum(cols[:-1])])
        return np.add.reduceat(np.add.reduceat(A, oi, axis=0), oj, axis=1)

    def indicator(widths: np.ndarray) -> Any:
        return xp.asarray(np.repeat(np.eye(widths.size), widths, axis=1), dtype=A.dtype)

    return indicator(rows) @ A @ xp.permute_dims(indicator(cols), (1, 0))


def _float32_cosines(xp: ModuleType, scaled: Any, omega: np.ndarray, phase: np.ndarray, largest: float) -> Any:
    """(b, D, rows) float32 cos(omega * scaled + phase), the phase reduced in float64; ``largest`` bounds
    every |phase|.

    While the phases stay below 2**26, in turns: t = scaled * omega / 2 pi + phase / 2 pi in float64 (off
    by at most 2**26 * 2**-53 / 2 pi turns), t - round(t) in [-1/2, 1/2] exactly, cast to float32 and times
    2 pi there, so the float32 cosine's argument is within about 3e-7 of the exact one. Beyond, where
    rounding in the reduction grows with the phase (for phases near float64's maximum the rounded
    multiple of 2 pi is itself ~1e292, which overflows the cast), the phase reduced by fmod (or remainder
    outside NumPy), which is exact.
    """
    if not largest < 2.0**26:
        angle = scaled[:, None, :] * xp.asarray(omega)[None, :, None] + xp.asarray(phase)[None, :, None]
        return xp.cos(xp.astype(getattr(xp, "fmod", xp.remainder)(angle, 2.0 * math.pi), xp.float32))
    omega_t, phase_t = omega / (2.0 * math.pi), phase / (2.0 * math.pi)
    if xp is np:  # one column at a time, in place: its (D, rows) float64 phases stay in cache (3x faster)
        out = np.empty((scaled.shape[0], omega.size, scaled.shape[1]), dtype=np.float32)
        for c in range(scaled.shape[0]):
            turns = np.multiply.outer(omega_t, scaled[c])
            turns += phase_t[:, None]
            turns -= np.rint(turns)
            col = out[c]
            col[...] = turns
            col *= np.float32(2.0 * math.pi)
            np.cos(col, out=col)
        return out
    turns = scaled[:, None, :] * xp.asarray(omega_t)[None, :, None] + xp.asarray(phase_t)[None, :, None]
    return xp.cos(xp.astype(turns - xp.round(turns), xp.float32) * (2.0 * math.pi))


def _gram(xp: ModuleType, F: Any) -> Any:
    """(b, d, d) float64 F F^T of (b, d, rows) features."""
    if xp is np:  # one column at a time: its float64 copy stays in cache (the same bytes, 15 % faster)
        G = np.empty((F.shape[0], F.shape[1], F.shape[1]))
        for c in range(F.shape[0]):
            f = F[c].astype(np.float64, copy=False)
            np.matmul(f, f.T, out=G[c])
        return G
    F = xp.astype(F, xp.float64)
    return F @ xp.permute_dims(F, (0, 2, 1))


def _normalize_gram(xp: ModuleType, F: Any, keep: Any = None) -> tuple[Any, Any]:
    """For each column's (b, d, rows) features: the float64 F F^T of F scaled so that ||F F^T||_F = 1,
    and that (b,) scale; both are zero for the columns that are not in ``keep`` (a (b,) mask, e.g.
    constant columns) or have no variance."""
    b, d, n = F.shape
    # In float64 even for float32 features: feature rounding enters the tail energies squared (about
    # 1e-14), float32 rounding of the products linearly (about 1e-7, against energy_tol 1e-6).
    gram = _gram(xp, F)
    fro2 = xp.sqrt(xp.sum(xp.reshape(gram * gram, (b, d * d)), axis=-1))  # ||F F^T||_F = fro^2
    ok = fro2 > 0 if keep is None else (fro2 > 0) & keep
    scale = xp.where(ok, 1.0 / xp.sqrt(xp.where(ok, fro2, 1.0)), 0.0)
    return xp.where(ok[:, None, None], gram / xp.where(ok, fro2, 1.0)[:, None, None], 0.0), scale


@dataclass
class RDC(PerColumnRank):
    """Randomized dependence coefficient: the largest canonical correlation between k random sinusoidal
    features sin(s (u w_u + w_1)) of the copula transforms u = rank / n of two columns.

    Canonical correlations are the singular values of Q_x^T Q_y, where Q is an orthonormal basis of a
    column's centered features; directions with singular value below ``rank_tol`` times the largest are
    left out (the features of one column are nearly collinear: about 3 numerically independent of 20).
    With ``compress`` (the default) each column keeps only its r basis rows (its entry of ``ranks``),
    so a pair costs rows * r_x * r_y; without it every column has k rows, the left-out ones zero (the
    same values, at k^2 per pair: the reference).
    """

    k: int = 20
    s: float = 1.0 / 6.0
    seed: int = 0
    rank_tol: float = 1e-6
    compress: bool = True
    name: str = "rdc"
    histogram_values: str = (
        "exact at or above the threshold; below it, the Frobenius norm of the pair's canonical-correlation "
        "block, an upper bound of the RDC (bins below the threshold can hold pairs whose RDC is lower)"
    )

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.weights = rng.standard_normal((2, self.k))  # rows: multiplier of u, multiplier of the constant 1
        self._reset(0, self.k)

    @property
    def compressed(self) -> bool:
        return self.compress

    def _settings(self) -> dict:
        return {"n_features": self.k, "rank_tol": self.rank_tol}

    def fit(
        self, X: np.ndarray, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None, dtype: Any = None, keep_bytes: int = 0
    ) -> None:
        self._reset(X.shape[0], self.k)
        if self.compressed and X.shape[0]:
            self._fit_ranks(X, xp, _pool_map(pool, xp), dtype, keep_bytes)

    def _basis(self, xp: ModuleType, X: Any) -> tuple[Any, Any]:
        """(b, min(k, rows), rows) orthonormal basis rows of each column's centered features (left-out
        directions zero) and the (b,) number kept."""
        present = ~xp.isnan(X)
        ranks, n_present = average_ranks(xp, X)
        u = xp.where(present, ranks / xp.astype(xp.maximum(n_present, 1), xp.float64)[:, None], 0.0)
        w = xp.asarray(self.weights)
        F = xp.sin(self.s * (u[:, None, :] * w[0, :][None, :, None] + w[1, :][None, :, None]))
        F = xp.where(_varies(xp, X, present)[:, None, None], _center_present(xp, F, present, n_present), 0.0)
        _, sv, vh = xp.linalg.svd(F, full_matrices=False)
        keep = sv > self.rank_tol * sv[:, :1]
        return xp.where(keep[:, :, None], vh, 0.0), xp.sum(xp.astype(keep, xp.int64), axis=1)

    def _compress(
        self, xp: ModuleType, X: Any, cols: slice, ranks: np.ndarray | None = None
    ) -> tuple[list, np.ndarray, np.ndarray, None]:
        Q, kept = self._basis(xp, X)
        if ranks is None:  # the kept rows come first (descending singular values); a constant column keeps one zero row
            ranks = np.maximum(1, to_numpy(kept)).astype(np.int64)
        return [Q[c, : int(r), :] for c, r in enumerate(ranks)], ranks, np.zeros(len(ranks)), None

    def features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        if self.compressed:
            return self._compressed_features(xp, X, cols)
        Q, _ = self._basis(xp, X)
        b, k, n = Q.shape[0], self.k, Q.shape[2]
        if Q.shape[1] < k:  # fewer rows than features: the basis has at most n directions; pad with zeros
            Q = xp.concat([Q, xp.zeros((b, k - Q.shape[1], n), dtype=Q.dtype)], axis=1)
        return xp.reshape(Q, (b * k, n))

    def reduce(self, xp: ModuleType, G: Any, ci: slice, cj: slice, threshold: float) -> Any:
        bi, bj = ci.stop - ci.start, cj.stop - cj.start
        if self.compressed:
            ri, rj = self.ranks[ci], self.ranks[cj]
            fro = xp.reshape(xp.sqrt(segment_sums(xp, G * G, ri, rj)), (bi * bj,))
        else:
            k = self.k
            blocks = xp.reshape(xp.permute_dims(xp.reshape(G, (bi, k, bj, k)), (0, 2, 1, 3)), (bi * bj, k, k))
            fro = xp.sqrt(xp.sum(xp.reshape(blocks * blocks, (bi * bj, k * k)), axis=-1))
        # The spectral norm is at most the Frobenius norm: only blocks that could reach the threshold
        # need their singular values; the others keep the Frobenius bound (below the threshold).
        candidates = xp.nonzero(fro >= threshold)[0]
        if candidates.shape[0] == 0:
            return xp.reshape(fro, (bi, bj))
        if self.compressed:
            chosen = segment_blocks(xp, G, ri, rj, to_numpy(candidates))
        else:
            chosen = xp.take(blocks, candidates, axis=0)
        top = svdvals(xp, xp.astype(chosen, xp.float64))[:, 0]
        exact = xp.zeros(bi * bj, dtype=xp.float64)
        hit = xp.zeros(bi * bj, dtype=xp.bool)
        exact = _scatter(xp, exact, candidates, top)
        hit = _scatter(xp, hit, candidates, xp.ones(candidates.shape[0], dtype=xp.bool))
        return xp.reshape(xp.where(hit, exact, xp.astype(fro, xp.float64)), (bi, bj))


def segment_blocks(xp: ModuleType, A: Any, rows: np.ndarray, cols: np.ndarray, pairs: np.ndarray) -> Any:
    """The blocks of ``A`` (cut into segments of ``rows`` x ``cols`` entries) at flat positions ``pairs``
    (a * len(cols) + b), as (len(pairs), max rows, max cols), zero-padded (singular values unchanged)."""
    a, b = pairs // cols.size, pairs % cols.size
    ra, rb = rows[a], cols[b]
    ki, kj = int(ra.max()), int(rb.max())
    oi = np.cumsum(rows) - rows
    oj = np.cumsum(cols) - cols
    valid = (np.arange(ki)[None, :] < ra[:, None])[:, :, None] & (np.arange(kj)[None, :] < rb[:, None])[:, None, :]
    flat = (oi[a][:, None, None] + np.arange(ki)[None, :, None]) * A.shape[1] + (oj[b][:, None, None] + np.arange(kj)[None, None, :])
    picked = xp.take(xp.reshape(A, (-1,)), xp.asarray(np.where(valid, flat, 0).reshape(-1)))
    return xp.where(xp.asarray(valid), xp.reshape(picked, (len(pairs), ki, kj)), 0.0)


def _scatter(xp: ModuleType, target: Any, index: Any, values: Any) -> Any:
    """``target[index] = values`` for 1-D arrays, without in-place integer-array assignment."""
    order = xp.argsort(index)
    index, values = xp.take(index, order), xp.take(values, order)
    pos = xp.searchsorted(index, xp.arange(target.shape[0], dtype=index.dtype))
    pos = xp.clip(pos, 0, index.shape[0] - 1)
    matched = xp.take(index, pos) == xp.arange(target.shape[0], dtype=index.dtype)
    return xp.where(matched, xp.take(values, pos), target)


@dataclass
class EdgeResult:
    """Pairs at or above the threshold (column indices i < j, similarity) and a coarse histogram."""

    i: np.ndarray
    j: np.ndarray
    similarity: np.ndarray
    hist_edges: tuple[float, ...] = HIST_EDGES
    hist_counts: list[int] = field(default_factory=list)
    n_blocks: int = 0
    block_columns: int = 0
    seconds: float = 0.0
    features: dict | None = None  # what the measure's fit chose (Measure.describe)


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
    measure.plan(threshold)
    measure.fit(X, xp, pool, compute_dtype, cache_bytes)
    widths = measure.column_widths
    widths = np.full(p, measure.width, dtype=np.int64) if widths is None else np.asarray(widths, dtype=np.int64)
    starts = block_starts(widths, block_rows(itemsize, block_memory_mb))
    ends = dict(zip(starts, [*starts[1:], p]))
    b = max((ends[s] - s for s in starts), default=1)
    cache: dict[int, Any] = {}
    cacheable = not measure.holds_features and int(widths.sum()) * X.shape[1] * itemsize <= cache_bytes

    def feats(s: int) -> Any:
        if s in cache:
            return cache[s]
        cols = slice(s, ends[s])
        if pool is None or xp is not np:
            F = xp.astype(measure.features(xp, xp.asarray(X[cols]), cols), compute_dtype)
        else:  # features are per column: the same bytes however the block is split among workers
            step = -(-(cols.stop - cols.start) // threads)
            parts = [slice(lo, min(lo + step, cols.stop)) for lo in range(cols.start, cols.stop, step)]
            F = np.concatenate(list(pool.map(lambda c: measure.features(np, X[c], c).astype(compute_dtype), parts)))
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
        S = measure.reduce(xp, _block_product(xp, FI, FJ, pool), slice(si, ends[si]), slice(sj, ends[sj]), threshold)
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
        features=measure.describe(),
    )
