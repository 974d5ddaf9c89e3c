"""The randomized dependence coefficient (RDC) of Lopez-Paz, Hennig & Schoelkopf, compressed per column."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import numpy as np

from descriptor_pipeline.backend import svdvals, to_numpy
from descriptor_pipeline.dependence._base import _pool_map
from descriptor_pipeline.dependence._features import CompressedFit, PerColumnRank
from descriptor_pipeline.dependence._kernels import _center_present, _scatter, _varies, segment_blocks, segment_sums
from descriptor_pipeline.dependence._ranks import average_ranks

# RDC's reduction computes the singular values only of blocks that could reach the threshold (reduce).
HISTOGRAM_VALUES = (
    "exact at or above the threshold; below it, the Frobenius norm of the pair's canonical-correlation "
    "block, an upper bound of the RDC (bins below the threshold can hold pairs whose RDC is lower)"
)


@dataclass
class RDC(PerColumnRank):
    """Randomized dependence coefficient: the largest canonical correlation between k random sinusoidal
    features sin(s (u w_u + w_1)) of the copula transforms u = rank / n of two columns.

    Canonical correlations are the singular values of Q_x^T Q_y, where Q is an orthonormal basis of a
    column's centered features; directions with singular value below ``rank_tol`` times the largest are
    left out (the features of one column are nearly collinear: about 3 numerically independent of 20).
    With ``compress`` (the default) each column keeps only its r basis rows (its entry of ``ranks``),
    so a pair costs rows * r_x * r_y; without it every column has k rows, the left-out ones zero (the
    same values, at k^2 per pair: the reference the tests use).
    """

    k: int = 20
    s: float = 1.0 / 6.0
    seed: int = 0
    rank_tol: float = 1e-6
    compress: bool = True
    name: str = "rdc"

    def __post_init__(self) -> None:  # the random draws the seed fixes, the same for every column
        rng = np.random.default_rng(self.seed)
        self.weights = rng.standard_normal((2, self.k))  # rows: multiplier of u, multiplier of the constant 1

    @property
    def width(self) -> int:  # type: ignore[override]
        return self.k

    @property
    def compressed(self) -> bool:
        return self.compress

    def fit(
        self, X: np.ndarray, threshold: float, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None,
        dtype: Any = None, keep_bytes: int = 0,
    ) -> CompressedFit:
        fit = CompressedFit(threshold=threshold, histogram_values=HISTOGRAM_VALUES, **self._unfitted(X.shape[0]))
        if self.compressed and X.shape[0]:
            fit = replace(fit, **self._fit_ranks(fit, X, xp, _pool_map(pool, xp), dtype, keep_bytes))
        return replace(fit, description=self._description(fit, {"n_features": self.k, "rank_tol": self.rank_tol}))

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
        self, fit: CompressedFit, xp: ModuleType, X: Any, cols: slice, ranks: np.ndarray | None = None
    ) -> tuple[list, np.ndarray, np.ndarray, None]:
        Q, kept = self._basis(xp, X)
        if ranks is None:  # the kept rows come first (descending singular values); a constant column keeps one zero row
            ranks = np.maximum(1, to_numpy(kept)).astype(np.int64)
        return [Q[c, : int(r), :] for c, r in enumerate(ranks)], ranks, np.zeros(len(ranks)), None

    def features(self, fit: CompressedFit, xp: ModuleType, X: Any, cols: slice) -> Any:
        if self.compressed:
            return self._compressed_features(fit, xp, X, cols)
        Q, _ = self._basis(xp, X)
        b, k, n = Q.shape[0], self.k, Q.shape[2]
        if Q.shape[1] < k:  # fewer rows than features: the basis has at most n directions; pad with zeros
            Q = xp.concat([Q, xp.zeros((b, k - Q.shape[1], n), dtype=Q.dtype)], axis=1)
        return xp.reshape(Q, (b * k, n))

    def reduce(self, fit: CompressedFit, xp: ModuleType, G: Any, ci: slice, cj: slice, pool: ThreadPoolExecutor | None = None) -> Any:
        bi, bj, threshold = ci.stop - ci.start, cj.stop - cj.start, fit.threshold
        if self.compressed:
            ri, rj = fit.ranks[ci], fit.ranks[cj]
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
