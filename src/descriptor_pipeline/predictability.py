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

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

BINS = 20  # at most 127: groups are int8


@dataclass
class Coded:
    """One column on the two scales the figure uses: its distinct values (codes) and its groups.

    The rank of a present value is ``mean_rank[code]``; ranking a subset of the rows needs only a count
    of the codes there, not a sort.
    """

    codes: np.ndarray  # int32: index of the value among the column's sorted distinct values; -1 where missing
    mean_rank: np.ndarray  # float32 (half-integers exact below 8 million rows): average rank of each distinct value
    groups: np.ndarray  # int8, -1 where missing
    n_groups: int
    mode_code: int  # the code of the most frequent value (the smallest on a tie); -1 when none


def code(values: np.ndarray, bins: int = BINS) -> Coded:
    """Codes, ranks and groups of one column (NaN and +-inf are missing)."""
    x = np.asarray(values, dtype=np.float64)
    present = np.isfinite(x)
    codes = np.full(x.shape, -1, dtype=np.int32)
    groups = np.full(x.shape, -1, dtype=np.int8)
    if not present.any():
        return Coded(codes, np.zeros(0, dtype=np.float32), groups, 0, -1)
    _, inverse, counts = np.unique(x[present], return_inverse=True, return_counts=True)
    codes[present] = inverse
    mean_rank, n_groups, group_of = _rank_and_group(inverse, counts, bins)
    groups[present] = group_of
    return Coded(codes, mean_rank.astype(np.float32), groups, n_groups, int(np.argmax(counts)))


def _rank_and_group(codes: np.ndarray, counts: np.ndarray, bins: int) -> tuple[np.ndarray, int, np.ndarray]:
    """For rows whose values are ``codes`` (indices of sorted distinct values, ``counts[c]`` rows each):
    the average rank of each distinct value (1-based; unused where the count is 0) and each row's group."""
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    held = counts > 0
    if int(held.sum()) <= bins:
        return mean_rank, int(held.sum()), (np.cumsum(held) - 1).astype(np.int8)[codes]
    group_of = np.minimum(bins - 1, np.floor(bins * (mean_rank[codes] - 1.0) / len(codes))).astype(np.int8)
    return mean_rank, bins, group_of


def _recode(column: Coded, rows: np.ndarray, bins: int) -> tuple[np.ndarray, int, np.ndarray]:
    """The column coded afresh on ``rows`` (a mask of present rows): ranks, number of groups, groups."""
    codes = column.codes[rows]
    mean_rank, n_groups, group_of = _rank_and_group(codes, np.bincount(codes, minlength=len(column.mean_rank)), bins)
    return mean_rank[codes], n_groups, group_of


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
    joint = (alternative.codes >= 0) & (representative.codes >= 0)
    a_codes = alternative.codes[joint]
    whole = _epsilon2(alternative.mean_rank[a_codes].astype(np.float64),
                      representative.groups[joint].astype(np.intp), representative.n_groups)
    off = joint & (alternative.codes != alternative.mode_code)
    if whole == 0.0 or not off.any():
        return whole
    a_rank, _, _ = _recode(alternative, off, bins)
    _, n_groups, group_of = _recode(representative, off, bins)
    return min(whole, _epsilon2(a_rank, group_of.astype(np.intp), n_groups))


def predictability(alternative: np.ndarray, representative: np.ndarray, bins: int = BINS) -> float:
    """How well ``representative`` predicts ``alternative`` (both raw columns; NaN missing)."""
    return figure(code(alternative, bins), code(representative, bins), bins)


def pair_figures(X: np.ndarray, i: np.ndarray, j: np.ndarray, bins: int = BINS,
                 on_pair: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each pair (i[k], j[k]) of rows of ``X`` (columns x samples): (i from j, j from i).

    Each column is coded once (at most 9 bytes a value) when a pair first needs it, and let go after the
    last pair that needs it: with the pairs in order (the edges are sorted), few are held at a time.
    Two columns with the same codes (the same missing rows and the same order of values: one an increasing
    function of the other, e.g. a rescaled copy) have the same ranks, groups and mode, so each predicts the
    other exactly as well as the column predicts itself: that figure is computed once per such class, and
    a pair inside a class costs a comparison of the codes.
    """
    pairs = list(zip(np.asarray(i).tolist(), np.asarray(j).tolist()))
    last_use = {column: k for k, pair in enumerate(pairs) for column in pair}
    coded: dict[int, Coded] = {}
    digest: dict[int, bytes] = {}
    itself: dict[bytes, float] = {}  # a class of identical codes -> how well a member predicts itself
    i_from_j = np.empty(len(pairs))
    j_from_i = np.empty(len(pairs))
    for k, (a, b) in enumerate(pairs):
        for column in (a, b):
            if column not in coded:
                coded[column] = code(X[column], bins)
                digest.setdefault(column, hashlib.blake2b(coded[column].codes.tobytes(), digest_size=16).digest())
        if digest[a] == digest[b] and np.array_equal(coded[a].codes, coded[b].codes):
            if digest[a] not in itself:
                itself[digest[a]] = figure(coded[a], coded[a], bins)
            i_from_j[k] = j_from_i[k] = itself[digest[a]]
        else:
            i_from_j[k] = figure(coded[a], coded[b], bins)
            j_from_i[k] = figure(coded[b], coded[a], bins)
        for column in (a, b):
            if last_use[column] == k:
                coded.pop(column, None)
        if on_pair is not None:
            on_pair(1)
    return i_from_j, j_from_i


def column_figures(columns: Sequence[np.ndarray], representative: np.ndarray, bins: int = BINS) -> list[float]:
    """How well ``representative`` predicts each of ``columns``."""
    rep = code(representative, bins)
    return [figure(code(c, bins), rep, bins) for c in columns]
