"""The median heuristic of HSIC's kernel bandwidths, exact, per column (``median_bandwidth``) and batched
(``median_bandwidths``, what HSIC's fit runs).
"""

from __future__ import annotations

import math

import numpy as np


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

    Derivation: docs/dependence-engine.md#_pair_distance. Its random pivots serve only the reference
    ``median_bandwidth`` (the pipeline's rows with under 3 values never draw one).
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


def median_bandwidth(x: np.ndarray, max_points: int = 1000) -> float:
    """Median heuristic: the median |x_a - x_b| over pairs a < b of the first ``max_points`` present values.

    Exact (the value the full distance matrix gives) in O(m log m). Falls back to the standard
    deviation, then 1.0, when the median distance is 0. The reference the tests hold ``median_bandwidths``
    to; the pipeline runs it only on the rows ``median_bandwidths`` leaves out (under 3 values, or none
    nonzero and finite).
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
    """``median_bandwidth`` of every row of ``X`` (columns, rows), bit for bit, batched by the number of values.

    Derivation and timings: docs/dependence-engine.md#median_bandwidths
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
