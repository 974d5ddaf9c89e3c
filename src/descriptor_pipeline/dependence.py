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
    mask = present[:, None, :]
    denom = xp.astype(xp.maximum(n_present, 1), F.dtype)[:, None, None]
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

    def fit(self, X: np.ndarray, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None) -> None:
        """Per-column parameters from the whole (columns, rows) host matrix (optional); ``xp`` may do
        the heavy part, and ``pool`` share NumPy work by columns."""

    def features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        """(b*width, rows) float64 features of the columns ``cols`` of the fitted matrix, block ``X``."""
        raise NotImplementedError

    def reduce(self, xp: ModuleType, G: Any, bi: int, bj: int, threshold: float) -> Any:
        """(bi, bj) similarities from the (bi*width, bj*width) product block ``G``."""
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

    def reduce(self, xp: ModuleType, G: Any, bi: int, bj: int, threshold: float) -> Any:
        return xp.abs(G)


def median_bandwidth(x: np.ndarray, max_points: int = 1000, scratch: np.ndarray | None = None) -> float:
    """Median heuristic: the median |x_a - x_b| over pairs a < b of the first ``max_points`` present values.

    Falls back to the standard deviation, then 1.0, when the median distance is 0. ``scratch``, a
    float64 buffer of at least ``max_points**2`` values, is reused across calls when given.
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
    # The full m x m distance matrix holds each pair twice plus m zeros on the diagonal (the smallest
    # values), so the k-th smallest pair distance is its (m + 2k)-th smallest entry: one partition,
    # no index arrays for the upper triangle.
    if scratch is None or scratch.size < m * m:
        scratch = np.empty(m * m)
    full = scratch[: m * m]
    np.subtract.outer(v, v, out=full.reshape(m, m))
    np.abs(full, out=full)
    pairs = m * (m - 1) // 2
    hi = m + pairs - (pairs % 2)  # odd: the middle pair; even: the upper of the two middle pairs
    full.partition(hi)
    med = float(full[hi]) if pairs % 2 else float((full[:hi].max() + full[hi]) / 2.0)
    width = med if med > 0 else float(np.std(v))
    if not width > 0:
        return 1.0
    return min(width * scale, float(np.finfo(np.float64).max))


@dataclass
class HSIC(Measure):
    """Normalized HSIC, HSIC(x,y)/sqrt(HSIC(x,x) HSIC(y,y)), Gaussian kernels, random Fourier features.

    phi(x) = sqrt(2/D) cos(omega x / sigma + b), omega ~ N(0, 1), b ~ U(0, 2 pi), the same draws for
    every column; sigma is the column's median-heuristic bandwidth. HSIC(x,y) ~ ||C_xy||_F^2.

    Compression (``energy_tol``, default 1e-6): a column's (D, rows) centered features Phi, scaled so
    that ||Phi Phi^T||_F = 1, are far from full rank (a 1-D Gaussian kernel's spectrum decays fast).
    With Phi = U S V^T, the block products use W = U_r^T Phi = S_r V_r^T, the top r directions, where r
    (the measure's ``width``) is the smallest rank at which no column leaves out more than ``energy_tol``
    of sum_k s_k^2. Since ||W_x W_y^T||_F = ||P_x Phi_x Phi_y^T P_y||_F with orthogonal projections P,
    the compressed similarity lies in [H - e_x - e_y, H], H the uncompressed one and e the energy a
    column leaves out (each at most ``energy_tol``); the pairs cost rows * r^2 instead of rows * D^2.
    ``energy_tol=None`` is the uncompressed estimator (the reference).
    """

    n_features: int = 64
    seed: int = 0
    energy_tol: float | None = 1e-6
    name: str = "hsic"
    sigma: np.ndarray = field(default_factory=lambda: np.ones(0))
    # Largest energy a column leaves out at the chosen rank (set by fit; 0 without compression).
    truncated_energy: float = 0.0

    def __post_init__(self) -> None:
        self.width = self.n_features
        rng = np.random.default_rng(self.seed)
        self.omega = rng.standard_normal(self.n_features)
        self.phase = rng.uniform(0.0, 2.0 * math.pi, self.n_features)

    def fit(self, X: np.ndarray, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None) -> None:
        p = X.shape[0]
        # Per column, in chunks of fixed size: the same values however the pool's workers share them.
        pmap = pool.map if pool is not None and xp is np else map
        split = 64

        def bandwidths(cols: slice) -> np.ndarray:
            scratch = np.empty(min(X.shape[1], 1000) ** 2)
            return np.array([median_bandwidth(row, scratch=scratch) for row in X[cols]])

        parts = [slice(lo, min(lo + split, p)) for lo in range(0, p, split)]
        self.sigma = np.concatenate([np.ones(0), *pmap(bandwidths, parts)])
        self.width, self.truncated_energy = self.n_features, 0.0
        if self.energy_tol is None or p == 0:
            return
        # The rank: from each column's D x D covariance, whose eigenvalues are the s_k^2, in batches.
        # tails[c, r] = sum_{k >= r} s_k^2 of column c (descending s): the energy it leaves out at rank r.
        step = max(1, 2**25 // max(1, self.n_features * X.shape[1]))

        def tails_of(cols: slice) -> np.ndarray:
            s2 = np.clip(to_numpy(xp.linalg.eigvalsh(self._phi(xp, xp.asarray(X[cols]), cols)[1])), 0.0, None)
            tail = np.cumsum(s2, axis=1)[:, ::-1]  # tail[:, r] = sum of all but the r largest
            return np.concatenate([tail, np.zeros((tail.shape[0], 1))], axis=1)

        tails = np.concatenate(list(pmap(tails_of, [slice(lo, min(lo + step, p)) for lo in range(0, p, step)])))
        need = max(1, int(np.max(np.argmax(tails <= self.energy_tol, axis=1))))
        left = float(np.max(tails[:, need]))
        self.width, self.truncated_energy = need, left

    def _phi(self, xp: ModuleType, X: Any, cols: slice) -> tuple[Any, Any]:
        """(b, D, rows) centered features scaled to ||Phi Phi^T||_F = 1, and their (b, D, D) Phi Phi^T."""
        present = ~xp.isnan(X)
        n_present = xp.sum(xp.astype(present, xp.int64), axis=-1)
        sigma = xp.asarray(self.sigma[cols])
        scaled = xp.where(present, X, 0.0) / sigma[:, None]
        omega = xp.asarray(self.omega)[None, :, None]
        phase = xp.asarray(self.phase)[None, :, None]
        phi = xp.cos(scaled[:, None, :] * omega + phase) * math.sqrt(2.0 / self.n_features)
        phi = xp.where(_varies(xp, X, present)[:, None, None], _center_present(xp, phi, present, n_present), 0.0)
        return _normalize_gram(xp, phi)

    def features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        phi, gram = self._phi(xp, X, cols)
        b, d, n = phi.shape
        if self.width < d:
            _, vecs = xp.linalg.eigh(gram)  # ascending eigenvalues: the top directions come last
            top = vecs[:, :, d - self.width :]
            phi = xp.permute_dims(top, (0, 2, 1)) @ phi  # (b, r, rows) = U_r^T Phi
        return xp.reshape(phi, (b * self.width, n))

    def reduce(self, xp: ModuleType, G: Any, bi: int, bj: int, threshold: float) -> Any:
        d = self.width
        G4 = xp.reshape(G, (bi, d, bj, d))
        return xp.sum(xp.sum(G4 * G4, axis=3), axis=1)


def _gram(xp: ModuleType, F: Any) -> Any:
    """(b, d, d) F F^T of (b, d, rows) features."""
    return F @ xp.permute_dims(F, (0, 2, 1))


def _normalize_gram(xp: ModuleType, F: Any) -> tuple[Any, Any]:
    """Each column's (b, d, rows) features scaled so that ||F F^T||_F = 1, and those F F^T."""
    b, d, n = F.shape
    gram = _gram(xp, F)
    fro2 = xp.sqrt(xp.sum(xp.reshape(gram * gram, (b, d * d)), axis=-1))  # ||F F^T||_F = fro^2
    ok = fro2 > 0
    fro = xp.sqrt(xp.where(ok, fro2, 1.0))
    F = xp.where(ok[:, None, None], F / fro[:, None, None], 0.0)
    return F, xp.where(ok[:, None, None], gram / xp.where(ok, fro2, 1.0)[:, None, None], 0.0)


@dataclass
class RDC(Measure):
    """Randomized dependence coefficient: the largest canonical correlation between k random sinusoidal
    features sin(s (u w_u + w_1)) of the copula transforms u = rank / n of two columns.

    Canonical correlations are the singular values of Q_x^T Q_y, where Q is an orthonormal basis of a
    column's centered features; directions with singular value below ``rank_tol`` times the largest are
    left out (the features of one column are nearly collinear: about 3 numerically independent of 20).
    """

    k: int = 20
    s: float = 1.0 / 6.0
    seed: int = 0
    rank_tol: float = 1e-6
    name: str = "rdc"
    histogram_values: str = (
        "exact at or above the threshold; below it, the Frobenius norm of the pair's canonical-correlation "
        "block, an upper bound of the RDC (bins below the threshold can hold pairs whose RDC is lower)"
    )

    def __post_init__(self) -> None:
        self.width = self.k
        rng = np.random.default_rng(self.seed)
        self.weights = rng.standard_normal((2, self.k))  # rows: multiplier of u, multiplier of the constant 1

    def features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        present = ~xp.isnan(X)
        ranks, n_present = average_ranks(xp, X)
        u = xp.where(present, ranks / xp.astype(xp.maximum(n_present, 1), xp.float64)[:, None], 0.0)
        w = xp.asarray(self.weights)
        F = xp.sin(self.s * (u[:, None, :] * w[0, :][None, :, None] + w[1, :][None, :, None]))
        F = xp.where(_varies(xp, X, present)[:, None, None], _center_present(xp, F, present, n_present), 0.0)
        b, k, n = F.shape
        _, sv, vh = xp.linalg.svd(F, full_matrices=False)
        keep = sv > self.rank_tol * sv[:, :1]
        Q = xp.where(keep[:, :, None], vh, 0.0)
        if Q.shape[1] < k:  # fewer rows than features: the basis has at most n directions; pad with zeros
            Q = xp.concat([Q, xp.zeros((b, k - Q.shape[1], n), dtype=Q.dtype)], axis=1)
        return xp.reshape(Q, (b * k, n))

    def reduce(self, xp: ModuleType, G: Any, bi: int, bj: int, threshold: float) -> Any:
        k = self.width
        blocks = xp.reshape(xp.permute_dims(xp.reshape(G, (bi, k, bj, k)), (0, 2, 1, 3)), (bi * bj, k, k))
        # The spectral norm is at most the Frobenius norm: only blocks that could reach the threshold
        # need their singular values; the others keep the Frobenius bound (below the threshold).
        fro = xp.sqrt(xp.sum(xp.reshape(blocks * blocks, (bi * bj, k * k)), axis=-1))
        candidates = xp.nonzero(fro >= threshold)[0]
        if candidates.shape[0] == 0:
            return xp.reshape(fro, (bi, bj))
        top = svdvals(xp, xp.astype(xp.take(blocks, candidates, axis=0), xp.float64))[:, 0]
        exact = xp.zeros(bi * bj, dtype=xp.float64)
        hit = xp.zeros(bi * bj, dtype=xp.bool)
        exact = _scatter(xp, exact, candidates, top)
        hit = _scatter(xp, hit, candidates, xp.ones(candidates.shape[0], dtype=xp.bool))
        return xp.reshape(xp.where(hit, exact, xp.astype(fro, xp.float64)), (bi, bj))


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


def block_columns(width: int, itemsize: int, block_memory_mb: int) -> int:
    """Columns per block so that one product block (and its reduction temporaries) fits the budget."""
    budget = block_memory_mb * 2**20 / 3
    return max(1, int(math.sqrt(budget / itemsize)) // width)


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
    measure.fit(X, xp, pool)
    compute_dtype = getattr(xp, dtype)
    itemsize = 4 if dtype == "float32" else 8
    b = min(max(p, 1), block_columns(measure.width, itemsize, block_memory_mb))
    starts = list(range(0, p, b))
    cache: dict[int, Any] = {}
    cacheable = p * measure.width * X.shape[1] * itemsize <= 8 * block_memory_mb * 2**20

    def feats(s: int) -> Any:
        if s in cache:
            return cache[s]
        cols = slice(s, min(s + b, p))
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
        bi = min(b, p - si)
        bj = min(b, p - sj)
        FJ = FI if sj == si else feats(sj)
        S = measure.reduce(xp, _block_product(xp, FI, FJ, pool), bi, bj, threshold)
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
    )
