"""Ingest stage end to end (run_ingest): quality filters, exact duplicates, the row sample, bad input."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.ingest import IngestSettings, choose_keeper, run_ingest
from descriptor_pipeline.layout import StageFiles
from descriptor_pipeline.scan import scanner as scanner_module


def winsorized_reference(x: np.ndarray) -> float:
    """Variance (ddof=1) of the present values clipped at their 1st and 99th percentiles (linear)."""
    s = pd.Series(x).dropna()
    return float(s.clip(s.quantile(0.01), s.quantile(0.99)).var(ddof=1))


def none_if_nan(v: object) -> object:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else v


# ---- quality filters ----------------------------------------------------------------------------

N = 400


def filter_table() -> tuple[pa.Table, dict[str, tuple[str, str | None, float | None]]]:
    """Planted columns and their expected (status, reason, figure) at max_missing_ratio=0.25, min_off_mode_rows=5."""
    rng = np.random.default_rng(21)
    miss = lambda k: np.isin(np.arange(N), rng.choice(N, k, replace=False))  # noqa: E731
    near = 5.0 + 1e-5 * rng.normal(size=N)  # a tiny spread is a unit, not a lack of information: kept
    near[[7, 300]] = 100.0
    rare = np.zeros(N)
    rare[[1, 2, 3]] = 1.0  # three ones in 400 rows: not constant, but only 3 rows off the most frequent value
    flag = np.zeros(N)
    flag[[10, 20, 30, 40, 50]] = 7.0  # five rows off 0: a rare flag at the limit, kept
    allnan = np.full(N, np.nan)
    allnan[::3] = np.inf
    allnan[1::3] = -np.inf
    miss_at = rng.normal(size=N)
    gaps = rng.choice(N, 100, replace=False)
    miss_at[gaps[:50]] = np.nan  # 50 NaN + 50 nulls = exactly 25 % missing
    cols = {
        "id": pa.array(np.arange(N)),
        "tag_num": pa.array(rng.normal(size=N)),
        "my_tag_x": pa.array(rng.normal(size=N)),
        "id2": pa.array(rng.normal(size=N)),
        "name": pa.array([f"m{i}" for i in range(N)]),
        "when": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) for i in range(N)], type=pa.timestamp("us")),
        "allnull": pa.nulls(N, type=pa.float64()),
        "allnan": pa.array(allnan),
        "miss_at": pa.array(miss_at, mask=np.isin(np.arange(N), gaps[50:])),
        "miss_over": pa.array(rng.normal(size=N), mask=miss(101)),
        "const": pa.array(np.full(N, 3.5), mask=miss(40)),
        "const_mostly_missing": pa.array(np.full(N, 1.0), mask=miss(300)),
        "near": pa.array(near),
        "rare": pa.array(rare),
        "flag": pa.array(flag),
        "ok": pa.array(rng.normal(size=N)),
        "ok_int": pa.array(rng.integers(0, 50, N).astype(np.int32)),
    }
    table = pa.table(cols)
    mat = {c: np.array([np.nan if v is None else float(v) for v in table[c].to_pylist()]) for c in ("miss_at", "miss_over", "near")}
    n_missing_at = int(np.isnan(mat["miss_at"]).sum())
    assert n_missing_at == 100, "planting: miss_at must be exactly at the limit"
    expected = {
        "id": ("dropped", "excluded", None),
        "tag_num": ("dropped", "excluded", None),
        "my_tag_x": ("kept", None, None),
        "id2": ("kept", None, None),
        "name": ("dropped", "non_numeric", None),
        "when": ("dropped", "non_numeric", None),
        "allnull": ("dropped", "all_missing", 1.0),
        "allnan": ("dropped", "all_missing", 1.0),
        "miss_at": ("kept", None, None),
        "miss_over": ("dropped", "missing_ratio", 101 / N),
        "const": ("dropped", "constant", 3.5),
        "const_mostly_missing": ("dropped", "missing_ratio", 300 / N),
        "near": ("kept", None, None),
        "rare": ("dropped", "near_constant", 3.0),
        "flag": ("kept", None, None),
        "ok": ("kept", None, None),
        "ok_int": ("kept", None, None),
    }
    return table, expected


def test_filters_give_planted_reasons_and_figures(write_table, ingest):
    table, expected = filter_table()
    files = write_table(table, n_files=3)
    res = ingest(
        files, chunk_rows=7, sample_rows=0, max_missing_ratio=0.25, min_off_mode_rows=5,
        exclude_columns=("id", "tag_.*"),
    )
    assert list(res.stats.index) == table.column_names
    for name, (status, reason, figure) in expected.items():
        row = res.stats.loc[name]
        assert (row["status"], none_if_nan(row["reason"])) == (status, reason), name
        if figure is None:
            assert none_if_nan(row["figure"]) is None, name
        else:
            assert row["figure"] == pytest.approx(figure, rel=1e-9, abs=1e-300), name
        assert none_if_nan(row["duplicate_of"]) is None, name
    assert res.stats.loc["rare", "mode"] == 0.0 and res.stats.loc["rare", "n_off_mode_sample"] == 3
    assert res.stats.loc["near", ["mode", "n_off_mode_sample"]].tolist() == [100.0, N - 2]  # the two outliers
    # left-out columns carry no statistics
    for name in ("id", "tag_num", "name", "when"):
        assert res.stats.loc[name, ["mean", "std", "n_missing", "is_binary"]].isna().all(), name
    assert res.stats.loc["miss_at", "missing_ratio"] == 0.25
    kept = [c for c in table.column_names if expected[c][0] == "kept"]
    assert res.survivors == kept
    assert res.sample.column_names == kept
    assert res.summary["kept"] == len(kept)
    assert res.summary["removed"] == {"all_missing": 2, "missing_ratio": 2, "constant": 1, "near_constant": 1}


@pytest.mark.parametrize(("limit", "kept"), [(6, True), (7, False), (0, True)])
def test_min_off_mode_rows_boundary(write_table, ingest, limit, kept):
    # 400 rows: 394 at the most frequent value 2.0, 6 off it (4.0 twice, -1.0 four times)
    x = np.full(400, 2.0)
    x[[5, 50]] = 4.0
    x[[7, 70, 170, 370]] = -1.0
    other = np.random.default_rng(0).normal(size=400)
    res = ingest(write_table({"edge": x, "other": other}, n_files=2), chunk_rows=7, sample_rows=0, min_off_mode_rows=limit)
    assert res.stats.loc["edge", ["mode", "n_off_mode_sample"]].tolist() == [2.0, 6]
    assert (res.stats.loc["edge", "status"] == "kept") is kept
    if not kept:
        assert res.stats.loc["edge", "reason"] == "near_constant"
        assert res.stats.loc["edge", "figure"] == 6


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 12), st.floats(1e-12, 1e12), st.integers(0, 2**16))
def test_the_near_constant_verdict_is_the_same_in_any_unit(write_table, ingest, tmp_path_factory, off, factor, seed):
    """A column and the same column times any positive constant get the same verdict and figure
    (e.g. uniform on [0, 1e-5] and on [0, 10]; a flag of 0 / 1 and of 0 / 1e-9)."""
    assume(factor != 1.0)  # the same column again is an exact duplicate
    rng = np.random.default_rng(seed)
    base = np.zeros(300)
    base[rng.choice(300, off, replace=False)] = rng.uniform(0.5, 2.0, off)
    spread = rng.uniform(0, 1e-5, 300)
    table = {"flag": base, "flag_scaled": base * factor, "tiny": spread, "tiny_scaled": spread * factor,
             "other": rng.normal(size=300)}
    res = ingest(write_table(table, n_files=2), out=f"u{seed}-{off}", sample_rows=0, min_off_mode_rows=5)
    for a, b in (("flag", "flag_scaled"), ("tiny", "tiny_scaled")):
        left, right = res.stats.loc[a], res.stats.loc[b]
        assert (left["status"], none_if_nan(left["reason"]), left["n_off_mode_sample"]) == (
            right["status"], none_if_nan(right["reason"]), right["n_off_mode_sample"]), (a, b)
    assert none_if_nan(res.stats.loc["flag", "reason"]) == ("constant" if off == 0 else "near_constant" if off < 5 else None)
    assert res.stats.loc["tiny", "status"] == "kept"


@pytest.mark.parametrize(("n_missing", "kept"), [(20, True), (21, False)])
def test_max_missing_ratio_boundary(write_table, ingest, n_missing, kept):
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    res = ingest(
        write_table({"x": pa.array(x, mask=np.arange(40) < n_missing), "y": rng.normal(size=40)}, n_files=2),
        chunk_rows=7, max_missing_ratio=0.5,
    )
    assert (res.stats.loc["x", "status"] == "kept") is kept
    assert res.stats.loc["x", "missing_ratio"] == n_missing / 40
    if not kept:
        assert (res.stats.loc["x", "reason"], res.stats.loc["x", "figure"]) == ("missing_ratio", n_missing / 40)


def test_exclude_columns_is_a_full_match(write_table, ingest):
    rng = np.random.default_rng(2)
    names = ["row_id", "row_id2", "xrow_id", "mol", "mol_weight"]
    res = ingest(write_table({n: rng.normal(size=30) for n in names}), exclude_columns=("row_id", "mol"))
    assert res.reason() == {"row_id": "excluded", "row_id2": None, "xrow_id": None, "mol": "excluded", "mol_weight": None}
    assert res.survivors == ["row_id2", "xrow_id", "mol_weight"]


# ---- exact duplicates ---------------------------------------------------------------------------


def duplicate_table() -> tuple[dict[str, pa.Array], dict[str, str | None]]:
    """Columns and the expected duplicate_of (None: kept) with default keep / prefer."""
    rng = np.random.default_rng(31)
    n = 50
    a = rng.normal(size=n)
    nulls = np.isin(np.arange(n), [3, 17, 40])
    moved = np.isin(np.arange(n), [4, 17, 40])  # same values where present, one null moved
    one_off = a.copy()
    one_off[25] = np.nextafter(one_off[25], np.inf)
    extra_null = nulls.copy()
    extra_null[10] = True
    k = rng.integers(-100, 100, n)
    flag = rng.random(n) < 0.5
    cols = {
        "a": pa.array(a, mask=nulls),
        "b_copy": pa.array(a, mask=nulls),
        "a_nan": pa.array(np.where(nulls, np.nan, a)),  # NaN where a is null: missing is missing
        "a_moved_null": pa.array(a, mask=moved),
        "a_one_row": pa.array(one_off, mask=nulls),
        "a_extra_null": pa.array(a, mask=extra_null),
        "k_int": pa.array(k),
        "k_float": pa.array(k.astype(np.float64)),
        "k_dec": pa.array([int(v) for v in k], type=pa.decimal128(8, 0)),
        "flag": pa.array(flag),
        "flag01": pa.array(flag.astype(np.float64)),
        "c1": pa.array(np.full(n, 7.0)),
        "c2": pa.array(np.full(n, 7.0)),  # identical constants: dropped as constant, not as duplicates
    }
    expected = {name: None for name in cols}
    expected.update({"a_nan": "a", "b_copy": "a", "k_float": "k_dec", "k_int": "k_dec", "flag01": "flag"})
    return cols, expected


@pytest.mark.parametrize("sample_rows", [0, 20])  # every row: confirmed on the sample; 20: read again in DuckDB
@pytest.mark.parametrize("shuffle_seed", [None, 1, 2, 3])
def test_exact_duplicates_grouped_whatever_the_column_order(write_table, ingest, shuffle_seed, sample_rows):
    cols, expected = duplicate_table()
    names = list(cols)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(names)
    res = ingest(write_table({n: cols[n] for n in names}, n_files=3), chunk_rows=7, sample_rows=sample_rows,
                 min_off_mode_rows=2)
    assert list(res.stats.index) == names
    got = {n: none_if_nan(res.stats.loc[n, "duplicate_of"]) for n in names}
    assert got == expected
    for name, original in expected.items():
        row = res.stats.loc[name]
        if original is not None:
            assert (row["status"], row["reason"], row["figure"]) == ("duplicate", "exact_duplicate", 1.0)
    assert res.reason()["c1"] == res.reason()["c2"] == "constant"
    survivors = [n for n in names if expected[n] is None and n not in ("c1", "c2")]
    assert res.survivors == survivors
    assert res.sample.column_names == survivors


GROUP = ("gamma", "alpha", "beta")


@pytest.mark.parametrize(
    ("keep", "prefer", "expected"),
    [
        ((), (), {"alpha": None, "beta": "alpha", "gamma": "alpha"}),
        ((), ("gamma",), {"alpha": "gamma", "beta": "gamma", "gamma": None}),
        ((), ("other", "beta", "gamma"), {"alpha": "beta", "beta": None, "gamma": "beta"}),
        (("gamma",), ("beta",), {"alpha": "gamma", "beta": "gamma", "gamma": None}),
        (("gamma", "beta"), ("gamma",), {"alpha": "beta", "beta": None, "gamma": None}),
        (("other",), (), {"alpha": None, "beta": "alpha", "gamma": "alpha"}),
    ],
)
def test_keeper_follows_keep_then_prefer_then_name(write_table, ingest, keep, prefer, expected):
    rng = np.random.default_rng(5)
    x = rng.normal(size=30)
    for order_seed in (0, 1):
        names = [*GROUP, "other"]
        random.Random(order_seed).shuffle(names)
        cols = {n: (rng.normal(size=30) if n == "other" else x) for n in names}
        res = ingest(write_table(cols, subdir=f"in{order_seed}"), out=f"out{order_seed}", keep=keep, prefer=prefer)
        assert {n: none_if_nan(res.stats.loc[n, "duplicate_of"]) for n in GROUP} == expected
        assert res.stats.loc["other", "status"] == "kept"
        assert res.survivors == [n for n in names if n == "other" or expected[n] is None]


@pytest.mark.parametrize(
    ("names", "keep", "prefer", "keeper"),
    [
        (["b", "a", "c"], [], [], "a"),
        (["b", "a", "c"], [], ["c", "b"], "c"),
        (["b", "a", "c"], [], ["x", "b"], "b"),
        (["b", "a", "c"], ["c"], ["b"], "c"),
        (["b", "a", "c"], ["c", "b"], [], "b"),
        (["B", "a"], [], [], "B"),  # plain code-point order
    ],
)
def test_choose_keeper(names, keep, prefer, keeper):
    assert choose_keeper(names, keep, prefer) == keeper
    assert choose_keeper(list(reversed(names)), keep, prefer) == keeper


def test_choose_keeper_with_known_names():
    """After keep and prefer, the best-known name of an exact-duplicate group stays (MolWt before MW),
    where the name order alone keeps 'AMW_copy'."""
    names = ["AMW_copy", "MW", "rdkit:MolWt"]
    assert choose_keeper(names, [], [], prefer_known=True) == "rdkit:MolWt"
    assert choose_keeper(names, [], [], prefer_known=False) == "AMW_copy"
    assert choose_keeper(names, [], ["MW"], prefer_known=True) == "MW"
    assert choose_keeper(names, ["AMW_copy"], [], prefer_known=True) == "AMW_copy"


# ---- the row sample -----------------------------------------------------------------------------


def sample_table(n: int = 600) -> pa.Table:
    rng = np.random.default_rng(41)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    return pa.table({
        "idx": np.arange(n, dtype=np.float64),  # identifies the row
        "const": np.full(n, 1.0),  # dropped: must not be in the sample
        "x": x,
        "x_copy": x,  # duplicate: must not be in the sample
        "y": rng.integers(0, 9, n),
        "label": [f"r{i}" for i in range(n)],
    })


def test_sample_is_reproducible_and_holds_only_survivors(write_table, ingest):
    table = sample_table()
    files = write_table(table, n_files=3)
    a = ingest(files, out="a", seed=3, sample_rows=100, chunk_rows=7)
    b = ingest(files, out="b", seed=3, sample_rows=100, chunk_rows=7)
    assert a.sample_path.read_bytes() == b.sample_path.read_bytes()
    assert a.stats_path.read_bytes() == b.stats_path.read_bytes()
    assert a.survivors == ["idx", "x", "y"]
    assert a.survivors_path.read_text() == "idx\nx\ny\n"
    assert a.sample.column_names == a.survivors
    assert a.sample.num_rows == 100
    idx = a.sample["idx"].to_numpy()
    assert len(set(idx)) == 100
    # every sampled row is an input row with its values (missing as NaN, ints as floats)
    x_ref = table["x"].to_numpy()[idx.astype(int)]
    np.testing.assert_array_equal(a.sample["x"].to_numpy(), x_ref)
    np.testing.assert_array_equal(a.sample["y"].to_numpy(), table["y"].to_numpy()[idx.astype(int)].astype(float))
    assert all(pa.types.is_float64(t) for t in a.sample.schema.types)


def test_a_sample_past_the_memory_budget_gives_the_same_bytes_from_a_file_and_leaves_none(write_table, ingest, caplog):
    files = write_table(sample_table(), n_files=3)
    a = ingest(files, out="a", seed=3, sample_rows=100)
    with caplog.at_level("INFO", logger="descriptor_pipeline"):
        b = ingest(files, out="b", seed=3, sample_rows=100, memory_mb=0)  # below the schema's minimum: always a file
    assert "kept in a temporary file" in caplog.text
    for path in ("sample_path", "stats_path", "survivors_path"):
        assert getattr(a, path).read_bytes() == getattr(b, path).read_bytes(), path
    assert sorted(p.name for p in b.sample_path.parent.iterdir()) == sorted(p.name for p in a.sample_path.parent.iterdir())


def test_sample_changes_with_the_seed(write_table, ingest):
    files = write_table(sample_table(), n_files=2)
    a = ingest(files, out="a", seed=3, sample_rows=100)
    b = ingest(files, out="b", seed=4, sample_rows=100)
    assert a.sample_path.read_bytes() != b.sample_path.read_bytes()
    ia, ib = set(a.sample["idx"].to_numpy()), set(b.sample["idx"].to_numpy())
    assert ia != ib
    assert len(ia & ib) < 60  # two independent draws of 100 of 600 share about 17 rows


def test_sample_does_not_depend_on_file_split_chunking_or_row_order(write_table, ingest):
    table = sample_table()
    one = ingest(write_table(table, n_files=1, subdir="one"), out="one", seed=9, sample_rows=80, chunk_rows=0)
    five = ingest(write_table(table, n_files=5, subdir="five"), out="five", seed=9, sample_rows=80, chunk_rows=7)
    rev = table.take(np.arange(table.num_rows)[::-1])
    back = ingest(write_table(rev, n_files=2, subdir="rev"), out="rev", seed=9, sample_rows=80, chunk_rows=13)
    assert one.sample_path.read_bytes() == five.sample_path.read_bytes() == back.sample_path.read_bytes()


@pytest.mark.parametrize(("sample_rows", "expected_rows"), [(0, 600), (2, 2), (599, 599), (600, 600), (10_000, 600)])
def test_sample_size(write_table, ingest, sample_rows, expected_rows):
    res = ingest(write_table(sample_table(), n_files=3), sample_rows=sample_rows, chunk_rows=7, min_off_mode_rows=0)
    idx = res.sample["idx"].to_numpy()
    assert len(idx) == len(set(idx)) == expected_rows
    assert set(idx) <= set(range(600))


def test_sample_is_spread_over_the_rows(write_table, ingest):
    # 200 of 2000 rows: the mean row index is 999.5 +- about 55 (sd) for a uniform draw without replacement
    n, k = 2000, 200
    rng = np.random.default_rng(0)
    res = ingest(write_table({"idx": np.arange(n, dtype=float), "x": rng.normal(size=n)}, n_files=4), sample_rows=k)
    idx = res.sample["idx"].to_numpy()
    sd = n / np.sqrt(12 * k) * np.sqrt(1 - k / n)
    assert abs(idx.mean() - (n - 1) / 2) < 4 * sd
    counts = np.histogram(idx, bins=4, range=(0, n))[0]  # one bin per file
    assert counts.min() > 20


def test_sample_rows_zero_keeps_every_row(write_table, ingest):
    table = sample_table()
    res = ingest(write_table(table, n_files=3), sample_rows=0, chunk_rows=7)
    got = res.sample.to_pandas().sort_values("idx").reset_index(drop=True)
    ref = table.select(["idx", "x", "y"]).to_pandas().astype(float)
    pd.testing.assert_frame_equal(got, ref)


# ---- bad input ----------------------------------------------------------------------------------


def ingest_paths(out: Path) -> tuple[Path, Path, Path]:
    files = StageFiles(out)
    return files.column_stats, files.survivors, files.sample


def assert_fails_cleanly(tmp_path: Path, files: list[str], settings: IngestSettings, *culprits: str) -> PipelineError:
    out = tmp_path / "out"
    paths = ingest_paths(out)
    with pytest.raises(PipelineError) as info:
        run_ingest(files, settings, *(str(p) for p in paths))
    message = str(info.value)
    assert "\n" not in message
    for culprit in culprits:
        assert culprit in message
    assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())
    return info.value


def good_table(n: int = 20) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table({"a": rng.normal(size=n), "b": rng.normal(size=n), "s": [f"v{i}" for i in range(n)]})


def test_not_a_parquet_file(tmp_path, write_table):
    files = write_table(good_table(), n_files=2)
    bad = tmp_path / "in" / "notes.parquet"
    bad.write_text("a,b\n1,2\n")
    assert_fails_cleanly(tmp_path, [*files, str(bad)], IngestSettings.with_defaults(), str(bad), "Parquet")


def test_truncated_parquet_file(tmp_path, write_table):
    files = write_table(good_table(200), n_files=2)
    data = Path(files[1]).read_bytes()
    Path(files[1]).write_bytes(data[: len(data) // 2])
    assert_fails_cleanly(tmp_path, files, IngestSettings.with_defaults(), files[1])


def test_damaged_data_pages(tmp_path, write_table):
    # a valid footer in front of damaged column chunks: DuckDB fails in the middle of the scan
    table = pa.table({"a": np.arange(5000) % 7 * 1.0, "b": np.arange(5000) % 5 * 1.0})
    files = write_table(table, n_files=2, compression="zstd")
    data = bytearray(Path(files[1]).read_bytes())
    for i in range(8, 200):
        data[i] ^= 0x5A
    Path(files[1]).write_bytes(bytes(data))
    assert_fails_cleanly(tmp_path, files, IngestSettings.with_defaults(chunk_rows=7), files[1])


@pytest.mark.parametrize(
    ("second", "culprits"),
    [
        (lambda t: t.drop_columns(["b"]), ["'b'", "missing"]),
        (lambda t: t.set_column(1, "b", t["b"].cast(pa.float32())), ["'b'", "float", "double"]),
        (lambda t: t.set_column(2, "s", pa.array(range(t.num_rows))), ["'s'", "int64", "string"]),
        (lambda t: t.append_column("extra", t["a"]), ["'extra'"]),
    ],
    ids=["missing-column", "other-float-type", "string-vs-int", "extra-column"],
)
def test_schemas_disagree(tmp_path, second, culprits):
    table = good_table()
    d = tmp_path / "in"
    d.mkdir()
    pq.write_table(table, d / "part-000.parquet")
    pq.write_table(second(table), d / "part-001.parquet")
    files = [str(d / "part-000.parquet"), str(d / "part-001.parquet")]
    assert_fails_cleanly(tmp_path, files, IngestSettings.with_defaults(), files[1], *culprits)


def test_duplicate_column_name(tmp_path):
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([1.0, 2.0]), pa.array([3.0, 4.0])], names=["a", "a"]), path)
    assert_fails_cleanly(tmp_path, [str(path)], IngestSettings.with_defaults(), str(path), "'a'")


@pytest.mark.parametrize("exclude", [(), ("a", "b")])
def test_no_numeric_column(tmp_path, write_table, exclude):
    table = good_table() if exclude else good_table().select(["s"])
    files = write_table(table)
    err = assert_fails_cleanly(tmp_path, files, IngestSettings.with_defaults(exclude_columns=exclude), files[0], "numeric")
    assert "exclude_columns" in str(err)


def test_zero_rows(tmp_path, write_table):
    files = write_table(good_table(0))
    assert_fails_cleanly(tmp_path, files, IngestSettings.with_defaults(), files[0], "0 rows")


def test_zero_row_file_among_others_is_fine(write_table, ingest):
    table = good_table(30)
    files = write_table(table, bounds=[0, 10, 10, 30])
    res = ingest(files)
    assert res.summary["rows"] == 30
    assert res.stats.loc["a", "mean"] == pytest.approx(float(np.mean(table["a"].to_numpy())), rel=1e-12)


@pytest.mark.parametrize(
    ("settings", "culprits"),
    [
        (IngestSettings.with_defaults(keep=("a", "nope")), ["'keep'", "'nope'", "no input column"]),
        (IngestSettings.with_defaults(prefer=("s",)), ["'prefer'", "'s'", "not numeric"]),
        (IngestSettings.with_defaults(keep=("a",), exclude_columns=("a",)), ["'keep'", "'a'", "excluded"]),
        (IngestSettings.with_defaults(exclude_columns=("a", "b[")), ["'exclude_columns'", "'b['", "regular expression"]),
    ],
    ids=["keep-unknown", "prefer-non-numeric", "keep-excluded", "bad-regex"],
)
def test_bad_settings(tmp_path, write_table, settings, culprits):
    files = write_table(good_table())
    assert_fails_cleanly(tmp_path, files, settings, *culprits)


def test_duckdb_threads_do_not_change_the_outputs(write_table, ingest):
    cols, _ = duplicate_table()
    table = pa.concat_tables([pa.table(cols)] * 40)  # 2000 rows over several row groups and files
    files = write_table(table, n_files=4, row_group_size=97)
    one = ingest(files, out="one", threads=1, chunk_rows=7, sample_rows=300)
    four = ingest(files, out="four", threads=4, chunk_rows=7, sample_rows=300)
    # more threads give other batch boundaries; rows keep their order, so only rounding may differ
    assert one.sample_path.read_bytes() == four.sample_path.read_bytes()
    assert one.survivors == four.survivors
    exact = ["status", "reason", "duplicate_of", "n_missing", "min", "max", "median", "n_distinct_sample"]
    pd.testing.assert_frame_equal(one.stats[exact], four.stats[exact])
    for key in ("mean", "std", "variance"):
        np.testing.assert_allclose(one.stats[key], four.stats[key], rtol=1e-13)


def test_column_groups_do_not_change_the_outputs(write_table, ingest, monkeypatch, caplog):
    table, _ = filter_table()
    rng = np.random.default_rng(5)
    table = table.append_column("offset", pa.array(1e12 + rng.normal(size=N)))  # read again, shifted: round 2
    files = write_table(table, n_files=3, row_group_size=61)
    settings = dict(sample_rows=150, chunk_rows=170, max_missing_ratio=0.25, min_off_mode_rows=5,
                    exclude_columns=("id", "tag_.*"))
    with caplog.at_level("INFO", logger="descriptor_pipeline"):
        whole = ingest(files, out="whole", **settings)
        monkeypatch.setattr(scanner_module, "COLUMN_GROUP", 4)  # read there, not from the package
        grouped = ingest(files, out="grouped", **settings)
    assert caplog.text.count("ingest: 2 aggregate rounds") == 2
    # the progress of a scan in column groups counts rows, and says how many queries a batch takes
    assert "ingest scan (4 queries of up to 4 columns a batch): 400/400 rows (100.0%)" in caplog.text
    assert "rows (each in" not in caplog.text
    for a, b in zip(ingest_paths(whole.out_dir), ingest_paths(grouped.out_dir)):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_table_wider_than_duckdbs_grouped_aggregate_limit(write_table, ingest):
    # 4,000 columns in one grouped aggregate kill DuckDB 2.0 with SIGFPE; the scan splits them into groups
    rng = np.random.default_rng(8)
    n, p = 40, 4_000
    values = rng.normal(size=(n, p))
    values[rng.random((n, p)) < 0.05] = np.nan
    names = [f"d{j:04d}" for j in range(p)]
    files = write_table({"idx": np.arange(n, dtype=float)} | dict(zip(names, values.T)), n_files=2, row_group_size=15)
    res = ingest(files, sample_rows=30)
    stats = res.stats.loc[names]
    np.testing.assert_array_equal(stats["n_missing"].to_numpy(), np.isnan(values).sum(axis=0))
    np.testing.assert_allclose(stats["mean"].to_numpy(), np.nanmean(values, axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats["std"].to_numpy(), np.nanstd(values, axis=0, ddof=1), rtol=1e-12)
    assert res.survivors == ["idx", *names]
    idx = res.sample["idx"].to_numpy().astype(int)
    assert len(set(idx)) == res.sample.num_rows == 30
    np.testing.assert_array_equal(res.sample.select(names).to_pandas().to_numpy(), values[idx])


def test_progress_logs_its_final_count_once(caplog, monkeypatch):
    """finish() logs the final count, unless the last update has just logged it."""
    from descriptor_pipeline import logs

    clock = iter([0.0, 11.0, 12.0, 0.0, 5.0, 6.0])
    monkeypatch.setattr(logs.time, "perf_counter", lambda: next(clock))
    with caplog.at_level("INFO", logger="descriptor_pipeline"):
        first = logs.Progress("first", 10, "rows")
        first.update(10)  # 11 s: logged, the final count
        first.finish()    # not again
        second = logs.Progress("second", 10, "rows")
        second.update(10)  # 5 s: not logged (under 10 s)
        second.finish()    # logged
    lines = [r.getMessage().split(" (")[0] for r in caplog.records]
    assert lines == ["first: 10/10 rows", "second: 10/10 rows"]
