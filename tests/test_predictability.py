"""The predictability figure against an independent computation (scipy ranks, pandas group means) and
on planted relationships: noiseless functions near 1, independent columns near 0, zero-inflated counts
that are non-zero on unrelated rows refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from descriptor_pipeline.predictability import BINS, pair_figures, predictability


def reference(alt: np.ndarray, rep: np.ndarray, bins: int = BINS) -> float:
    """epsilon^2 of alt's average ranks given rep's groups, from scipy and pandas."""
    a_ok, r_ok = np.isfinite(alt), np.isfinite(rep)
    a_rank = np.full(len(alt), np.nan)
    a_rank[a_ok] = rankdata(alt[a_ok], method="average")
    r_rank = np.full(len(rep), np.nan)
    r_rank[r_ok] = rankdata(rep[r_ok], method="average")
    if len(np.unique(rep[r_ok])) <= bins:
        group = pd.Series(rep).where(r_ok)
    else:
        group = pd.Series(np.floor(bins * (r_rank - 1) / r_ok.sum())).clip(upper=bins - 1)
    frame = pd.DataFrame({"a": a_rank, "g": group})[a_ok & r_ok]
    n, G = len(frame), frame["g"].nunique()
    total = ((frame["a"] - frame["a"].mean()) ** 2).sum()
    means = frame.groupby("g")["a"].agg(["mean", "size"])
    between = (means["size"] * (means["mean"] - frame["a"].mean()) ** 2).sum()
    eta2 = between / total
    return max(0.0, 1 - (1 - eta2) * (n - 1) / (n - G))


def with_missing(x: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    x = x.astype(float).copy()
    x[rng.random(len(x)) < share] = np.nan
    return x


@pytest.mark.parametrize("seed", range(6))
def test_equals_the_scipy_pandas_reference(seed):
    rng = np.random.default_rng(seed)
    n = 700
    x = rng.normal(size=n)
    cases = [
        (x + rng.normal(scale=0.5, size=n), x),                       # continuous, > 20 values
        (np.round(x * 2), x),                                          # ties in the alternative
        (x, rng.integers(0, 7, n).astype(float)),                      # few values: one group each
        (with_missing(x ** 2, rng, 0.13), with_missing(x, rng, 0.2)),  # missing on both sides
        (np.exp(5 * x), rng.integers(0, 21, n).astype(float)),         # 21 values: quantile bins, ties kept
    ]
    for alt, rep in cases:
        assert predictability(alt, rep) == pytest.approx(reference(alt, rep), abs=1e-9)


def test_noiseless_functions_are_predicted_and_independent_columns_are_not():
    rng = np.random.default_rng(3)
    n = 5000
    x = rng.uniform(-1, 1, n)
    for alt in (x ** 3, np.exp(3 * x)):  # strictly monotone: 1 - 1/400 (what is left inside 20 bins)
        assert predictability(alt, x) == pytest.approx(1 - 1 / BINS**2, abs=0.001)
    for alt in (x ** 2, np.sin(3 * x), np.round(4 * x)):
        assert predictability(alt, x) > 0.98
    assert predictability(x, x ** 2) < 0.01  # x^2 does not tell the sign: one way only
    figures = [predictability(rng.normal(size=n), rng.normal(size=n)) for _ in range(20)]
    assert abs(np.mean(figures)) < 0.003 and max(figures) < 0.01  # the bias (G-1)/(n-1) = 0.0038 is gone


def test_zero_inflated_counts_on_unrelated_rows_are_refused_and_on_the_same_rows_are_not():
    rng = np.random.default_rng(5)
    n = 5000

    def count(rows: np.ndarray) -> np.ndarray:
        c = np.zeros(n)
        c[rows] = rng.integers(1, 4, rows.sum())
        return c

    a = count(rng.random(n) < 0.1)
    b = count(rng.random(n) < 0.1)
    assert max(predictability(a, b), predictability(b, a)) < 0.05
    same = rng.random(n) < 0.1
    # The same zero / non-zero split is most of a zero-inflated count's rank variance: a stand-in.
    assert predictability(count(same), count(same)) > 0.9


def test_edge_cases_are_defined():
    assert predictability(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])) == 1.0  # constant: exact
    assert predictability(np.array([1.0, np.nan]), np.array([np.nan, 2.0])) == 0.0      # no joint row
    assert predictability(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 0.0  # one row per group


def test_pair_figures_gives_both_directions():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 2000)
    X = np.stack([x, x ** 2, rng.normal(size=2000)])
    i_from_j, j_from_i = pair_figures(X, np.array([0, 1]), np.array([1, 2]))
    assert i_from_j[0] == predictability(x, x ** 2) and j_from_i[0] == predictability(x ** 2, x)
    assert i_from_j[1] == predictability(X[1], X[2]) and j_from_i[1] == predictability(X[2], X[1])
