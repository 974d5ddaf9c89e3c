"""Streaming per-column statistics, exact-duplicate fingerprints and the reproducible row sample.

All state is O(columns) plus the fixed-size sample, so memory does not grow with the number of rows.
Chunks are (rows x columns) float64 arrays in which every missing value (null, NaN, +-inf) is NaN.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, elementwise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def name_key(name: str, salt: str = "") -> np.uint64:
    """A stable 64-bit key of a string (independent of Python's hash randomization)."""
    digest = hashlib.blake2b(f"{salt}\x00{name}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def canonical_bits(chunk: np.ndarray) -> np.ndarray:
    """Bit patterns of a chunk with every missing value as one NaN and -0.0 as 0.0."""
    clean = np.where(np.isnan(chunk), np.nan, chunk + 0.0)
    return clean.view(np.uint64)


@dataclass
class _Moments:
    """Count, mean and sum of squared deviations of one column group, in units of ``scale``."""

    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    scale: np.ndarray


def _pow2_scale(absmax: np.ndarray) -> np.ndarray:
    """A power of two in (absmax / 2, absmax] (1 where absmax is 0 or NaN); dividing by it is exact."""
    safe = np.where(np.isfinite(absmax) & (absmax > 0), absmax, 1.0)
    _, exponent = np.frexp(safe)
    return np.ldexp(1.0, exponent - 1)


class ColumnScanner:
    """Accumulates statistics, duplicate fingerprints and the row sample over a stream of chunks."""

    def __init__(self, names: list[str], seed: int, sample_rows: int) -> None:
        p = len(names)
        self.names = names
        self.sample_rows = sample_rows
        self.rows_seen = 0
        self._mom = _Moments(np.zeros(p), np.zeros(p), np.zeros(p), np.zeros(p))
        self.min = np.full(p, np.inf)
        self.max = np.full(p, -np.inf)
        self.n_nan = np.zeros(p, dtype=np.int64)
        self.fingerprint = np.zeros((2, p), dtype=np.uint64)
        # Row hashes depend on the row's content and the column names only (not on row position, file
        # split or column order), so the sample is the same however the rows are spread over files.
        self._col_keys = np.array([name_key(n, "column") for n in names], dtype=np.uint64) | np.uint64(1)
        self._seed_key = splitmix64(np.array([seed], dtype=np.uint64))[0]
        self._sample_hash = np.empty(0, dtype=np.uint64)
        self._sample = np.empty((0, p))

    def update(self, chunk: np.ndarray) -> None:
        """Fold one (rows x columns) float64 chunk into the running state."""
        m = chunk.shape[0]
        if m == 0:
            return
        chunk = np.where(np.isfinite(chunk), chunk, np.nan)
        present = ~np.isnan(chunk)
        self.n_nan += m - present.sum(axis=0)
        self._update_moments(chunk, present)
        with np.errstate(invalid="ignore"):
            self.min = np.fmin(self.min, np.nanmin(np.where(present, chunk, np.inf), axis=0))
            self.max = np.fmax(self.max, np.nanmax(np.where(present, chunk, -np.inf), axis=0))

        mixed = splitmix64(canonical_bits(chunk))
        rows = np.arange(self.rows_seen, self.rows_seen + m, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k in range(2):
                row_keys = splitmix64(rows ^ np.uint64(0x51ED2701 + k)) | np.uint64(1)
                self.fingerprint[k] += (mixed * row_keys[:, None]).sum(axis=0, dtype=np.uint64)
            row_hash = splitmix64((mixed * self._col_keys[None, :]).sum(axis=1, dtype=np.uint64) ^ self._seed_key)
        self._update_sample(row_hash, chunk)
        self.rows_seen += m

    def _update_moments(self, chunk: np.ndarray, present: np.ndarray) -> None:
        # Chan et al.'s parallel update, in units of a per-column power of two so that values near
        # 1e308 neither overflow nor lose precision.
        n_b = present.sum(axis=0).astype(np.float64)
        absmax = np.nanmax(np.abs(np.where(present, chunk, 0.0)), axis=0)
        s_b = np.where(absmax > 0, _pow2_scale(absmax), 0.0)  # 0: nothing but zeros so far
        a = self._mom
        scale = np.maximum(a.scale, s_b)
        safe = np.where(scale > 0, scale, 1.0)
        scaled = np.where(present, chunk, 0.0) / np.where(s_b > 0, s_b, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_b = np.where(n_b > 0, scaled.sum(axis=0) / np.maximum(n_b, 1), 0.0)
            dev = np.where(present, scaled - mean_b, 0.0)
            m2_b = (dev * dev).sum(axis=0)
        ra, rb = a.scale / safe, s_b / safe
        mean_a, m2_a = a.mean * ra, a.m2 * ra * ra
        mean_b, m2_b = mean_b * rb, m2_b * rb * rb
        n = a.n + n_b
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = mean_b - mean_a
            frac = np.where(n > 0, n_b / np.maximum(n, 1), 0.0)
            self._mom = _Moments(
                n=n,
                mean=mean_a + delta * frac,
                m2=m2_a + m2_b + delta * delta * a.n * frac,
                scale=scale,
            )

    def _update_sample(self, row_hash: np.ndarray, chunk: np.ndarray) -> None:
        k = self.sample_rows
        if k and self._sample_hash.size >= k:
            limit = self._sample_hash.max()
            keep = row_hash <= limit
            row_hash, chunk = row_hash[keep], chunk[keep]
            if row_hash.size == 0:
                return
        hashes = np.concatenate([self._sample_hash, row_hash])
        rows = np.concatenate([self._sample, chunk])
        if k and hashes.size > k:
            idx = np.argpartition(hashes, k - 1)[:k]
            hashes, rows = hashes[idx], rows[idx]
        self._sample_hash, self._sample = hashes, rows

    # ---- results -------------------------------------------------------------------------------

    @property
    def n_present(self) -> np.ndarray:
        return self._mom.n.astype(np.int64)

    def mean(self) -> np.ndarray:
        """Mean of the present values (NaN for an all-missing column)."""
        with np.errstate(invalid="ignore"):
            return np.where(self._mom.n > 0, self._mom.mean * self._mom.scale, np.nan)

    def std(self) -> np.ndarray:
        """Sample standard deviation (ddof=1) of the present values; finite for finite input."""
        mom = self._mom
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(mom.n > 1, np.sqrt(mom.m2 / np.maximum(mom.n - 1, 1)) * mom.scale, np.nan)

    def sample(self) -> np.ndarray:
        """The sampled rows (at most ``sample_rows``; all rows when 0), ordered by row hash."""
        order = np.argsort(self._sample_hash, kind="stable")
        return self._sample[order]


def sample_quantiles(sample: np.ndarray) -> np.ndarray:
    """Quantiles 1, 25, 50, 75, 99 % of each column's present values; shape (5, columns).

    Computed on values scaled by a power of two so that interpolating near 1e308 cannot overflow.
    """
    with np.errstate(invalid="ignore"):
        absmax = np.nanmax(np.abs(np.where(np.isnan(sample), 0.0, sample)), axis=0) if sample.size else np.zeros(sample.shape[1])
    scale = _pow2_scale(absmax)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as intended
        return np.nanquantile(sample / scale, [0.01, 0.25, 0.5, 0.75, 0.99], axis=0) * scale


def winsorized_variance(sample: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Variance (ddof=1) of each column clipped to [low, high], over its present values."""
    present = ~np.isnan(sample)
    n = present.sum(axis=0)
    clipped = np.clip(np.where(present, sample, 0.0), low, high)
    scale = _pow2_scale(np.maximum(np.abs(low), np.abs(high)))
    scaled = np.where(present, clipped / scale, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # +inf where beyond float64's range
        mean = scaled.sum(axis=0) / np.maximum(n, 1)
        dev = np.where(present, scaled - mean, 0.0)
        var = (dev * dev).sum(axis=0) / np.maximum(n - 1, 1) * scale * scale
    return np.where(n > 1, var, np.nan)


def distinct_counts(sample: np.ndarray) -> np.ndarray:
    """Number of distinct present values of each column of the sample."""
    ordered = np.sort(sample, axis=0)  # NaN sorts last
    present = ~np.isnan(ordered)
    new = np.ones_like(present)
    new[1:] = ordered[1:] != ordered[:-1]
    return (new & present).sum(axis=0)
