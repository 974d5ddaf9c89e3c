"""Statistics of the row sample: quantiles, winsorized variance, distinct counts and the most frequent
value with its count, from one sort.

The sample is a (rows x columns) float64 array with every missing value as NaN; column-major
(Fortran-ordered) samples are the fast case. Columns go to a pool of threads (NumPy's sort releases the
GIL) in blocks of about a million values, whose temporaries the allocator reuses: blocks as large as a
thread's share of a wide sample page-faulted on fresh memory for most of their time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)
BLOCK_VALUES = 2**20  # values per block of columns: small temporaries, reused by the allocator


def pow2_scale(absmax: np.ndarray) -> np.ndarray:
    """A power of two in (absmax / 2, absmax] (1 where absmax is 0 or NaN); dividing by it is exact."""
    safe = np.where(np.isfinite(absmax) & (absmax > 0), absmax, 1.0)
    _, exponent = np.frexp(safe)
    return np.ldexp(1.0, exponent - 1)


@dataclass(frozen=True)
class SampleStatistics:
    """Per column of the row sample (present values only)."""

    quantiles: np.ndarray  # shape (5, columns): QUANTILES
    winsorized_variance: np.ndarray
    distinct: np.ndarray
    mode: np.ndarray  # the most frequent value (the smallest of equally frequent ones); NaN where none
    mode_rows: np.ndarray  # how many rows hold it
    present_rows: np.ndarray  # how many rows hold a value

    @property
    def off_mode_rows(self) -> np.ndarray:
        """Rows whose value is present and not the mode."""
        return self.present_rows - self.mode_rows


def sample_statistics(sample: np.ndarray, threads: int = 1) -> SampleStatistics:
    """The :class:`SampleStatistics` of every column."""
    n, p = sample.shape
    width = max(1, min(BLOCK_VALUES // max(n, 1), -(-p // max(threads, 1))))
    blocks = [(lo, min(lo + width, p)) for lo in range(0, p, width)] or [(0, 0)]

    def one(block: tuple[int, int]) -> tuple[np.ndarray, ...]:
        part = sample[:, block[0] : block[1]]
        ordered = np.sort(part, axis=0)  # NaN sorts last
        quant = _sorted_quantiles(ordered)
        return (quant, winsorized_variance(part, quant[0], quant[4]), _sorted_distinct(ordered),
                *_sorted_mode(ordered))

    if threads <= 1 or len(blocks) == 1:
        results = [one(b) for b in blocks]
    else:
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(one, blocks))
    return SampleStatistics(np.concatenate([r[0] for r in results], axis=1),
                            *(np.concatenate([r[k] for r in results]) for k in range(1, 6)))


def _sorted_quantiles(ordered: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles (NumPy's default) of columns sorted with NaN last; shape (5, columns).

    Interpolates values scaled by a power of two, so that values near 1e308 cannot overflow.
    """
    n = (~np.isnan(ordered)).sum(axis=0)
    p = ordered.shape[1]
    out = np.full((len(QUANTILES), p), np.nan)
    has = n > 0
    if not has.any():
        return out
    cols = np.flatnonzero(has)
    first, last = ordered[0, cols], ordered[n[cols] - 1, cols]
    scale = pow2_scale(np.maximum(np.abs(first), np.abs(last)))
    for i, q in enumerate(QUANTILES):
        pos = q * (n[cols] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n[cols] - 1)
        t = pos - lo
        a, b = ordered[lo, cols] / scale, ordered[hi, cols] / scale
        diff = b - a
        value = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)  # NumPy's _lerp
        out[i, cols] = np.where(a == b, a, value) * scale
    return out


def _sorted_distinct(ordered: np.ndarray) -> np.ndarray:
    present = ~np.isnan(ordered)
    new = np.ones_like(present)
    new[1:] = ordered[1:] != ordered[:-1]
    return (new & present).sum(axis=0)


def _sorted_mode(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The most frequent present value of columns sorted with NaN last, how many rows hold it (the longest
    run of equal values: the first, i.e. smallest, of equally long ones) and how many hold any value."""
    n, p = ordered.shape
    if n == 0:
        return np.full(p, np.nan), np.zeros(p, dtype=np.int64), np.zeros(p, dtype=np.int64)
    present = ~np.isnan(ordered)
    new = np.ones_like(present)
    new[1:] = ordered[1:] != ordered[:-1]
    rows = np.arange(n)[:, None]
    start = np.maximum.accumulate(np.where(new, rows, 0), axis=0)  # first row of each row's run
    run = np.where(present, rows - start + 1, 0)
    last = run.argmax(axis=0)
    count = run[last, np.arange(p)]
    return (np.where(count > 0, ordered[last, np.arange(p)], np.nan), count.astype(np.int64),
            present.sum(axis=0).astype(np.int64))


def sample_quantiles(sample: np.ndarray) -> np.ndarray:
    """Quantiles 1, 25, 50, 75, 99 % of each column's present values; shape (5, columns)."""
    return _sorted_quantiles(np.sort(sample, axis=0))


def winsorized_variance(sample: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Variance (ddof=1) of each column clipped to [low, high], over its present values."""
    present = ~np.isnan(sample)
    n = present.sum(axis=0)
    clipped = np.clip(np.where(present, sample, 0.0), low, high)
    scale = pow2_scale(np.maximum(np.abs(low), np.abs(high)))
    scaled = np.where(present, clipped / scale, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # +inf where beyond float64's range
        mean = scaled.sum(axis=0) / np.maximum(n, 1)
        dev = np.where(present, scaled - mean, 0.0)
        var = (dev * dev).sum(axis=0) / np.maximum(n - 1, 1) * scale * scale
    return np.where(n > 1, var, np.nan)


def distinct_counts(sample: np.ndarray) -> np.ndarray:
    """Number of distinct present values of each column of the sample."""
    return _sorted_distinct(np.sort(sample, axis=0))
