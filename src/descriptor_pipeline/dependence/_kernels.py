"""Array kernels the measures share: centering over present rows, Gram matrices, float32 cosines, sums
and gathers of the blocks of a product cut into per-column segments, and a functional scatter.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np


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


def _float32_cosines(xp: ModuleType, scaled: Any, omega: np.ndarray, phase: np.ndarray, largest: float) -> Any:
    """(b, D, rows) float32 cos(omega * scaled + phase), the phase reduced in float64; ``largest`` bounds
    every |phase|. Derivation: docs/dependence-engine.md#_float32_cosines
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
