"""Normalized HSIC with random Fourier features, compressed per column and screened by an upper bound."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import numpy as np

from descriptor_pipeline.backend import to_numpy
from descriptor_pipeline.dependence._bandwidth import median_bandwidths
from descriptor_pipeline.dependence._base import _pool_map
from descriptor_pipeline.dependence._features import CompressedFit, PerColumnRank
from descriptor_pipeline.dependence._kernels import _center_present, _float32_cosines, _normalize_gram, _scatter, _varies, segment_sums

# Absolute slack of the HSIC screen: a pair is computed exactly when its bound is at least the threshold
# less this (the bound and the product are float32-rounded, by about 1e-6 at most).
SCREEN_MARGIN = 1e-4
# Below this threshold most pairs' bounds reach it (the bound exceeds the value by about 0.3 at two
# directions): every pair from the full products is then faster (timings: docs/dependence-engine.md#screen).
SCREEN_MIN_THRESHOLD = 0.5


@dataclass(frozen=True, kw_only=True, eq=False)
class HSICFit(CompressedFit):
    """HSIC's fit: each column's median-heuristic bandwidth, whether the cosines run in float32 and whether
    the screen is on, besides the compression of every per-column measure."""

    sigma: np.ndarray  # (columns,) bandwidths
    cos_float32: bool = False  # float32 cosines for float32 products
    screening: bool = False  # the screen is on: the engine's widths are each column's top ``screen`` rows


@dataclass
class HSIC(PerColumnRank):
    """Normalized HSIC, HSIC(x,y)/sqrt(HSIC(x,x) HSIC(y,y)), Gaussian kernels, random Fourier features.

    Derivation: docs/dependence-engine.md#hsic (``energy_tol=None``, ``screen=None``: the references the tests use).
    """

    n_features: int = 64
    seed: int = 0
    energy_tol: float | None = 1e-6
    screen: int | None = 2
    name: str = "hsic"

    def __post_init__(self) -> None:  # the random draws the seed fixes, the same for every column
        rng = np.random.default_rng(self.seed)
        self.omega = rng.standard_normal(self.n_features)
        self.phase = rng.uniform(0.0, 2.0 * math.pi, self.n_features)

    @property
    def width(self) -> int:  # type: ignore[override]
        return self.n_features

    @property
    def compressed(self) -> bool:
        return self.energy_tol is not None

    def fit(
        self, X: np.ndarray, threshold: float, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None,
        dtype: Any = None, keep_bytes: int = 0,
    ) -> HSICFit:
        p = X.shape[0]
        # Per column, in chunks of fixed size: the same values however the pool's workers share them.
        pmap = _pool_map(pool, xp)
        parts = [slice(lo, min(lo + 64, p)) for lo in range(0, p, 64)]
        sigma = np.concatenate([np.ones(0), *pmap(lambda c: median_bandwidths(X[c]), parts)])
        fit = HSICFit(threshold=threshold, sigma=sigma, cos_float32=dtype is not None and dtype == xp.float32,
                      **self._unfitted(p))
        if self.compressed and p:
            fit = replace(fit, **self._fit_ranks(fit, X, xp, pmap, dtype, keep_bytes))
            # The screen needs every column's full W at hand for its candidates; it pays when W is wider.
            if (
                self.screen is not None and fit.stack is not None and int(fit.ranks.max()) > self.screen
                and threshold >= SCREEN_MIN_THRESHOLD
            ):  # zero columns up to 2 k: the screen's head and tail spectra are k wide
                power = np.pad(fit.power, ((0, 0), (0, max(0, 2 * self.screen - fit.power.shape[1]))))
                fit = replace(fit, screening=True, power=power, widths=np.minimum(fit.ranks, self.screen),
                              histogram_values=(
                                  f"exact at or above the threshold; below it, an upper bound from each column's top "
                                  f"{self.screen} directions and the spectra of the rest (bins below the threshold can "
                                  "hold pairs whose HSIC is lower)"))
        settings = {"n_features": self.n_features, "energy_tol": self.energy_tol, "screen": self.screen if fit.screening else None}
        return replace(fit, description=self._description(fit, settings))

    def _compress(
        self, fit: HSICFit, xp: ModuleType, X: Any, cols: slice, ranks: np.ndarray | None = None
    ) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
        """Per column of a chunk: its compressed (r, rows) features W = U_r^T Phi (the top direction
        last), its rank r (``ranks`` when given; else the smallest that leaves out at most energy_tol, at
        least 1: a constant column keeps one row of zeros), the energy it leaves out and the (b, max r)
        s_1^2 >= s_2^2 >= ... of its kept rows (zero beyond r)."""
        phi, gram, scale = self._phi(fit, xp, X, cols)
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

    def _phi(self, fit: HSICFit, xp: ModuleType, X: Any, cols: slice) -> tuple[Any, Any, Any]:
        """(b, D, rows) centered features Phi (float32 with float32 cosines), the (b, D, D) float64
        Phi Phi^T of the features scaled to ||Phi Phi^T||_F = 1, and (b,) that scale (0: a constant
        column). The scale is applied by the callers, to the compressed rows where there are some."""
        present = ~xp.isnan(X)
        n_present = xp.sum(xp.astype(present, xp.int64), axis=-1)
        sigma = xp.asarray(fit.sigma[cols])
        scaled = xp.where(present, X, 0.0) / sigma[:, None]
        # The factor sqrt(2 / D) of phi is left out: the normalization below removes any common scale.
        if fit.cos_float32:  # centered and multiplied in float32 as well
            largest = float(xp.max(xp.abs(scaled))) * float(np.max(np.abs(self.omega))) + 2.0 * math.pi
            phi = _float32_cosines(xp, scaled, self.omega, self.phase, largest)
        else:
            phi = xp.cos(scaled[:, None, :] * xp.asarray(self.omega)[None, :, None] + xp.asarray(self.phase)[None, :, None])
        phi = _center_present(xp, phi, present, n_present)
        return (phi, *_normalize_gram(xp, phi, _varies(xp, X, present)))

    def features(self, fit: HSICFit, xp: ModuleType, X: Any, cols: slice) -> Any:
        if not self.compressed:
            phi, _, scale = self._phi(fit, xp, X, cols)
            phi = phi * xp.astype(scale, phi.dtype)[:, None, None]
            return xp.reshape(phi, (phi.shape[0] * phi.shape[1], phi.shape[2]))
        if fit.screening:  # the top rows of each kept W (its last ones)
            k = self.screen
            return xp.concat([fit.column(c)[max(0, int(fit.ranks[c]) - k) :, :] for c in range(cols.start, cols.stop)], axis=0)
        return self._compressed_features(fit, xp, X, cols)

    def reduce(self, fit: HSICFit, xp: ModuleType, G: Any, ci: slice, cj: slice, pool: ThreadPoolExecutor | None = None) -> Any:
        if self.energy_tol is None:
            d, bi, bj = self.n_features, ci.stop - ci.start, cj.stop - cj.start
            G4 = xp.reshape(G, (bi, d, bj, d))
            return xp.sum(xp.sum(G4 * G4, axis=3), axis=1)
        if fit.screening:
            return self._screened(fit, xp, G, ci, cj, pool)
        return segment_sums(xp, G * G, fit.ranks[ci], fit.ranks[cj])

    def _screened(self, fit: HSICFit, xp: ModuleType, G: Any, ci: slice, cj: slice, pool: ThreadPoolExecutor | None) -> Any:
        k, threshold = self.screen, fit.threshold
        bi, bj = ci.stop - ci.start, cj.stop - cj.start
        top = xp.astype(segment_sums(xp, G * G, np.minimum(fit.ranks[ci], k), np.minimum(fit.ranks[cj], k)), xp.float64)
        power = fit.power  # (columns, >= 2 k), padded in fit
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
        off, rj = fit.offsets, fit.ranks[cj]
        FJ = fit.stack[int(off[cj.start]) : int(off[cj.stop]), :]  # the block's full W, a view
        xs, firsts = np.unique(a, return_index=True)

        def exact(x: int, partners: np.ndarray) -> Any:
            """||W_x W_y^T||_F^2 of column x of the block against its candidate partners (ascending)."""
            Wx = fit.column(ci.start + x)
            if 4 * int(rj[partners].sum()) >= FJ.shape[0]:  # many partners: against the whole block, no gather
                P = xp.astype(Wx @ xp.permute_dims(FJ, (1, 0)), xp.float64)
                sums = xp.reshape(segment_sums(xp, P * P, np.array([Wx.shape[0]]), rj), (-1,))
                return xp.take(sums, xp.asarray(partners))
            rows = np.concatenate([np.arange(off[cj.start + y], off[cj.start + y + 1]) for y in partners.tolist()])
            Wy = xp.take(fit.stack, xp.asarray(rows), axis=0)
            P = xp.astype(Wx @ xp.permute_dims(Wy, (1, 0)), xp.float64)
            return xp.reshape(segment_sums(xp, P * P, np.array([Wx.shape[0]]), rj[partners]), (-1,))

        groups = list(zip(xs.tolist(), np.split(b, firsts[1:])))
        pmap = _pool_map(pool, xp)  # each column on its own: the same bytes for any number of workers
        values = list(pmap(lambda g: exact(*g), groups))
        # nonzero lists the candidates by flat position, i.e. by (a, b): the order of the values
        out = _scatter(xp, xp.reshape(bound, (-1,)), xp.asarray(candidates), xp.concat(values))
        return xp.reshape(out, (bi, bj))
