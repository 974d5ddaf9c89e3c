"""How well one descriptor stands in for another: the share of its variance its stand-in explains.

For an alternative ``a`` and its representative ``r`` on the rows where both are present (n rows):

- ``a`` is put on its rank scale: the average rank of each value among the column's present values of
  the sample (ties share their mean rank), so that heavy tails (Ipc's values up to 3e33) do not decide;
- ``r`` is put in groups: one group per distinct value when it has at most ``BINS`` (20) of them, else
  ``BINS`` quantile bins of its average ranks, bin = floor(BINS (rank - 1) / m) over its m present
  values (tied values share a rank, so they are never split between bins);
- eta^2 = SS_between / SS_total of a's ranks grouped by r's groups: Var(E[a | r]) / Var(a);
- with G non-empty groups, eta^2 is biased upward by about (G - 1) / (n - 1) (its mean when a and r are
  independent), so the figure is the bias-adjusted epsilon^2 = 1 - (1 - eta^2) (n - 1) / (n - G),
  clipped to [0, 1]. Fewer than G + 1 joint rows, or fewer than 2: 0 (nothing can be told). An
  alternative constant on the joint rows is predicted exactly: 1;
- the figure is the smaller of that epsilon^2 on all joint rows and the same epsilon^2 on the joint rows
  where ``a`` is off its most frequent value (the smallest of them on a tie), with both columns coded
  afresh on those rows. On the rank scale a zero-inflated count's variance is mostly its zero / non-zero
  split, so a count that only shares that split would otherwise pass as a stand-in; the second part
  asks that the values off the mode be predicted too. An alternative with one value off its mode (a
  0 / 1 indicator) is constant there: that part is 1, and the split alone decides.

The figure is asymmetric: ``predictability(a, r)`` is how well r predicts a. Exact duplicates (ingest)
are 1 by definition, without estimation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

BINS = 20  # at most 127: groups are int8


@dataclass
class Coded:
    """One column on the two scales the figure uses: average ranks (NaN where missing) and groups (-1)."""

    ranks: np.ndarray  # float32 (half-integers exact below 8 million rows), NaN where missing
    groups: np.ndarray  # int8, -1 where missing
    n_groups: int
    mode_rank: float  # the rank of the most frequent value (the smallest on a tie); NaN when none


def code(values: np.ndarray, bins: int = BINS) -> Coded:
    """Ranks and groups of one column (NaN and +-inf are missing)."""
    x = np.asarray(values, dtype=np.float64)
    present = np.isfinite(x)
    ranks = np.full(x.shape, np.nan, dtype=np.float32)
    groups = np.full(x.shape, -1, dtype=np.int8)
    m = int(present.sum())
    if m == 0:
        return Coded(ranks, groups, 0, float("nan"))
    mean_rank, inverse, counts, n_groups, group_of = _rank_and_group(x[present], bins)
    ranks[present] = mean_rank[inverse]
    groups[present] = group_of
    return Coded(ranks, groups, n_groups, float(mean_rank[int(np.argmax(counts))]))


def _rank_and_group(x: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """Average rank of each distinct value, each row's distinct value, counts, and the groups of rows."""
    distinct, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based average rank of each distinct value
    if len(distinct) <= bins:
        return mean_rank, inverse, counts, len(distinct), inverse.astype(np.int8)
    group_of = np.minimum(bins - 1, np.floor(bins * (mean_rank[inverse] - 1.0) / len(x))).astype(np.int8)
    return mean_rank, inverse, counts, bins, group_of


def _epsilon2(a: np.ndarray, g: np.ndarray, n_groups: int) -> float:
    """Bias-adjusted share of the variance of ``a`` (float64) between the groups ``g`` (0..n_groups-1)."""
    n = len(a)
    if n < 2:
        return 0.0
    r = a - a.mean()
    total = float(r @ r)
    if total <= 0.0:
        return 1.0
    counts = np.bincount(g, minlength=n_groups)
    sums = np.bincount(g, weights=r, minlength=n_groups)
    filled = counts > 0
    filled_groups = int(filled.sum())
    if n <= filled_groups:
        return 0.0
    between = float((sums[filled] ** 2 / counts[filled]).sum())
    eta2 = min(1.0, between / total)
    return float(min(1.0, max(0.0, 1.0 - (1.0 - eta2) * (n - 1) / (n - filled_groups))))


def figure(alternative: Coded, representative: Coded, bins: int = BINS) -> float:
    """The share of ``alternative``'s rank variance explained by ``representative``'s groups (epsilon^2),
    the smaller of that on all joint rows and on the joint rows off the alternative's mode."""
    joint = (alternative.groups >= 0) & (representative.groups >= 0)
    whole = _epsilon2(alternative.ranks[joint].astype(np.float64),
                      representative.groups[joint].astype(np.intp), representative.n_groups)
    off = joint & (alternative.ranks != alternative.mode_rank)
    if whole == 0.0 or not off.any():
        return whole
    a_rank, a_inverse, _, _, _ = _rank_and_group(alternative.ranks[off], bins)
    _, _, _, n_groups, group_of = _rank_and_group(representative.ranks[off], bins)
    return min(whole, _epsilon2(a_rank[a_inverse], group_of.astype(np.intp), n_groups))


def predictability(alternative: np.ndarray, representative: np.ndarray, bins: int = BINS) -> float:
    """How well ``representative`` predicts ``alternative`` (both raw columns; NaN missing)."""
    return figure(code(alternative, bins), code(representative, bins), bins)


def pair_figures(X: np.ndarray, i: np.ndarray, j: np.ndarray, bins: int = BINS,
                 on_pair: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each pair (i[k], j[k]) of rows of ``X`` (columns x samples): (i from j, j from i).

    Each column is coded once (5 bytes a value) when a pair first needs it.
    """
    coded: dict[int, Coded] = {}

    def get(k: int) -> Coded:
        if k not in coded:
            coded[k] = code(X[k], bins)
        return coded[k]

    i_from_j = np.empty(len(i))
    j_from_i = np.empty(len(i))
    for k, (a, b) in enumerate(zip(np.asarray(i).tolist(), np.asarray(j).tolist())):
        ca, cb = get(a), get(b)
        i_from_j[k] = figure(ca, cb, bins)
        j_from_i[k] = figure(cb, ca, bins)
        if on_pair is not None:
            on_pair(1)
    return i_from_j, j_from_i


def column_figures(columns: Sequence[np.ndarray], representative: np.ndarray, bins: int = BINS) -> list[float]:
    """How well ``representative`` predicts each of ``columns``."""
    rep = code(representative, bins)
    return [figure(code(c, bins), rep, bins) for c in columns]
