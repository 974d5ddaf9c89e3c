"""The block engine and the three dependence measures (the dependence package) against independent references.

References are written here from the definitions: scipy.stats.spearmanr / rankdata for Spearman and
ranks, the exact Gram-matrix normalized HSIC, and the RDC algorithm of Lopez-Paz, Hennig & Schoelkopf
(NIPS 2013) computed pair by pair with NumPy's SVD.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from descriptor_pipeline import dependence
from descriptor_pipeline.backend import cupy_usable, get_namespace, to_numpy
from descriptor_pipeline.dependence import _engine, _features
from descriptor_pipeline.dependence import (
    HIST_EDGES,
    HSIC,
    RDC,
    EdgeResult,
    Spearman,
    all_pairs,
    average_ranks,
    block_starts,
    median_bandwidth,
    segment_blocks,
    segment_sums,
)

BACKENDS = [
    "numpy",
    "array_api_strict",
    pytest.param(
        "cupy",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not cupy_usable(), reason="needs CuPy and a CUDA device (cupy_usable() is False here)"),
        ],
    ),
]


@pytest.fixture(params=BACKENDS)
def xp(request: pytest.FixtureRequest):
    return get_namespace(request.param)


# ---- helpers and references ---------------------------------------------------------------------


def full_matrix(result: EdgeResult, p: int) -> np.ndarray:
    """Symmetric (p, p) similarity matrix from a threshold-0 EdgeResult; NaN on the diagonal.

    Also checks the edge list itself: pairs i < j, each pair exactly once, all p (p - 1) / 2 of them.
    """
    assert np.all(result.i < result.j)
    assert len(result.i) == p * (p - 1) // 2
    assert len(set(zip(result.i.tolist(), result.j.tolist()))) == len(result.i)
    S = np.full((p, p), np.nan)
    S[result.i, result.j] = result.similarity
    S[result.j, result.i] = result.similarity
    return S


def similarities(X: np.ndarray, measure, xp, dtype: str = "float64", **kwargs) -> np.ndarray:
    return full_matrix(all_pairs(X, measure, 0.0, xp, dtype, **kwargs), X.shape[0])


def assert_offdiag_close(S: np.ndarray, R: np.ndarray, atol: float) -> None:
    off = ~np.eye(S.shape[0], dtype=bool)
    err = np.abs(S - R)[off]
    assert np.all(np.isfinite(S[off]))
    assert err.max() <= atol, f"max |difference| {err.max():.3g} > {atol:.3g}"


def scipy_abs_spearman(X: np.ndarray) -> np.ndarray:
    """|rho| of all pairs of rows of X (columns, rows) with scipy."""
    rho = scipy.stats.spearmanr(X.T).statistic
    return np.abs(np.asarray(rho, dtype=np.float64))


def spearman_missing_reference(x: np.ndarray, y: np.ndarray) -> float:
    """The documented missing-value rule for Spearman, pair by pair.

    Each column is ranked over its own present values (average ranks), centered by (n_present + 1) / 2,
    and set to 0 where missing; the similarity is |cosine| of the two vectors.
    """

    def centered(v: np.ndarray) -> np.ndarray:
        present = ~np.isnan(v)
        out = np.zeros(v.shape)
        out[present] = scipy.stats.rankdata(v[present], method="average") - (present.sum() + 1) / 2.0
        return out

    cx, cy = centered(x), centered(y)
    denom = np.linalg.norm(cx) * np.linalg.norm(cy)
    return 0.0 if denom == 0 else abs(float(cx @ cy) / denom)


def exact_hsic_gram(x: np.ndarray) -> np.ndarray:
    """H K H for the Gaussian kernel K_ab = exp(-(x_a - x_b)^2 / (2 sigma^2)), sigma = median |x_a - x_b|, a < b."""
    n = len(x)
    dist = np.abs(x[:, None] - x[None, :])
    sigma = np.median(dist[np.triu_indices(n, k=1)])
    K = np.exp(-(dist**2) / (2.0 * sigma**2))
    H = np.eye(n) - np.full((n, n), 1.0 / n)
    return H @ K @ H


def exact_normalized_hsic(Kc: np.ndarray, Lc: np.ndarray) -> float:
    """HSIC(x, y) / sqrt(HSIC(x, x) HSIC(y, y)) with HSIC = trace(K H L H) / n^2 (centered Grams given)."""
    n = Kc.shape[0]

    def hsic(A: np.ndarray, B: np.ndarray) -> float:
        return float(np.sum(A * B)) / n**2  # trace(A B) for symmetric A, B

    return hsic(Kc, Lc) / np.sqrt(hsic(Kc, Kc) * hsic(Lc, Lc))


def rff_hsic_reference(x: np.ndarray, y: np.ndarray, omega: np.ndarray, phase: np.ndarray) -> float:
    """The random-Fourier-feature estimator written out for one pair, with the documented missing-value rule.

    phi(v) = sqrt(2/D) cos(omega v / sigma + b) (sigma: median |v_a - v_b| over present values), centered over
    the present rows, 0 at missing rows; similarity ||C_xy||_F^2 / (||C_xx||_F ||C_yy||_F), C = Phi_x^T Phi_y.
    """

    def phi(v: np.ndarray) -> np.ndarray:
        present = ~np.isnan(v)
        vals = v[present]
        sigma = np.median(np.abs(vals[:, None] - vals[None, :])[np.triu_indices(vals.size, k=1)])
        F = np.zeros((v.size, omega.size))
        F[present] = np.sqrt(2.0 / omega.size) * np.cos(np.outer(vals / sigma, omega) + phase)
        F[present] -= F[present].mean(axis=0)
        return F

    Fx, Fy = phi(x), phi(y)
    fro = lambda A: np.linalg.norm(A, "fro")  # noqa: E731
    return fro(Fx.T @ Fy) ** 2 / (fro(Fx.T @ Fx) * fro(Fy.T @ Fy))


def rdc_basis(v: np.ndarray, weights: np.ndarray, s: float, rank_tol: float) -> np.ndarray:
    """Orthonormal basis (rows, r) of one column's centered RDC features (paper's algorithm, one column).

    Copula u = rank / n over the present values, features sin(s (u w0 + w1)), centered over the present
    rows, 0 at missing rows; directions with singular value <= rank_tol * the largest are cut.
    """
    present = ~np.isnan(v)
    u = scipy.stats.rankdata(v[present], method="average") / present.sum()
    F = np.zeros((v.size, weights.shape[1]))
    F[present] = np.sin(s * (np.outer(u, weights[0]) + weights[1]))
    F[present] -= F[present].mean(axis=0)
    U, sv, _ = np.linalg.svd(F, full_matrices=False)
    return U[:, sv > rank_tol * sv[0]]


def rdc_reference(X: np.ndarray, measure: RDC) -> np.ndarray:
    """Largest canonical correlation of every pair: top singular value of Q_x^T Q_y."""
    bases = [rdc_basis(v, measure.weights, measure.s, measure.rank_tol) for v in X]
    p = len(bases)
    R = np.full((p, p), np.nan)
    for a in range(p):
        for b in range(a + 1, p):
            R[a, b] = R[b, a] = np.linalg.svd(bases[a].T @ bases[b], compute_uv=False)[0]
    return R


def tied_data(n: int, seed: int) -> np.ndarray:
    """(columns, rows) with heavy ties: rounded values, integer counts, binary, plus exact/monotone copies."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    cols = [
        z,
        np.round(z, 1),                      # many ties
        np.round(z),                         # about 7 distinct values
        rng.poisson(2.0, n).astype(float),   # integer counts
        rng.integers(0, 2, n).astype(float),  # binary
        np.exp(z),                           # monotone copy of z: |rho| = 1
        -z**3,                               # decreasing copy: |rho| = 1
        rng.standard_normal(n),
        np.round(rng.uniform(0, 5, n)),
        z + rng.standard_normal(n),
        rng.poisson(0.3, n).astype(float),   # mostly zeros
    ]
    return np.vstack(cols)


def with_missing(X: np.ndarray, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = X.copy()
    X[rng.random(X.shape) < rate] = np.nan
    return X


# ---- Spearman -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, atol", [("float64", 1e-9), ("float32", 1e-5)])
def test_spearman_equals_scipy_with_ties(xp, dtype: str, atol: float) -> None:
    X = tied_data(300, seed=1)
    S = similarities(X, Spearman(), xp, dtype)
    assert_offdiag_close(S, scipy_abs_spearman(X), atol)


def test_spearman_several_blocks_equal_one_block(xp, monkeypatch: pytest.MonkeyPatch) -> None:
    X = np.vstack([tied_data(120, seed=s) for s in range(3)])  # 33 columns
    single = all_pairs(X, Spearman(), 0.0, xp, "float64")
    assert single.n_blocks == 1
    monkeypatch.setattr(_engine, "block_rows", lambda itemsize, mb: 4)  # width 1: 4 columns a block
    multi = all_pairs(X, Spearman(), 0.0, xp, "float64")
    assert multi.block_columns == 4 and multi.n_blocks == 9 * 10 // 2  # ceil(33 / 4) = 9 blocks
    p = X.shape[0]
    S1, S2 = full_matrix(single, p), full_matrix(multi, p)
    assert_offdiag_close(S2, S1, 1e-12)
    assert_offdiag_close(S2, scipy_abs_spearman(X), 1e-9)


@pytest.mark.parametrize("dtype, atol", [("float64", 1e-9), ("float32", 1e-5)])
def test_spearman_real_block_budget_splits_columns(dtype: str, atol: float) -> None:
    """block_memory_mb=16 (the schema minimum) with 1,300 columns: more than one block, same as scipy."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((10, 40))
    X = np.vstack([np.round(base[k % 10] + 0.3 * rng.standard_normal(40), 1) for k in range(1300)])
    result = all_pairs(X, Spearman(), 0.0, np, dtype, block_memory_mb=16)
    assert result.block_columns < X.shape[0]
    assert result.n_blocks >= 3
    assert_offdiag_close(full_matrix(result, X.shape[0]), scipy_abs_spearman(X), atol)


def test_spearman_missing_values_rule(xp) -> None:
    X = with_missing(tied_data(200, seed=4), 0.15, seed=5)
    S = similarities(X, Spearman(), xp)
    p = X.shape[0]
    R = np.full((p, p), np.nan)
    for a in range(p):
        for b in range(a + 1, p):
            R[a, b] = R[b, a] = spearman_missing_reference(X[a], X[b])
    assert_offdiag_close(S, R, 1e-9)


def test_spearman_same_missing_rows_equals_complete_rows(xp) -> None:
    X = tied_data(250, seed=6)
    drop = np.random.default_rng(7).random(X.shape[1]) < 0.2
    Xm = X.copy()
    Xm[:, drop] = np.nan
    S = similarities(Xm, Spearman(), xp)
    assert_offdiag_close(S, scipy_abs_spearman(X[:, ~drop]), 1e-9)


@pytest.mark.parametrize("measure_factory", [Spearman, lambda: HSIC(seed=11), lambda: RDC(seed=11)], ids=["spearman", "hsic", "rdc"])
def test_same_missing_rows_equals_measure_on_complete_rows(measure_factory: Callable, xp) -> None:
    """Docstring rule: with the same missing rows everywhere, every measure equals itself on the complete rows."""
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, 300)
    X = np.vstack([x, x**2, np.sin(np.pi * x) + 0.2 * rng.standard_normal(300), rng.standard_normal(300), np.round(x, 1)])
    drop = rng.random(300) < 0.25
    Xm = X.copy()
    Xm[:, drop] = np.nan
    S_missing = similarities(Xm, measure_factory(), xp)
    S_complete = similarities(X[:, ~drop], measure_factory(), xp)
    assert_offdiag_close(S_missing, S_complete, 1e-9)


def test_constant_and_all_missing_columns_give_zero(xp) -> None:
    """A column without variation carries no information: similarity exactly 0 with every column.

    Several different constants (one with missing values) and an all-missing column, so that a measure
    that turns rounding noise into features would link the degenerate columns to each other.
    """
    rng = np.random.default_rng(9)
    n = 400
    constants = [np.full(n, c) for c in (3.0, 0.1, 7.3, np.pi, -2.2)]
    constants[1][::7] = np.nan
    X = np.vstack([rng.standard_normal(n), *constants, np.full(n, np.nan), rng.uniform(size=n)])
    degenerate = list(range(1, 7))
    for measure in (Spearman(), HSIC(seed=1), RDC(seed=1)):
        S = similarities(X, measure, xp)
        for k in degenerate:
            others = [c for c in range(X.shape[0]) if c != k]
            assert np.all(S[k, others] == 0.0), (measure.name, k, S[k, others])


# ---- thresholds, blocks and the histogram (all measures) -----------------------------------------


MEASURES = {
    "spearman": Spearman,
    "hsic": lambda: HSIC(seed=5),
    "rdc": lambda: RDC(seed=5),
}


def planted_mix(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = []
    for _ in range(4):
        x = rng.uniform(-1, 1, n)
        cols += [x, np.exp(x), x**2, np.sin(np.pi * x), x + 0.3 * rng.standard_normal(n)]
    cols += [rng.standard_normal(n) for _ in range(4)]
    return with_missing(np.vstack(cols), 0.05, seed + 1)


@pytest.mark.parametrize("name", list(MEASURES))
def test_threshold_keeps_exactly_the_pairs_at_or_above(name: str, xp) -> None:
    X = planted_mix(300, seed=12)
    p = X.shape[0]
    S = similarities(X, MEASURES[name](), xp)
    iu = np.triu_indices(p, k=1)
    for threshold in (0.3, 0.7, 0.9):
        result = all_pairs(X, MEASURES[name](), threshold, xp, "float64")
        expected = {(a, b) for a, b in zip(*iu) if S[a, b] >= threshold}
        got = dict(zip(zip(result.i.tolist(), result.j.tolist()), result.similarity.tolist()))
        assert set(got) == expected
        assert all(abs(s - S[a, b]) <= 1e-12 for (a, b), s in got.items())


@pytest.mark.parametrize("name", list(MEASURES))
def test_one_column_blocks_without_cache_equal_one_block(name: str, xp) -> None:
    """block_memory_mb=0 gives one-column blocks and disables the feature cache (features recomputed)."""
    X = planted_mix(200, seed=13)[:12]
    p = X.shape[0]
    one = all_pairs(X, MEASURES[name](), 0.0, xp, "float64")
    tiny = all_pairs(X, MEASURES[name](), 0.0, xp, "float64", block_memory_mb=0)
    assert one.n_blocks == 1
    assert tiny.block_columns == 1 and tiny.n_blocks == p * (p + 1) // 2
    assert_offdiag_close(full_matrix(tiny, p), full_matrix(one, p), 1e-12)


def test_segment_sums_and_blocks_against_loops(xp) -> None:
    """Per-column widths: the block sums and the gathered (zero-padded) sub-blocks equal plain slicing."""
    rng = np.random.default_rng(40)
    rows, cols = np.array([3, 1, 4, 2]), np.array([2, 5, 1])
    A = rng.standard_normal((rows.sum(), cols.sum()))
    oi, oj = np.r_[0, np.cumsum(rows)], np.r_[0, np.cumsum(cols)]
    expected = np.array([[A[oi[a] : oi[a + 1], oj[b] : oj[b + 1]].sum() for b in range(3)] for a in range(4)])
    got = np.asarray(segment_sums(xp, xp.asarray(A), rows, cols))
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)
    pairs = np.array([0, 4, 11, 7])  # flat positions a * 3 + b
    blocks = np.asarray(segment_blocks(xp, xp.asarray(A), rows, cols, pairs))
    assert blocks.shape == (4, 4, 5)
    for k, flat in enumerate(pairs):
        a, b = divmod(int(flat), 3)
        sub = A[oi[a] : oi[a + 1], oj[b] : oj[b + 1]]
        assert np.array_equal(blocks[k, : sub.shape[0], : sub.shape[1]], sub)
        assert not blocks[k, sub.shape[0] :, :].any() and not blocks[k, :, sub.shape[1] :].any()


def test_block_starts_cut_by_summed_widths() -> None:
    assert block_starts(np.array([3, 3, 3, 3]), 6) == [0, 2]
    assert block_starts(np.array([5, 2, 9, 1, 1]), 7) == [0, 2, 3]  # a column wider than a block: alone
    assert block_starts(np.array([1, 1, 1]), 0) == [0, 1, 2]
    assert block_starts(np.array([], dtype=np.int64), 10) == []


def histogram_reference(values: np.ndarray) -> list[int]:
    """Counts per bin [edge_k, edge_k+1), the last bin open above."""
    edges = np.asarray(HIST_EDGES)
    return [int(np.sum((values >= lo) & (values < hi))) for lo, hi in zip(edges, [*edges[1:], np.inf])]


@pytest.mark.parametrize("name", list(MEASURES))
def test_histogram_counts_pairs(name: str) -> None:
    X = planted_mix(300, seed=14)
    p = X.shape[0]
    S = similarities(X, MEASURES[name](), np)
    values = S[np.triu_indices(p, k=1)]
    assert all_pairs(X, MEASURES[name](), 0.0, np, "float64").hist_counts == histogram_reference(values)
    threshold = 0.7
    result = all_pairs(X, MEASURES[name](), threshold, np, "float64")
    hist = result.hist_counts
    assert sum(hist) == p * (p - 1) // 2
    reference = histogram_reference(values)
    at_or_above = [k for k, edge in enumerate(HIST_EDGES) if edge >= threshold]
    assert [hist[k] for k in at_or_above] == [reference[k] for k in at_or_above]
    if name == "spearman":
        assert result.histogram_values == "exact"
    if result.histogram_values == "exact":
        assert hist == reference
    else:  # RDC (Frobenius) and the HSIC screen report an upper bound for pairs they rule out below the threshold
        assert name in ("rdc", "hsic") and "upper bound" in result.histogram_values
        assert all(sum(hist[k:]) >= sum(reference[k:]) for k in range(len(hist)))
        assert hist != reference  # the bounds are not the values (else this branch tests nothing)


# ---- HSIC ---------------------------------------------------------------------------------------


def hsic_relationships(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    ys = {
        "independent": rng.uniform(-1, 1, n),
        "linear+noise": x + 0.5 * rng.standard_normal(n),
        "x^2": x**2,
        "sin": np.sin(np.pi * x),
    }
    return np.vstack([x, *ys.values()]), list(ys)


def hsic_errors(n_features: int, seeds: range, n: int = 400) -> list[tuple[float, int, str, float]]:
    out = []
    for seed in seeds:
        X, labels = hsic_relationships(n, seed)
        S = similarities(X, HSIC(n_features=n_features, seed=seed), np)
        Kx = exact_hsic_gram(X[0])
        for k, label in enumerate(labels, start=1):
            exact = exact_normalized_hsic(Kx, exact_hsic_gram(X[k]))
            out.append((abs(S[0, k] - exact), seed, label, exact))
    return out


@pytest.mark.parametrize("m", [2, 3, 4, 5, 10, 11, 999, 1000, 1400])
def test_median_bandwidth_is_median_of_pair_distances(m: int) -> None:
    """The O(m log m) selection equals np.median over the upper triangle of the full distance matrix,
    bit for bit (odd and even pair counts, ties, few distinct values, heavy tails, missing values, the
    max_points cut); a zero median falls back to the standard deviation."""
    rng = np.random.default_rng(m)
    cases = (
        rng.standard_normal(m),
        np.round(rng.standard_normal(m) * 2),
        rng.integers(0, 3, m).astype(float),
        np.exp(rng.standard_normal(m) * 30),  # values spread over many orders of magnitude
        np.where(rng.random(m) < 0.2, np.nan, rng.standard_normal(m)),
    )
    for x in cases:
        v = x[~np.isnan(x)][:1000]
        if v.size < 2:
            continue
        expected = np.median(np.abs(v[:, None] - v[None, :])[np.triu_indices(v.size, k=1)])
        if expected == 0:
            expected = np.std(v) if np.std(v) > 0 else 1.0
        assert median_bandwidth(x) == expected
    assert median_bandwidth(np.r_[np.zeros(9), 3.0]) == np.std(np.r_[np.zeros(9), 3.0])
    assert median_bandwidth(np.full(5, 2.0)) == 1.0


def test_median_bandwidths_equal_the_per_column_selection_bit_for_bit() -> None:
    """The batched selection gives median_bandwidth of every row, exactly: odd and even pair counts (m up
    to the max_points cut), ties, few distinct values, values over 60 orders of magnitude (where any
    rounded shortcut misplaces pairs), missing values, constant, empty and one-value rows."""
    rng = np.random.default_rng(51)
    rows = []
    for n in (3, 4, 7, 40, 999, 1000, 1500):
        rows += [rng.standard_normal(n), np.round(rng.standard_normal(n) * 2), rng.integers(0, 3, n).astype(float),
                 np.exp(rng.standard_normal(n) * 30), np.where(rng.random(n) < 0.3, np.nan, rng.standard_normal(n)),
                 rng.standard_normal(n) * 1e300, np.full(n, 2.5), np.r_[np.zeros(n - 1), 3.0]]
    width = max(r.size for r in rows)
    X = np.vstack([np.pad(r, (0, width - r.size), constant_values=np.nan) for r in rows])
    X = np.vstack([X, np.full(width, np.nan), np.r_[1.0, np.full(width - 1, np.nan)]])
    expected = np.array([median_bandwidth(r) for r in X])
    assert np.array_equal(dependence.median_bandwidths(X), expected)
    assert len({float(v) for v in expected}) > 30  # the cases differ


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.lists(st.one_of(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), st.floats(-1e300, 1e300)), min_size=5, max_size=5), min_size=3, max_size=60))
def test_median_bandwidths_property(rows: list[list[float]]) -> None:
    """Any finite values, ties and magnitudes near the float limit: batched = per column, bit for bit."""
    X = np.asarray(rows).T  # 5 columns of 3 to 60 values
    assert np.array_equal(dependence.median_bandwidths(X), np.array([median_bandwidth(r) for r in X]))


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.one_of(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), st.floats(-1e300, 1e300)), min_size=2, max_size=80))
def test_median_bandwidth_property(values: list[float]) -> None:
    """Any finite values, ties and magnitudes near the float limit: the full matrix's median, exactly."""
    v = np.asarray(values)
    scale = 2.0 ** (np.frexp(np.max(np.abs(v)))[1] - 1) if np.max(np.abs(v)) > 0 else 1.0
    w = v / scale
    expected = float(np.median(np.abs(w[:, None] - w[None, :])[np.triu_indices(v.size, k=1)]))
    if expected == 0:
        expected = float(np.std(w))
    assert median_bandwidth(v) == (min(expected * scale, np.finfo(np.float64).max) if expected > 0 else 1.0)


def test_hsic_rff_default_features_close_to_exact() -> None:
    """Default n_features=64 against the exact Gram-matrix normalized HSIC, n = 400, 6 seeds x 4 relationships.

    Measured (this data, these seeds): max |RFF - exact| = 0.129 (x^2, seed 2); exact values range from
    about 0.005 (independent) to 0.79 (sin). Random Fourier features at D = 64 carry that much Monte-Carlo
    error, so the tolerance is 0.2 (about 1.5x the measured max); the independent pairs are held to 0.03
    (measured max 0.004) since a spurious link there is what the pass must avoid.
    """
    errors = hsic_errors(64, range(6))
    assert max(e for e, *_ in errors) <= 0.2, max(errors)
    independent = [e for e, _, label, _ in errors if label == "independent"]
    assert max(independent) <= 0.03


def test_hsic_rff_converges_to_exact_with_many_features() -> None:
    """n_features=1024: measured max |RFF - exact| = 0.029 over 3 seeds x 4 relationships (tolerance 0.06).

    This is the check that the kernel (bandwidth, scaling) is the right one: the D = 64 error shrinks
    like 1 / sqrt(D) toward the exact value only if the features approximate that kernel.
    """
    errors = hsic_errors(1024, range(3))
    assert max(e for e, *_ in errors) <= 0.06, max(errors)


def test_hsic_rff_equals_per_pair_estimator(xp) -> None:
    """Given the same omega and phase, the block engine equals the RFF estimator written pair by pair:
    uncompressed to 1e-9; compressed within the stated bound [H - e_x - e_y, H]."""
    X = with_missing(planted_mix(150, seed=15)[:10], 0.1, seed=16)
    measure = HSIC(n_features=32, seed=17, energy_tol=None)
    S = similarities(X, measure, xp)
    p = X.shape[0]
    R = np.full((p, p), np.nan)
    for a in range(p):
        for b in range(a + 1, p):
            R[a, b] = R[b, a] = rff_hsic_reference(X[a], X[b], measure.omega, measure.phase)
    assert_offdiag_close(S, R, 1e-9)
    compressed = HSIC(n_features=32, seed=17, energy_tol=1e-4)
    C = similarities(X, compressed, xp)
    fit = compressed.fit(X, 0.0, xp, dtype=xp.float64)  # what all_pairs fitted: the ranks and energies
    assert fit.ranks.max() < 32 and 0 < fit.truncated_energy <= 1e-4
    off = ~np.eye(p, dtype=bool)
    assert np.all(C[off] <= R[off] + 1e-12) and np.all(C[off] >= R[off] - 2 * fit.truncated_energy - 1e-12)


def test_hsic_float32_cosines_stay_within_float32_rounding_whatever_the_scale(xp) -> None:
    """Fitted for float32 products, the cosines (and the centering) run in float32 on phases reduced in
    float64: every feature within 5e-7 (relative to the largest) of the float64 features, also for a heavy-tailed
    column whose phases reach about 1e4 (unreduced, float32 would be off by about 1e-3 there)."""
    rng = np.random.default_rng(31)
    x = rng.uniform(-1, 1, 500)
    X = np.vstack([x, np.exp(6 * rng.standard_normal(500)), with_missing(x**2, 0.2, seed=32), np.round(3 * x)])
    assert np.nanmax(np.abs(X[1])) / median_bandwidth(X[1]) > 1e3
    measure = HSIC(seed=33)
    reference = measure.fit(X, 0.5, xp, dtype=xp.float64)
    fast = measure.fit(X, 0.5, xp, dtype=xp.float32)
    assert not reference.cos_float32 and fast.cos_float32
    cols = slice(0, X.shape[0])
    phi64, _, scale64 = (to_numpy(a) for a in measure._phi(reference, xp, xp.asarray(X), cols))
    phi32, _, scale32 = (to_numpy(a) for a in measure._phi(fast, xp, xp.asarray(X), cols))
    assert phi32.dtype == np.float32 and phi64.dtype == np.float64
    phi64, phi32 = phi64 * scale64[:, None, None], phi32.astype(np.float64) * scale32[:, None, None]
    for c in range(X.shape[0]):
        assert np.abs(phi32[c] - phi64[c]).max() <= 5e-7 * np.abs(phi64[c]).max(), c
    assert np.array_equal(fast.ranks, reference.ranks)


def test_hsic_float32_cosines_of_phases_beyond_2_53_are_finite_and_silent(xp) -> None:
    """Values far beyond the bandwidth make phases far beyond 2**53, where angle - 2 pi round(angle / 2 pi)
    is itself ~1e292 and overflows the cast to float32 (then cos(inf) is NaN). The exact reduction keeps
    every feature finite, without a NumPy warning, and the similarities in [0, 1]."""
    rng = np.random.default_rng(35)
    x = rng.uniform(-1, 1, 300)
    huge = x.copy()
    huge[:30] *= 1e300  # the median bandwidth stays ordinary while the phases of these rows reach ~1e300
    X = np.vstack([x, huge, np.exp(5 * rng.standard_normal(300))])
    assert np.nanmax(np.abs(X[1])) / median_bandwidth(X[1]) > 1e300
    measure = HSIC(seed=36)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = measure.fit(X, 0.5, xp, dtype=xp.float32)
        phi, _, scale = (to_numpy(a) for a in measure._phi(fit, xp, xp.asarray(X), slice(0, 3)))
        S = similarities(X, HSIC(seed=36), xp, dtype="float32")
    assert np.isfinite(phi).all() and np.isfinite(scale).all() and (scale > 0).all()
    off = S[~np.eye(3, dtype=bool)]
    assert np.isfinite(off).all() and ((off >= 0) & (off <= 1 + 1e-6)).all()


def per_column_tail_energy(X: np.ndarray, measure: HSIC, ranks: np.ndarray) -> np.ndarray:
    """sum_{k > r} s_k^2 of each column's normalized centered features at its rank r, from numpy's SVD
    (independent of the measure's eigen-decomposition of D x D covariances)."""
    out = []
    for row, r in zip(X, ranks):
        phi = np.sqrt(2.0 / measure.n_features) * np.cos(np.outer(measure.omega, row / median_bandwidth(row)) + measure.phase[:, None])
        phi -= phi.mean(axis=1, keepdims=True)
        sv = np.linalg.svd(phi, compute_uv=False)
        sv2 = sv**2 / np.sqrt(np.sum(sv**4))  # scaled so that ||Phi Phi^T||_F = sqrt(sum s^4) = 1
        out.append(float(np.sum(sv2[r:])))
    return np.array(out)


@pytest.mark.parametrize("tol", [1e-3, 1e-6])
def test_hsic_compression_rank_and_bound(tol: float) -> None:
    """Each column's rank is the smallest at which it leaves out at most tol (checked with numpy's SVD);
    every compressed similarity lies within [H - e_x - e_y, H] of the uncompressed H, per pair."""
    rng = np.random.default_rng(21)
    x = rng.uniform(-1, 1, (4, 400))
    X = np.vstack([x, np.exp(x), x**2, np.sin(np.pi * x), x + 0.3 * rng.standard_normal((4, 400)), rng.standard_normal((4, 400))])
    compressed = HSIC(seed=23, energy_tol=tol)
    C = similarities(X, compressed, np)
    H = similarities(X, HSIC(seed=23, energy_tol=None), np)
    fit = compressed.fit(X, 0.0, dtype=np.float64)  # what all_pairs fitted: the ranks and energies
    ranks = fit.ranks
    assert ranks.shape == (X.shape[0],) and ranks.max() < compressed.n_features
    assert len(set(ranks.tolist())) > 1  # the columns need different ranks
    tails = per_column_tail_energy(X, compressed, ranks)
    assert np.all(tails <= tol * (1 + 1e-9))
    assert np.allclose(tails, fit.left_out, rtol=1e-6, atol=1e-15)
    fewer = per_column_tail_energy(X, compressed, ranks - 1)
    assert np.all(fewer[ranks > 1] > tol)  # one fewer direction would not do, for any column
    bound = tails[:, None] + tails[None, :]
    off = ~np.eye(X.shape[0], dtype=bool)
    assert np.all(C[off] <= H[off] + 1e-12)
    assert np.all((H - C)[off] <= bound[off] + 1e-12)


def screen_table() -> np.ndarray:
    """Planted pairs at every strength, a column with missing values, counts with ties, a heavy tail."""
    rng = np.random.default_rng(41)
    n = 400
    x = rng.uniform(-1, 1, n)
    cols = [x, np.exp(x), x**2, np.sin(np.pi * x), np.round(3 * x), with_missing(x**3, 0.15, seed=42)]
    cols += [x + s * rng.standard_normal(n) for s in (0.05, 0.2, 0.5, 1.0)]
    cols += [np.exp(4 * rng.standard_normal(n)), rng.poisson(2.0, n).astype(float)]
    cols += [rng.standard_normal(n) for _ in range(8)]
    return np.vstack(cols)


def reference_screen_bound(W: list[np.ndarray], k: int) -> np.ndarray:
    """The screen's bound of every pair, from numpy's SVD of each column's top-k and remaining rows and
    of the top-k product (HSIC's docstring), independent of the measure's row norms and reductions."""
    sv2 = [np.linalg.svd(w, compute_uv=False) ** 2 for w in W]
    heads = [np.linalg.svd(w[-k:], compute_uv=False) ** 2 for w in W]
    tails = [np.linalg.svd(w[:-k], compute_uv=False) ** 2 if w.shape[0] > k else np.zeros(0) for w in W]

    def vn(a: np.ndarray, b: np.ndarray) -> float:
        m = min(a.size, b.size)
        return float(np.sort(a)[::-1][:m] @ np.sort(b)[::-1][:m])

    p = len(W)
    B = np.zeros((p, p))
    for x in range(p):
        for y in range(p):
            top = float(np.sum((W[x][-k:] @ W[y][-k:].T) ** 2))
            rest = max(vn(heads[x], heads[y]) - top, 0.0)
            B[x, y] = min(top + min(vn(heads[x], tails[y]), rest) + min(vn(tails[x], heads[y]), rest) + vn(tails[x], tails[y]), vn(sv2[x], sv2[y]))
    return B


def test_hsic_screen_bound_is_the_stated_formula_and_holds_for_every_pair(xp) -> None:
    """With no pair able to reach the threshold, reduce returns the screen's bound: the docstring's formula
    (from numpy's SVD), at least the full compressed HSIC of every pair, and informative (most weak pairs
    are ruled out at 0.5, so a bound of 1 would fail)."""
    X = screen_table()
    p = X.shape[0]
    measure = HSIC(seed=43)
    fit = measure.fit(X, 2.0, xp, dtype=xp.float64, keep_bytes=2**30)  # a threshold no pair reaches
    assert fit.screening and fit.ranks.max() > measure.screen
    cols = slice(0, p)
    F = measure.features(fit, xp, xp.asarray(X), cols)
    assert F.shape[0] == int(np.minimum(fit.ranks, 2).sum())
    B = to_numpy(measure.reduce(fit, xp, F @ xp.permute_dims(F, (1, 0)), cols, cols))
    W = [to_numpy(fit.column(c)) for c in range(p)]
    R = reference_screen_bound(W, 2)
    H = similarities(X, HSIC(seed=43, screen=None), xp)
    off = ~np.eye(p, dtype=bool)
    assert np.allclose(B[off], R[off], rtol=1e-9, atol=1e-12)
    assert np.all(B[off] >= H[off] - 1e-12) and np.all(B[off] <= 1 + 1e-12)
    weak = off & (H < 0.2)
    assert np.mean(B[weak] < 0.5) > 0.5


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hsic_screen_gives_the_edges_of_the_full_products(xp, dtype: str) -> None:
    """At any threshold the screen keeps exactly the pairs (and values) of every pair computed in full,
    while computing only some pairs in full; without the features held, it is off (the same edges)."""
    X = screen_table()
    tol = 1e-12 if dtype == "float64" else 2e-6
    for threshold in (0.3, 0.5, 0.6, 0.8):
        full = all_pairs(X, HSIC(seed=43, screen=None), threshold, xp, dtype)
        screened = all_pairs(X, HSIC(seed=43), threshold, xp, dtype)
        on = threshold >= dependence.SCREEN_MIN_THRESHOLD  # below, the screen is off (few pairs ruled out)
        assert ("upper bound" in screened.histogram_values) == on
        assert screened.features["screen"] == (2 if on else None) and full.features["screen"] is None
        assert len(full.i) > 0
        assert np.array_equal(screened.i, full.i) and np.array_equal(screened.j, full.j)
        assert np.allclose(screened.similarity, full.similarity, rtol=0, atol=tol)
    small = all_pairs(X, HSIC(seed=43), 0.6, xp, dtype, block_memory_mb=0)
    assert small.features["screen"] is None and small.histogram_values == "exact"
    reference = all_pairs(X, HSIC(seed=43, screen=None), 0.6, xp, dtype, block_memory_mb=0)
    assert np.array_equal(small.i, reference.i) and small.similarity.tobytes() == reference.similarity.tobytes()


def test_hsic_screen_shards_gather_to_one_job() -> None:
    """Screened HSIC over several blocks: the shards (k, 3) together hold exactly the edges of one job,
    which are those of every pair computed in full."""
    rng = np.random.default_rng(33)
    X = np.repeat(rng.standard_normal((150, 300)), 4, axis=0) + 0.3 * rng.standard_normal((600, 300))
    threshold, block_memory_mb = 0.5, 4
    one = all_pairs(X, HSIC(n_features=16, seed=31), threshold, np, "float32", block_memory_mb)
    assert one.features["screen"] == 2 and one.n_blocks >= 6 and 0 < len(one.i) < 600 * 599 // 4
    parts = [all_pairs(X, HSIC(n_features=16, seed=31), threshold, np, "float32", block_memory_mb, shard=(k, 3)) for k in range(3)]
    assert sum(part.n_blocks for part in parts) == one.n_blocks and all(part.n_blocks > 0 for part in parts)
    got = sorted((int(i), int(j), float(s)) for part in parts for i, j, s in zip(part.i, part.j, part.similarity))
    assert got == sorted(zip(one.i.tolist(), one.j.tolist(), one.similarity.tolist()))
    full = all_pairs(X, HSIC(n_features=16, seed=31, screen=None), threshold, np, "float32", block_memory_mb)
    assert full.n_blocks > one.n_blocks  # wider columns, other blocks: the same pairs in another order
    order, reference = np.lexsort((one.j, one.i)), np.lexsort((full.j, full.i))
    assert np.array_equal(one.i[order], full.i[reference]) and np.array_equal(one.j[order], full.j[reference])
    assert np.allclose(one.similarity[order], full.similarity[reference], rtol=0, atol=2e-6)


@pytest.mark.parametrize("measure", [HSIC(n_features=16, seed=31), RDC(k=8, seed=31)], ids=["hsic", "rdc"])
def test_features_past_the_budget_go_to_a_file_with_the_same_bytes(measure, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past keep_bytes (8 x block_memory_mb) the compressed features go to a temporary file read through
    a memory map: the same edges, bytes for bytes, as held in memory, with HSIC's screen on; when the
    file cannot be written they are built again per block (screen off, the same edges)."""
    rng = np.random.default_rng(34)
    X = np.repeat(rng.standard_normal((150, 1500)), 4, axis=0) + 0.3 * rng.standard_normal((600, 1500))
    threshold = 0.5 if measure.name == "hsic" else 0.6
    spilled = all_pairs(X, measure, threshold, np, "float32", 1)  # past 8 MiB: a file
    with monkeypatch.context() as m:
        m.setattr(_engine, "KEEP_BLOCKS", 1000)  # the same blocks, the features in memory
        held = all_pairs(X, measure, threshold, np, "float32", 1)
    assert held.features["held"] == "memory" and spilled.features["held"] == "temporary file" and held.n_blocks > 1
    if measure.name == "hsic":
        assert held.features["screen"] == spilled.features["screen"] == 2
    assert len(held.i) > 0 and held.i.tobytes() == spilled.i.tobytes() and held.j.tobytes() == spilled.j.tobytes()
    assert held.similarity.tobytes() == spilled.similarity.tobytes()
    order = lambda r: np.lexsort((r.j, r.i))
    o1 = order(held)
    monkeypatch.setattr(_features, "_Spill", type("NoFile", (), {"open": staticmethod(lambda first: None)}))
    rebuilt = all_pairs(X, measure, threshold, np, "float32", 1)
    assert rebuilt.features["held"] == "rebuilt per block"
    o3 = order(rebuilt)
    assert np.array_equal(held.i[o1], rebuilt.i[o3]) and np.array_equal(held.j[o1], rebuilt.j[o3])
    assert np.allclose(held.similarity[o1], rebuilt.similarity[o3], rtol=0, atol=2e-6)


@pytest.mark.parametrize("fails_at", ["write", "flush"])
def test_a_full_disk_falls_back_to_features_built_per_block(monkeypatch: pytest.MonkeyPatch, fails_at: str) -> None:
    """A write that fails (ENOSPC), midway through fit or when the buffered rest is flushed, gives up the
    file: the features are built again per block, the edges are those of the features held in memory."""
    rng = np.random.default_rng(35)
    X = np.repeat(rng.standard_normal((100, 3000)), 3, axis=0) + 0.3 * rng.standard_normal((300, 3000))
    writes = []

    class FullDisk:
        def __init__(self) -> None:
            self.closed = False

        def write(self, data) -> int:
            writes.append(len(data))
            if fails_at == "write" and len(writes) > 3:
                raise OSError(28, "No space left on device")
            return len(data)

        def flush(self) -> None:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            self.closed = True

    handle = FullDisk()
    monkeypatch.setattr(_features.tempfile, "TemporaryFile", lambda **kwargs: handle)
    result = all_pairs(X, RDC(k=8, seed=31), 0.6, np, "float32", 1)
    assert len(writes) > 3 and handle.closed and result.features["held"] == "rebuilt per block"
    monkeypatch.undo()
    reference = all_pairs(X, RDC(k=8, seed=31), 0.6, np, "float32", 64)
    assert reference.features["held"] == "memory"
    got = sorted(zip(result.i.tolist(), result.j.tolist()))
    assert len(got) > 0 and got == sorted(zip(reference.i.tolist(), reference.j.tolist()))


FULL_DISK = """
import resource, signal, sys
import numpy as np
from descriptor_pipeline.dependence import RDC, all_pairs
rng = np.random.default_rng(35)
X = np.repeat(rng.standard_normal((100, 3000)), 3, axis=0) + 0.3 * rng.standard_normal((300, 3000))
reference = all_pairs(X, RDC(k=8, seed=31), 0.6, np, "float32", 64)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, write() fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
result = all_pairs(X, RDC(k=8, seed=31), 0.6, np, "float32", 1)
same = result.i.tobytes() == reference.i.tobytes() and result.j.tobytes() == reference.j.tobytes()
print(result.features["held"], len(result.i), same)
"""


@pytest.mark.parametrize("limit", [1000, 3_599_999, 10_799_900, 10_800_000])
def test_a_real_file_that_cannot_grow_falls_back_or_holds_everything(tmp_path, limit: int) -> None:
    """A real temporary file that stops growing (RLIMIT_FSIZE, in a child process): at the first write,
    midway, or with only the buffered tail left to write (which close() meets again), fit falls back to
    features built per block instead of raising; with room for all 10,800,000 bytes it keeps the file."""
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(limit)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    held, edges, same = proc.stdout.strip().rsplit(" ", 2)
    assert held == ("temporary file" if limit == 10_800_000 else "rebuilt per block"), proc.stdout
    assert int(edges) > 0 and same == "True", proc.stdout


def test_hsic_self_is_one_and_values_in_unit_interval(xp) -> None:
    rng = np.random.default_rng(18)
    x = rng.uniform(-1, 1, 300)
    # x twice, and a scaled copy (the bandwidth scales with it, so x / sigma and the features are identical;
    # a shifted copy is not exact: the shift moves the random phases, which only cancel in expectation)
    X = np.vstack([x, x, 3.0 * x, x**2, rng.standard_normal(300), np.round(x, 1)])
    S = similarities(X, HSIC(seed=19), xp)
    assert abs(S[0, 1] - 1.0) <= 1e-9
    assert abs(S[0, 2] - 1.0) <= 1e-9
    off = ~np.eye(X.shape[0], dtype=bool)
    assert np.all(S[off] >= 0.0) and np.all(S[off] <= 1.0 + 1e-12)
    S32 = similarities(X, HSIC(seed=19), xp, "float32")
    assert np.all(S32[off] >= 0.0) and np.all(S32[off] <= 1.0 + 1e-5)


# ---- RDC ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [0.0, 0.1], ids=["complete", "missing"])
def test_rdc_equals_paper_algorithm(xp, missing: float) -> None:
    rng = np.random.default_rng(20)
    n = 400
    x = rng.uniform(-1, 1, n)
    X = np.vstack([x, x**2, np.sin(np.pi * x), np.round(x, 1), rng.standard_normal(n), rng.poisson(1.0, n).astype(float),
                   np.abs(x) + 0.1 * rng.standard_normal(n), np.exp(rng.standard_normal(n))])
    if missing:
        X = with_missing(X, missing, seed=21)
    measure = RDC(seed=22)
    assert measure.weights.shape == (2, measure.k)
    assert_offdiag_close(similarities(X, measure, xp), rdc_reference(X, measure), 1e-9)


@pytest.mark.parametrize("threshold", [0.0, 0.6])
def test_rdc_compressed_equals_padded(xp, threshold: float) -> None:
    """Each column keeping only its r basis rows gives the values of the k-row (zero-padded) reference:
    exact RDCs at or above the threshold, the Frobenius bound below, over several blocks of mixed widths,
    with a constant column (one zero row) and missing values."""
    rng = np.random.default_rng(26)
    n = 300
    x = rng.uniform(-1, 1, n)
    X = np.vstack([x, x**2, np.round(x, 1), rng.poisson(0.3, n).astype(float), rng.integers(0, 2, n).astype(float),
                   np.full(n, 2.0), np.sin(np.pi * x), rng.standard_normal(n), np.exp(rng.standard_normal(n))])
    X = np.vstack([X, with_missing(X, 0.1, seed=27)])
    compressed, padded = RDC(seed=28), RDC(seed=28, compress=False)
    C = all_pairs(X, compressed, threshold, xp, "float64", block_memory_mb=0)
    R = all_pairs(X, padded, threshold, xp, "float64")
    ranks = compressed.fit(X, threshold, xp).ranks  # what all_pairs fitted
    assert ranks.min() == 1 and ranks.max() > 2 and len(set(ranks.tolist())) > 2  # mixed widths
    assert C.features["rank_max"] == ranks.max() and R.features is None
    assert C.n_blocks > 1 and 0 < len(R.i) and np.array_equal(C.i, R.i) and np.array_equal(C.j, R.j)
    assert np.max(np.abs(C.similarity - R.similarity)) <= 1e-12
    assert C.hist_counts == R.hist_counts


@pytest.mark.parametrize("n", [1000, 2000])
def test_rdc_behaviour_as_in_paper(n: int) -> None:
    """Default k=20, s=1/6: independent pairs small, noiseless functions (monotone or not) near 1.

    Measured over seeds 0-9: largest independent RDC 0.143 (n=1000) / 0.101 (n=2000); smallest RDC of
    y = f(x) 0.994.
    """
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x = rng.uniform(-1, 1, n)
        independent = [rng.uniform(-1, 1, n), rng.standard_normal(n), rng.exponential(size=n)]
        functions = [x**2, np.sin(np.pi * x), np.abs(x), np.cos(np.pi * x), np.exp(x), x**3]
        X = np.vstack([x, *independent, *functions])
        S = similarities(X, RDC(seed=100 + seed), np)
        ind = [0, 1, 2, 3]
        assert max(S[a, b] for a in ind for b in ind if a < b) < 0.25
        assert np.all(S[0, 4:] > 0.95), S[0, 4:]


def test_rdc_invariant_to_monotone_transforms() -> None:
    """RDC only sees the copula (ranks): strictly increasing transforms of a column change nothing."""
    X = planted_mix(300, seed=24)
    Y = X.copy()
    Y[0] = np.exp(3 * X[0])
    Y[5] = X[5] ** 3 + 7
    m = RDC(seed=25)
    assert_offdiag_close(similarities(Y, m, np), similarities(X, m, np), 1e-12)


# ---- average_ranks ------------------------------------------------------------------------------


def ranks_reference(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    R = np.full(X.shape, np.nan)
    counts = np.zeros(X.shape[0], dtype=np.int64)
    for r, row in enumerate(X):
        present = ~np.isnan(row)
        counts[r] = present.sum()
        if counts[r]:
            R[r, present] = scipy.stats.rankdata(row[present], method="average")
    return R, counts


def check_ranks(xp, X: np.ndarray) -> None:
    ranks, n_present = average_ranks(xp, xp.asarray(X))
    ranks, n_present = to_numpy(ranks), to_numpy(n_present)
    R, counts = ranks_reference(X)
    np.testing.assert_array_equal(n_present, counts)
    present = ~np.isnan(X)
    np.testing.assert_allclose(ranks[present], R[present], rtol=0, atol=1e-12)


def test_average_ranks_equal_scipy(xp) -> None:
    rng = np.random.default_rng(26)
    X = np.vstack([
        rng.standard_normal(40),
        np.round(rng.standard_normal(40)),
        rng.integers(0, 3, 40).astype(float),
        np.full(40, 2.5),
        np.where(rng.random(40) < 0.3, np.nan, np.round(rng.standard_normal(40), 1)),
        np.full(40, np.nan),
        np.where(np.arange(40) == 7, 1.0, np.nan),  # a single present value
        np.where(rng.random(40) < 0.5, np.nan, rng.integers(-2, 2, 40).astype(float)),
        np.r_[np.zeros(20), -np.zeros(20)],  # 0.0 and -0.0 tie
    ])
    check_ranks(xp, X)


@settings(max_examples=60, deadline=None, database=None)
@given(
    rows=st.lists(
        st.lists(st.one_of(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), st.floats(-1e6, 1e6), st.just(float("nan"))), min_size=12, max_size=12),
        min_size=1,
        max_size=5,
    )
)
def test_average_ranks_property(rows: list[list[float]]) -> None:
    X = np.asarray(rows, dtype=np.float64)
    for name in ("numpy", "array_api_strict"):
        check_ranks(get_namespace(name), X)


@pytest.mark.parametrize(
    "measure, threshold",
    [(Spearman(), 0.0), (HSIC(n_features=16, seed=31), 0.0), (HSIC(n_features=16, seed=31), 0.5), (RDC(k=8, seed=31), 0.0)],
    ids=["spearman", "hsic", "hsic-screened", "rdc"],
)
def test_worker_count_does_not_change_a_bit(measure, threshold: float) -> None:
    """The block products run as fixed panels on single-threaded BLAS: 1, 2 or 3 workers, same bytes
    (for HSIC also with most pairs ruled out by its screen)."""
    rng = np.random.default_rng(32)
    X = np.repeat(rng.standard_normal((325, 300)), 4, axis=0) + 0.3 * rng.standard_normal((1300, 300))
    block_memory_mb = 16
    rows_per_block = dependence.block_columns(measure.width, 4, block_memory_mb) * measure.width
    assert rows_per_block > 2 * dependence.PANEL_ROWS  # several panels per block product
    runs = [all_pairs(X, measure, threshold, np, "float32", block_memory_mb, threads=t) for t in (1, 2, 3)]
    if threshold == 0.0:
        assert runs[0].n_blocks > 1 and len(runs[0].i) == X.shape[0] * (X.shape[0] - 1) // 2
    else:
        assert runs[0].features["screen"] == 2 and 0 < len(runs[0].i) < X.shape[0] * (X.shape[0] - 1) // 4
    for other in runs[1:]:
        assert other.similarity.tobytes() == runs[0].similarity.tobytes()
        assert np.array_equal(other.i, runs[0].i) and np.array_equal(other.j, runs[0].j)
