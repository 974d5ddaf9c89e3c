"""Scan statistics (scan/), sample statistics (stats.py) and the statistics ingest writes, against
independent references."""

from __future__ import annotations

import math
import re
import sys
import warnings
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import pyarrow.parquet as pq

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import inspect_inputs
from descriptor_pipeline.ingest import source
from descriptor_pipeline.scan import Scanner, ScanResult, equal_columns
from descriptor_pipeline import stats
from descriptor_pipeline.scan import scanner as scanner_module
from descriptor_pipeline.stats import distinct_counts, sample_quantiles, sample_statistics, winsorized_variance

QUANTILES = {"q01": 0.01, "q25": 0.25, "median": 0.5, "q75": 0.75, "q99": 0.99}


# ---- references ---------------------------------------------------------------------------------


def as_float(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Python-level conversion of any numeric Arrow column to float64, every missing value (null, NaN, +-inf) NaN."""
    values = np.array([np.nan if v is None else float(v) for v in column.to_pylist()], dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def exact_moments(values: np.ndarray) -> tuple[float, float, Fraction]:
    """Mean, sample std (ddof=1) and the exact sample variance of the present values, in rational arithmetic."""
    xs = [Fraction(float(v)) for v in values if np.isfinite(v)]
    mean = sum(xs, Fraction(0)) / len(xs)
    var = sum(((x - mean) ** 2 for x in xs), Fraction(0)) / (len(xs) - 1)
    # sqrt without overflowing float64 on the way: scale by an even power of two first
    shift = 2 * (max(var.numerator.bit_length() - var.denominator.bit_length(), 0) // 2)
    std = math.sqrt(float(var / 2**shift)) * 2.0 ** (shift // 2)
    return float(mean), std, var


def planted_matrix(n: int, seed: int) -> np.ndarray:
    """(n x 4) floats with missing values (NaN, +-inf), an offset column, an integer-valued column and a constant."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([
        rng.normal(3.0, 2.0, n),
        rng.lognormal(size=n) * 1e6,
        rng.integers(-4, 5, n).astype(float),
        np.full(n, 2.5),
    ])
    x[rng.random(n) < 0.1, 0] = np.nan
    x[rng.random(n) < 0.05, 1] = np.inf
    x[rng.random(n) < 0.05, 1] = -np.inf
    x[rng.random(n) < 0.2, 3] = np.nan
    return x


def write_matrix(folder, x: np.ndarray, n_files: int = 3, row_group_size: int = 16, names=None) -> list[str]:
    """Rows of x split over n_files Parquet files (uneven), small row groups."""
    names = names or [f"c{j}" for j in range(x.shape[1])]
    folder.mkdir(parents=True, exist_ok=True)
    cuts = np.linspace(0, x.shape[0], n_files + 1).astype(int)
    files = []
    for i in range(n_files):
        part = x[cuts[i] : cuts[i + 1]]
        path = folder / f"part-{i}.parquet"
        pq.write_table(pa.table({n: part[:, j] for j, n in enumerate(names)}), path, row_group_size=row_group_size)
        files.append(str(path))
    return files


def scan_files(files: list[str], chunk_rows: int = 0, threads: int = 1, seed: int = 0, sample_rows: int = 0) -> ScanResult:
    schema = inspect_inputs(files)
    scanner = Scanner(source(schema), schema.descriptors, schema.row_group_rows, seed=seed, sample_rows=sample_rows,
                      chunk_rows=chunk_rows, threads=threads)
    return scanner.run()


# ---- scan/ --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_files", "row_group_size", "chunk_rows"), [(1, 1000, 0), (3, 7, 0), (4, 16, 30), (2, 1, 50)])
def test_scan_statistics_match_pandas(tmp_path, n_files, row_group_size, chunk_rows):
    x = planted_matrix(173, seed=1)
    res = scan_files(write_matrix(tmp_path, x, n_files, row_group_size), chunk_rows=chunk_rows)
    ref = pd.DataFrame(np.where(np.isfinite(x), x, np.nan))
    np.testing.assert_array_equal(res.n_present, ref.count().to_numpy())
    np.testing.assert_array_equal(res.min, ref.min().to_numpy())
    np.testing.assert_array_equal(res.max, ref.max().to_numpy())
    np.testing.assert_allclose(res.mean, ref.mean().to_numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.std[:3], ref.std(ddof=1).to_numpy()[:3], rtol=1e-12, atol=0)
    assert res.std[3] == 0.0  # constant column: exactly zero, not rounding noise
    assert res.rows_seen == x.shape[0]
    assert res.rounds == 2  # the columns with NaN / inf were read again, masked


def test_scan_results_are_the_same_bytes_for_any_batching_and_thread_count(tmp_path):
    x = planted_matrix(400, seed=2)
    x[:, 2] += 1e6
    files = write_matrix(tmp_path, x, n_files=4, row_group_size=9)
    runs = [scan_files(files, chunk_rows=c, threads=t, sample_rows=37) for c, t in ((0, 1), (0, 2), (1, 4), (150, 2))]
    for r in runs[1:]:
        for field in ("n_present", "min", "max", "mean", "std", "sample"):
            assert np.asarray(getattr(r, field)).tobytes() == np.asarray(getattr(runs[0], field)).tobytes(), field


def test_scan_per_row_group_results_with_uneven_row_groups(tmp_path):
    # row groups of 5, 9, 3, 11 rows in one file and 7, 7, 2 in another: the per-row-group key is a CASE
    x = planted_matrix(44, seed=9)
    files = []
    for name, sizes in (("a", (5, 9, 3, 11)), ("b", (7, 7, 2))):
        path = tmp_path / f"{name}.parquet"
        start = 0 if name == "a" else 28
        with pq.ParquetWriter(path, pa.schema([(f"c{j}", pa.float64()) for j in range(4)])) as writer:
            for size in sizes:
                part = x[start : start + size]
                writer.write_table(pa.table({f"c{j}": part[:, j] for j in range(4)}))
                start += size
        files.append(str(path))
    assert [m.num_row_groups for m in (pq.read_metadata(f) for f in files)] == [4, 3]
    one, two = scan_files(files, threads=1), scan_files(files, threads=3)
    ref = pd.DataFrame(np.where(np.isfinite(x), x, np.nan))
    np.testing.assert_array_equal(one.n_present, ref.count().to_numpy())
    np.testing.assert_allclose(one.mean, ref.mean().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(one.std[:3], ref.std(ddof=1).to_numpy()[:3], rtol=1e-12)
    assert one.mean.tobytes() == two.mean.tobytes() and one.std.tobytes() == two.std.tobytes()


def test_scan_sample_depends_on_content_not_row_order_or_file_split(tmp_path):
    x = planted_matrix(300, seed=3)
    x[:, 2] = np.arange(300)  # a row id, so every row is distinct
    perm = np.random.default_rng(0).permutation(300)
    a = scan_files(write_matrix(tmp_path / "a", x, 3, 7), seed=5, sample_rows=40).sample
    b = scan_files(write_matrix(tmp_path / "b", x[perm], 5, 11), seed=5, sample_rows=40).sample
    np.testing.assert_array_equal(a, b)
    assert a.shape == (40, 4)
    assert len(set(a[:, 2])) == 40
    # every sampled row is an input row, unchanged (missing values as NaN)
    np.testing.assert_array_equal(a, np.where(np.isfinite(x), x, np.nan)[a[:, 2].astype(int)])
    other = scan_files(write_matrix(tmp_path / "c", x, 3, 7), seed=6, sample_rows=40).sample
    assert set(other[:, 2]) != set(a[:, 2])


@pytest.mark.parametrize(("column_group", "memory_bytes"), [(1000, 2**30), (3, 2**30), (2, 1000), (1000, 1000)])
def test_scan_sample_is_the_same_for_any_column_order_grouping_or_memory_budget(tmp_path, monkeypatch, column_group,
                                                                             memory_bytes):
    # the row hash XORs one salted term per column: neither the columns' order in the files nor the
    # queries they are read in (one, or groups of 2 or 3 with the rows read back) change the sample,
    # nor does a sample held in a file instead of memory
    x = planted_matrix(300, seed=13)
    x[:, 2] = np.arange(300)
    names = ["b", "a", "id", "c"]
    expected = np.asarray(scan_files(write_matrix(tmp_path / "one", x, 3, 7, names=names), seed=4, sample_rows=45).sample)
    order = [2, 0, 3, 1]
    files = write_matrix(tmp_path / "other", x[:, order], 4, 5, names=[names[j] for j in order])
    monkeypatch.setattr(scanner_module, "COLUMN_GROUP", column_group)
    schema = inspect_inputs(files)
    res = Scanner(source(schema), schema.descriptors, schema.row_group_rows, seed=4, sample_rows=45,
                  memory_bytes=memory_bytes, spill_dir=str(tmp_path)).run()
    assert res.sample.spilled == (memory_bytes < 45 * 4 * 8)
    got = np.asarray(res.sample)[:, np.argsort(order)]  # back to the first table's column order
    assert got.tobytes() == expected.tobytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "other"]  # the spilled sample left no file
    # every sampled row is an input row (missing values as NaN), 45 distinct ones
    assert len(set(got[:, 2])) == 45
    np.testing.assert_array_equal(got, np.where(np.isfinite(x), x, np.nan)[got[:, 2].astype(int)])


@pytest.mark.parametrize("column_group", [1000, 3])  # one query, or aggregates per 3 columns and a sample query
def test_scan_sample_is_drawn_again_when_too_few_rows_fall_under_the_threshold(tmp_path, monkeypatch, caplog, column_group):
    x = planted_matrix(300, seed=7)
    x[:, 2] = np.arange(300)
    files = write_matrix(tmp_path, x, 3, 7)
    expected = scan_files(files, seed=2, sample_rows=50).sample
    monkeypatch.setattr(scanner_module, "COLUMN_GROUP", column_group)  # read there, not from the package
    real = Scanner.threshold
    monkeypatch.setattr(Scanner, "threshold", lambda self, slack=6.0: real(self, slack) // 8 if slack == 6.0 else real(self, slack))
    with caplog.at_level("WARNING", logger="descriptor_pipeline"):
        got = scan_files(files, seed=2, sample_rows=50).sample
    assert "drawing the sample again" in caplog.text
    np.testing.assert_array_equal(got, expected)


def test_equal_columns_only_for_columns_equal_in_every_row(tmp_path):
    rng = np.random.default_rng(4)
    base = rng.normal(size=60)
    base[[4, 9]] = np.nan
    moved = base.copy()
    moved[[4, 9]] = base[[5, 10]]
    moved[[5, 10]] = np.nan  # same values, nulls moved
    changed = base.copy()
    changed[30] = np.nextafter(changed[30], np.inf)
    swapped = base.copy()
    swapped[[0, 1]] = swapped[[1, 0]]  # same multiset, different rows
    zero = base.copy()
    zero[7] = 0.0
    neg_zero = base.copy()
    neg_zero[7] = -0.0
    x = np.column_stack([base, base.copy(), moved, changed, swapped, np.where(np.isnan(base), np.inf, base),
                         zero, neg_zero])
    files = write_matrix(tmp_path, x, n_files=3, row_group_size=8)
    names = [f"c{j}" for j in range(x.shape[1])]
    src = source(inspect_inputs(files))
    groups = equal_columns(src, names, [list(range(x.shape[1]))])
    # +inf is missing, like NaN; -0.0 equals 0.0; every other column differs from the rest in some row
    assert sorted(map(sorted, groups)) == [[0, 1, 5], [6, 7]]
    assert equal_columns(src, names, [[2, 3], [4]]) == []


def test_scan_moments_of_a_large_mean(tmp_path):
    # DuckDB's Welford update loses digits when the mean is far from zero against the spread; those
    # columns are read again, shifted by the mean of the first round
    rng = np.random.default_rng(8)
    x = np.column_stack([1e9 + rng.normal(size=500), -3e12 + 1e-3 * rng.normal(size=500), rng.normal(size=500)])
    res = scan_files(write_matrix(tmp_path, x, n_files=2, row_group_size=64))
    assert res.rounds == 2
    for j in range(3):
        mean, std, _ = exact_moments(x[:, j])
        assert res.mean[j] == pytest.approx(mean, rel=1e-14)
        assert res.std[j] == pytest.approx(std, rel=1e-12)


CASE_AND_VIRTUAL = ["naRing", "nARing", "NARING", "file_row_number", "file_index", "rh", "x0", "c1", "fi"]


def test_scan_reads_every_column_exactly_whatever_its_case_or_the_file_order(tmp_path):
    # DuckDB matches names without regard to case and maps later files' columns to the first file's by
    # name; the scan addresses columns by position, so each of these keeps its own values, also in files
    # whose columns come in another order, and the names of DuckDB's virtual columns are ordinary columns
    rng = np.random.default_rng(12)
    x = rng.normal(size=(90, len(CASE_AND_VIRTUAL))) + np.arange(len(CASE_AND_VIRTUAL)) * 10
    x[rng.random(x.shape) < 0.1] = np.nan
    orders = [list(range(len(CASE_AND_VIRTUAL))), [8, 1, 0, 2, 4, 3, 7, 6, 5], [1, 0, 2, 3, 4, 5, 6, 7, 8]]
    files = []
    for i, (lo, hi) in enumerate([(0, 30), (30, 50), (50, 90)]):
        path = tmp_path / f"part-{i}.parquet"
        pq.write_table(pa.table({CASE_AND_VIRTUAL[j]: x[lo:hi, j] for j in orders[i]}), path, row_group_size=16)
        files.append(str(path))
    schema = inspect_inputs(files)
    res = Scanner(source(schema), schema.descriptors, schema.row_group_rows, seed=0, sample_rows=0).run()
    assert schema.descriptors == CASE_AND_VIRTUAL
    for j, name in enumerate(CASE_AND_VIRTUAL):
        mean, std, _ = exact_moments(x[:, j])
        assert res.n_present[j] == np.isfinite(x[:, j]).sum(), name
        assert res.mean[j] == pytest.approx(mean, rel=1e-13), name
        assert res.std[j] == pytest.approx(std, rel=1e-12), name
        assert (res.min[j], res.max[j]) == (np.nanmin(x[:, j]), np.nanmax(x[:, j])), name
    # sample_rows=0 samples every row: each sample column holds its own column's values
    np.testing.assert_array_equal(np.sort(np.nan_to_num(res.sample, nan=np.inf), axis=0),
                                  np.sort(np.nan_to_num(x, nan=np.inf), axis=0))
    # a column equal to another only under a case-blind name lookup is not a duplicate of it
    assert equal_columns(source(schema), schema.descriptors, [[0, 1, 2]]) == []


def test_sample_quantiles_match_pandas_linear_quantiles():
    x = planted_matrix(97, seed=5)
    x = np.where(np.isfinite(x), x, np.nan)
    x[:, 3] = np.nan  # an all-missing column gives NaN quantiles, without a warning
    got = sample_quantiles(x)
    ref = pd.DataFrame(x).quantile(list(QUANTILES.values()), interpolation="linear").to_numpy()
    np.testing.assert_allclose(got[:, :3], ref[:, :3], rtol=1e-14)
    assert np.isnan(got[:, 3]).all()


def test_winsorized_variance_and_distinct_counts_match_pandas():
    x = planted_matrix(150, seed=6)
    x = np.where(np.isfinite(x), x, np.nan)
    df = pd.DataFrame(x)
    low, high = df.quantile(0.01).to_numpy(), df.quantile(0.99).to_numpy()
    ref = np.array([df[j].dropna().clip(low[j], high[j]).var(ddof=1) for j in df])
    np.testing.assert_allclose(winsorized_variance(x, low, high), ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(distinct_counts(x), df.nunique().to_numpy())


@pytest.mark.parametrize("threads", [1, 3])
def test_sample_statistics_in_blocks_of_columns_match_pandas(monkeypatch, threads):
    monkeypatch.setattr(stats, "BLOCK_VALUES", 3 * 150)  # blocks of three columns, an uneven last one
    m = np.hstack([planted_matrix(150, seed=7), planted_matrix(150, seed=8)])  # 8 columns: blocks of 3, 3, 2
    x = np.asfortranarray(np.where(np.isfinite(m), m, np.nan))
    x[:40, 5] = 2.5  # a tie for the most frequent value: 2.5 (40 rows) against -1.0 (40 rows)
    x[40:80, 5] = -1.0
    res = sample_statistics(x, threads)
    quant, robust, distinct = res.quantiles, res.winsorized_variance, res.distinct
    df = pd.DataFrame(x)
    ref = df.quantile(list(QUANTILES.values()), interpolation="linear").to_numpy()
    has = df.notna().any().to_numpy()
    np.testing.assert_allclose(quant[:, has], ref[:, has], rtol=1e-14)
    low, high = ref[0], ref[4]
    ref_var = np.array([df[j].dropna().clip(low[j], high[j]).var(ddof=1) for j in df])
    np.testing.assert_allclose(robust, ref_var, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(distinct, df.nunique().to_numpy())
    counts = [df[j].value_counts() for j in df]  # pandas: the most frequent value, ties to the smallest
    ref_rows = np.array([c.max() if len(c) else 0 for c in counts])
    ref_mode = np.array([min(c.index[c == c.max()]) if len(c) else np.nan for c in counts])
    np.testing.assert_array_equal(res.mode_rows, ref_rows)
    np.testing.assert_array_equal(res.mode, ref_mode)
    assert res.mode[5] == -1.0 and res.mode_rows[5] == 40


def test_the_mode_of_empty_and_all_missing_columns():
    res = sample_statistics(np.asfortranarray(np.array([[np.nan, 1.0], [np.nan, 1.0], [np.nan, 0.0]])))
    assert np.isnan(res.mode[0]) and res.mode_rows[0] == 0
    assert res.mode[1] == 1.0 and res.mode_rows[1] == 2
    empty = sample_statistics(np.empty((0, 2), order="F"))
    assert np.isnan(empty.mode).all() and (empty.mode_rows == 0).all()


# ---- statistics written by ingest ----------------------------------------------------------------


def mixed_type_table(n: int, seed: int) -> pa.Table:
    """Float (null, NaN, +-inf), int with nulls, bool, decimal and float32 columns plus planted shapes."""
    rng = np.random.default_rng(seed)
    f = rng.normal(10.0, 3.0, n)
    f[rng.random(n) < 0.08] = np.nan
    f[rng.random(n) < 0.04] = np.inf
    f[rng.random(n) < 0.04] = -np.inf
    ints = rng.integers(-1000, 1000, n)
    bools = rng.random(n) < 0.35
    dec = [Decimal(int(v)).scaleb(-3) for v in rng.integers(-10**6, 10**6, n)]
    few = rng.choice([1.0, 2.0, 5.0], n)
    return pa.table({
        "f": pa.array(f, mask=rng.random(n) < 0.1),
        "i": pa.array(ints, mask=rng.random(n) < 0.15),
        "b": pa.array(bools),
        "bn": pa.array(bools[::-1].copy(), mask=rng.random(n) < 0.2),
        "d": pa.array(dec, type=pa.decimal128(12, 3), mask=rng.random(n) < 0.05),
        "f32": pa.array(rng.normal(size=n).astype(np.float32)),
        "few": few,
        "skew": rng.lognormal(0.0, 2.0, n),
    })


@pytest.mark.parametrize(("n_files", "chunk_rows"), [(3, 7), (4, 1), (1, 0)])
def test_ingest_statistics_equal_pandas(write_table, ingest, n_files, chunk_rows):
    n = 211
    table = mixed_type_table(n, seed=11)
    files = write_table(table, n_files=n_files)
    res = ingest(files, chunk_rows=chunk_rows, sample_rows=0, min_off_mode_rows=0, max_missing_ratio=1.0)
    st = res.stats
    assert list(st.index) == table.column_names
    assert st["position"].tolist() == list(range(len(table.column_names)))
    assert st["dtype"].tolist() == [str(t) for t in table.schema.types]
    assert (st["n_rows"] == n).all()
    assert (st["status"] == "kept").all()
    for name in table.column_names:
        x = as_float(table[name])
        s = pd.Series(x).dropna()
        row = st.loc[name]
        assert row["n_missing"] == n - s.size, name
        assert row["missing_ratio"] == pytest.approx((n - s.size) / n, rel=1e-15)
        assert row["mean"] == pytest.approx(s.mean(), rel=1e-12), name
        assert row["std"] == pytest.approx(s.std(ddof=1), rel=1e-12), name
        assert row["variance"] == pytest.approx(s.var(ddof=1), rel=1e-12), name
        assert row["min"] == s.min() and row["max"] == s.max(), name
        # sample_rows=0: the sample is every row, so the sample statistics are those of the column
        q = {k: float(np.nanquantile(x, p)) for k, p in QUANTILES.items()}
        for key, value in q.items():
            assert row[key] == pytest.approx(value, rel=1e-13, abs=1e-300), (name, key)
            assert row[key] == pytest.approx(s.quantile(QUANTILES[key]), rel=1e-13, abs=1e-300), (name, key)
        assert row["iqr"] == pytest.approx(q["q75"] - q["q25"], rel=1e-13, abs=1e-300)
        wins = s.clip(q["q01"], q["q99"]).var(ddof=1)
        assert row["robust_variance"] == pytest.approx(wins, rel=1e-12, abs=1e-300), name
        assert row["n_distinct_sample"] == s.nunique(), name
    expected_binary = {"b": True, "bn": True}
    assert st["is_binary"].to_dict() == {c: expected_binary.get(c, False) for c in table.column_names}


def test_ingest_statistics_do_not_depend_on_file_split_or_chunking(write_table, ingest):
    table = mixed_type_table(150, seed=12)
    a = ingest(write_table(table, n_files=1, subdir="one"), out="a", chunk_rows=0, sample_rows=0)
    b = ingest(write_table(table, n_files=5, subdir="five"), out="b", chunk_rows=3, sample_rows=0)
    exact = ["n_missing", "min", "max", "q01", "q25", "median", "q75", "q99", "n_distinct_sample", "status"]
    pd.testing.assert_frame_equal(a.stats[exact], b.stats[exact])
    for key in ("mean", "std", "robust_variance"):
        np.testing.assert_allclose(a.stats[key], b.stats[key], rtol=1e-13)


def test_ingest_moments_near_float64_limit(write_table, ingest):
    pattern = [1e308, -1e308, 1.5e308, 5e307]
    n = 57
    big = np.resize(pattern, n).astype(float)
    neg = -np.resize([1.7e308, 1.6e308, 1.79e308], n).astype(float)
    # small values in the first file and chunks, huge ones only later: the scale changes mid-stream
    mixed = np.concatenate([np.linspace(-3.0, 4.0, 30), np.resize([1.2e308, 9e307], n - 30)])
    table = pa.table({"big": big, "neg": neg, "mixed": mixed})
    files = write_table(table, n_files=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid RuntimeWarning anywhere
        res = ingest(files, chunk_rows=7, sample_rows=0)
    for name in table.column_names:
        mean, std, var = exact_moments(table[name].to_numpy())
        row = res.stats.loc[name]
        assert np.isfinite(row["mean"]) and np.isfinite(row["std"]), name
        assert row["mean"] == pytest.approx(mean, rel=1e-12), name
        assert row["std"] == pytest.approx(std, rel=1e-12), name
        if var > Fraction(sys.float_info.max):
            assert row["variance"] == np.inf, name  # the true variance is beyond float64
        else:
            assert row["variance"] == pytest.approx(float(var), rel=1e-12), name
        assert row["min"] == table[name].to_numpy().min() and row["max"] == table[name].to_numpy().max()
    assert res.stats.loc["big", "q01"] == -1e308 and res.stats.loc["big", "q99"] == 1.5e308


def test_scan_exact_moments_for_all_huge_values_in_one_row_group(tmp_path):
    x = np.array([[1e308], [-1e308], [1.5e308], [5e307], [1.7976931348623157e308]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = scan_files(write_matrix(tmp_path, x, n_files=1, row_group_size=5))
    mean, std, _ = exact_moments(x[:, 0])
    assert res.mean[0] == pytest.approx(mean, rel=1e-14)
    assert res.std[0] == pytest.approx(std, rel=1e-14)


def test_sampled_rows_read_back_with_arrow_equal_the_first_rounds_values(tmp_path, monkeypatch):
    # past one column group the sampled rows are read back with Arrow (decimals with DuckDB): every
    # type a descriptor may have gives the bytes the one-query form gets from DuckDB's CAST
    rng = np.random.default_rng(21)
    n = 500
    table = pa.table({
        "f64": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "f32": rng.normal(size=n).astype(np.float32),
        "i64_past_2_53": rng.integers(-2**62, 2**62, n),  # rounded to nearest, not refused
        "i32_nulls": pa.array([None if i % 7 == 0 else i for i in range(n)], type=pa.int32()),
        "flag": rng.random(n) < 0.3,
        "dictionary": pa.array(rng.integers(0, 5, n).astype(np.float64)).dictionary_encode(),
        "decimal": pa.array([Decimal(int(v)).scaleb(-3) for v in rng.integers(-10**9, 10**9, n)],
                            type=pa.decimal128(18, 3)),
        "inf": np.where(rng.random(n) < 0.05, np.inf, rng.normal(size=n)),
        "u8": rng.integers(0, 255, n).astype(np.uint8),
        "id": np.arange(n, dtype=np.float64),
    })
    files = []
    for k in range(3):
        files.append(str(tmp_path / f"p{k}.parquet"))
        pq.write_table(table.slice(k * 170, 170), files[-1], row_group_size=40)
    schema = inspect_inputs(files)

    def sample(column_group: int, memory_bytes: int = 2**30) -> np.ndarray:
        monkeypatch.setattr(scanner_module, "COLUMN_GROUP", column_group)
        return np.asarray(Scanner(source(schema), schema.descriptors, schema.row_group_rows, seed=4, sample_rows=100,
                                  memory_bytes=memory_bytes, spill_dir=str(tmp_path)).run().sample)

    one_query = sample(1000)
    assert one_query.tobytes() == sample(2).tobytes() == sample(3, memory_bytes=1000).tobytes()
    # and the values are the input's: the id column says which rows were drawn
    rows = one_query[:, schema.descriptors.index("id")].astype(int)
    expected = table.column("i64_past_2_53").to_numpy()[rows].astype(np.float64)
    np.testing.assert_array_equal(one_query[:, schema.descriptors.index("i64_past_2_53")], expected)
    dec = np.array([float(v) for v in table.column("decimal").to_pylist()])[rows]
    np.testing.assert_array_equal(one_query[:, schema.descriptors.index("decimal")], dec)


@pytest.mark.parametrize("change", ["fewer_rows", "truncated"])
def test_a_file_changed_before_the_sampled_rows_are_read_back_is_named(tmp_path, monkeypatch, change):
    # the rows of a table wider than one query are read back after the first round: a file rewritten
    # or cut in between gives one line naming it, never a sample with rows from another table
    x = planted_matrix(300, seed=5)
    x[:, 2] = np.arange(300)
    files = write_matrix(tmp_path, x, 3, 7)
    monkeypatch.setattr(scanner_module, "COLUMN_GROUP", 2)
    schema = inspect_inputs(files)

    def rewrite(batch: int, rows: int) -> None:
        if rows == 300:  # the first round is done
            if change == "fewer_rows":
                pq.write_table(pq.read_table(files[1]).slice(0, 20), files[1], row_group_size=7)
            else:
                data = Path(files[1]).read_bytes()
                Path(files[1]).write_bytes(data[: len(data) // 2])

    scanner = Scanner(source(schema), schema.descriptors, schema.row_group_rows, seed=1, sample_rows=250,
                      on_batch=rewrite)
    with pytest.raises(PipelineError, match=rf"^{re.escape(files[1])}: .*(changed during the run|could not read)"):
        scanner.run()
