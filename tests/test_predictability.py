"""The predictability figure against an independent computation (scipy ranks, pandas group means) and
on planted relationships: noiseless functions near 1, independent columns near 0, zero-inflated counts
that share no more than their zero / non-zero split refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from descriptor_pipeline.predictability import BINS, pair_figures, predictability


def epsilon2(alt: np.ndarray, rep: np.ndarray, bins: int, ranked: bool = False) -> float:
    """epsilon^2 of alt's average ranks (on the joint rows, unless ``ranked`` already) given rep's groups
    on the rows where both are present."""
    ok = np.isfinite(alt) & np.isfinite(rep)
    alt, rep = alt[ok], rep[ok]
    if len(alt) < 2:
        return 0.0
    a_rank = alt if ranked else rankdata(alt, method="average")
    if len(np.unique(rep)) <= bins:
        group = pd.Series(rep)
    else:
        group = pd.Series(np.floor(bins * (rankdata(rep, method="average") - 1) / len(rep))).clip(upper=bins - 1)
    frame = pd.DataFrame({"a": a_rank, "g": group})
    n, G = len(frame), frame["g"].nunique()
    total = ((frame["a"] - frame["a"].mean()) ** 2).sum()
    if total == 0:
        return 1.0
    if n <= G:
        return 0.0
    means = frame.groupby("g")["a"].agg(["mean", "size"])
    between = (means["size"] * (means["mean"] - frame["a"].mean()) ** 2).sum()
    return max(0.0, 1 - (1 - between / total) * (n - 1) / (n - G))


def reference(alt: np.ndarray, rep: np.ndarray, bins: int = BINS) -> float:
    """The smaller of epsilon^2 on all rows (rep grouped on all its present values) and on the rows off
    alt's most frequent value (both re-coded there), from scipy and pandas."""
    a_ok, r_ok = np.isfinite(alt), np.isfinite(rep)
    if len(np.unique(rep[r_ok])) <= bins:
        group = np.where(r_ok, rep, np.nan)
    else:
        r_rank = np.full(len(rep), np.nan)
        r_rank[r_ok] = rankdata(rep[r_ok], method="average")
        group = np.minimum(bins - 1, np.floor(bins * (r_rank - 1) / r_ok.sum()))
    # Both ranked and grouped on all their present values, then taken on the joint rows.
    a_rank = np.full(len(alt), np.nan)
    a_rank[a_ok] = rankdata(alt[a_ok], method="average")
    whole = epsilon2(a_rank, group, bins, ranked=True)
    counts = pd.Series(alt[a_ok]).value_counts()
    mode = counts[counts == counts.max()].index.min()
    off = a_ok & r_ok & (alt != mode)
    if whole == 0.0 or not off.any():
        return whole
    return min(whole, epsilon2(alt[off], rep[off], bins))


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


def test_zero_inflated_counts_that_share_only_their_zero_split_are_refused():
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
    a, b = count(same), count(same)
    # The same zero / non-zero split is most of a zero-inflated count's rank variance (epsilon^2 on all
    # rows is 0.99), but the values off zero are independent: not a stand-in.
    assert max(predictability(a, b), predictability(b, a)) < 0.05
    # A count whose non-zero values follow its stand-in's is one, and so is a 0 / 1 indicator of the split.
    assert predictability(2 * b + 1 * (b > 0), b) > 0.99
    assert predictability((b > 0).astype(float), b) > 0.99


def test_the_part_off_the_mode_is_coded_afresh():
    rng = np.random.default_rng(8)
    n = 3000
    x = rng.normal(size=n)
    alt = np.where(x < 0.5, 0.0, np.round(10 * x))  # 70 % at its mode, 0
    rep = x + rng.normal(scale=0.05, size=n)
    assert predictability(alt, rep) == pytest.approx(reference(alt, rep), abs=1e-9)
    assert predictability(alt, rep) > 0.9  # rep's 20 bins re-drawn on the 30 % off the mode


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


def test_pair_figures_do_not_depend_on_the_order_of_the_pairs():
    """Columns are let go after their last pair: any order, and pairs repeated, give the same figures."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=1500)
    X = np.stack([x, np.round(x * 2), with_missing(np.exp(x), rng, 0.1), rng.normal(size=1500),
                  np.where(x > 1, np.round(5 * x), 0.0)])
    i, j = np.array([0, 0, 1, 2, 3, 0, 4, 2]), np.array([1, 2, 3, 4, 4, 4, 1, 0])
    expected = [(predictability(X[a], X[b]), predictability(X[b], X[a])) for a, b in zip(i, j)]
    for order in (np.arange(len(i)), np.arange(len(i))[::-1], rng.permutation(len(i))):
        i_from_j, j_from_i = pair_figures(X, i[order], j[order])
        assert list(zip(i_from_j, j_from_i)) == [expected[k] for k in order]


def test_end_to_end_figure_of_an_exact_copy_of_the_survivor_is_one(tmp_path):
    """A copy of the survivor is 1 by definition, also where estimating it could not tell (a count non-zero
    on one row: Mordred's nI / NsI on 220 molecules); another alternative gets its estimated figure."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from descriptor_pipeline.layout import StageFiles
    from descriptor_pipeline.lineage import end_to_end_figures

    sample = StageFiles(tmp_path).sample  # the ingest sample the figures are estimated on
    rng = np.random.default_rng(2)
    rare = np.zeros(220)
    rare[17] = 1.0
    x = rng.normal(size=220)
    pq.write_table(pa.table({"rare": rare, "x": x, "y": x + rng.normal(scale=0.3, size=220)}), sample)
    assert predictability(rare, rare) == 0.0  # one row off the mode: nothing can be told
    figures = end_to_end_figures(sample, {"rare": ["rare_copy"], "x": ["x_copy", "y"]},
                                 {"rare_copy": "rare", "x_copy": "x"})
    assert figures == {("rare", "rare_copy"): 1.0, ("x", "x_copy"): 1.0, ("x", "y"): predictability(
        pq.read_table(sample)["y"].to_numpy(), x)}


def test_pairs_of_increasing_copies_give_the_figure_computed_directly(monkeypatch):
    """Rescaled and increasing copies share their codes: their figure comes from the class (the column
    predicting itself) and equals the direct computation in both directions; a decreasing copy, a copy
    with other missing rows and an unrelated column are computed pair by pair."""
    import descriptor_pipeline.predictability as module

    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=500)
    x[rng.choice(500, 40, replace=False)] = np.nan
    counts = rng.poisson(3, 500).astype(float)
    other_missing = 3.0 * x
    other_missing[np.flatnonzero(np.isfinite(x))[:5]] = np.nan
    X = np.stack([x, 7.0 * x, np.exp(x), -x, other_missing, rng.normal(size=500), counts, 2.5 * counts + 1])
    i = np.array([0, 0, 1, 0, 0, 0, 6])
    j = np.array([1, 2, 2, 3, 4, 5, 7])
    calls = []
    real = module.figure
    monkeypatch.setattr(module, "figure", lambda a, r, bins=BINS: calls.append(1) or real(a, r, bins))
    i_from_j, j_from_i = pair_figures(X, i, j)
    assert len(calls) == 2 + 2 * 3  # one per class of copies (x, 7x, exp x; counts, 2.5 counts + 1), two per other pair
    for k in range(len(i)):
        assert i_from_j[k] == predictability(X[i[k]], X[j[k]]) and j_from_i[k] == predictability(X[j[k]], X[i[k]]), k
    assert i_from_j[0] < 1.0 and i_from_j[6] == 1.0  # 20 quantile bins lose a little; 20 values or fewer, none
