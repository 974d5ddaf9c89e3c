"""Finding the input files and checking their schemas (inputs.py)."""

from __future__ import annotations

import os
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import (
    check_named_columns,
    compile_patterns,
    expand_inputs,
    inspect_inputs,
    is_numeric,
    numbers_as_text,
)


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return str(path)


def one_line(err: pytest.ExceptionInfo[PipelineError]) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


# ---- expand_inputs ------------------------------------------------------------------------------


def test_expand_inputs_sorts_deduplicates_and_skips_directories(tmp_path):
    b = touch(tmp_path / "d" / "b.parquet")
    a = touch(tmp_path / "d" / "a.parquet")
    c = touch(tmp_path / "d" / "sub" / "c.parquet")
    (tmp_path / "d" / "dir.parquet").mkdir()
    assert expand_inputs(str(tmp_path / "d" / "*.parquet")) == [a, b]
    assert expand_inputs([str(tmp_path / "d" / "*.parquet"), b, str(tmp_path / "d" / "./a.parquet")]) == [a, b]
    assert expand_inputs(str(tmp_path / "d" / "**" / "*.parquet")) == sorted([a, b, c])


def test_expand_inputs_relative_to_working_directory_and_home(tmp_path, monkeypatch):
    touch(tmp_path / "data" / "x.parquet")
    monkeypatch.chdir(tmp_path)
    assert expand_inputs("data/*.parquet") == [os.path.join("data", "x.parquet")]
    monkeypatch.setenv("HOME", str(tmp_path))
    assert expand_inputs("~/data/x.parquet") == [str(tmp_path / "data" / "x.parquet")]


@pytest.mark.parametrize("patterns", ["{d}/*.parquet", ["{d}/a.parquet", "{d}/none-*.parquet"], "{d}/missing.parquet"])
def test_expand_inputs_fails_on_a_pattern_matching_nothing(tmp_path, patterns):
    touch(tmp_path / "a.parquet")
    touch(tmp_path / "only-a-dir.txt")
    d = tmp_path / "empty"
    d.mkdir()
    fill = lambda p: p.format(d=d if "a.parquet" not in p else tmp_path)  # noqa: E731
    patterns = fill(patterns) if isinstance(patterns, str) else [fill(p) for p in patterns]
    culprit = patterns if isinstance(patterns, str) else patterns[1]
    with pytest.raises(PipelineError) as err:
        expand_inputs(patterns)
    message = one_line(err)
    assert "config key 'input'" in message
    assert repr(culprit) in message


def test_expand_inputs_empty_directory_glob(tmp_path):
    (tmp_path / "sub").mkdir()  # a directory is not a file
    with pytest.raises(PipelineError, match="config key 'input'"):
        expand_inputs(str(tmp_path / "*"))


# ---- column types and patterns ------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype",
    [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint64(), pa.float16(), pa.float32(),
     pa.float64(), pa.decimal128(10, 2), pa.decimal256(40, 5), pa.bool_()],
)
def test_numeric_types(dtype):
    assert is_numeric(dtype)


@pytest.mark.parametrize(
    "dtype",
    [pa.string(), pa.large_string(), pa.binary(), pa.timestamp("us"), pa.date32(), pa.duration("s"),
     pa.list_(pa.float64()), pa.struct([("x", pa.float64())]), pa.dictionary(pa.int32(), pa.string()), pa.null()],
)
def test_non_numeric_types(dtype):
    assert not is_numeric(dtype)


def test_compile_patterns_full_match_semantics():
    pats = compile_patterns(["row_id", r"mol_\d+", "x.*y"])
    names = ["row_id", "row_id_2", "my_row_id", "mol_12", "mol_12a", "xay", "xa"]
    assert [n for n in names if any(p.fullmatch(n) for p in pats)] == ["row_id", "mol_12", "xay"]


@pytest.mark.parametrize("bad", ["(", "[a-", "*x", "a{2,1}"])
def test_compile_patterns_rejects_invalid_regex(bad):
    with pytest.raises(PipelineError) as err:
        compile_patterns(["fine", bad])
    message = one_line(err)
    assert "config key 'exclude_columns'" in message
    assert repr(bad) in message


# ---- inspect_inputs -----------------------------------------------------------------------------


def test_inspect_inputs_classifies_columns_and_counts_rows(write_table):
    n = 23
    table = pa.table({
        "row_id": np.arange(n),
        "name": [f"m{i}" for i in range(n)],
        "x": np.linspace(0, 1, n),
        "flag": np.arange(n) % 2 == 0,
        "dec": pa.array([Decimal(i) for i in range(n)], type=pa.decimal128(5, 0)),
        "id_extra": np.arange(n, dtype=np.int32),
        "when": pa.array(np.arange(n), type=pa.timestamp("ms")),
    })
    files = write_table(table, n_files=3)
    schema = inspect_inputs(files, ["row_id", "id_.*"])
    assert schema.files == files
    assert schema.n_rows == n
    assert schema.columns == table.column_names
    assert schema.types == {f.name: str(f.type) for f in table.schema}
    assert schema.excluded == ["row_id", "id_extra"]
    assert schema.non_numeric == ["name", "when"]
    assert schema.descriptors == ["x", "flag", "dec"]


def test_inspect_inputs_accepts_files_with_columns_in_another_order(tmp_path, ingest):
    # Columns are matched by name: a reordered second file is the same table
    d = tmp_path / "in"
    d.mkdir()
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, 30.0]}), d / "p0.parquet")
    pq.write_table(pa.table({"b": [40.0, 50.0], "a": [4.0, 5.0]}), d / "p1.parquet")
    files = [str(d / "p0.parquet"), str(d / "p1.parquet")]
    assert inspect_inputs(files).descriptors == ["a", "b"]
    res = ingest(files, sample_rows=0)
    assert res.stats.loc["a", ["mean", "min", "max"]].tolist() == [3.0, 1.0, 5.0]
    assert res.stats.loc["b", ["mean", "min", "max"]].tolist() == [30.0, 10.0, 50.0]


def test_inspect_inputs_reads_no_data(write_table, monkeypatch):
    files = write_table({"x": np.arange(10.0)}, n_files=2)

    def boom(*args, **kwargs):
        raise AssertionError("inspect_inputs must read footers only")

    monkeypatch.setattr(pq, "read_table", boom)
    monkeypatch.setattr(pq.ParquetFile, "read", boom)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", boom)
    assert inspect_inputs(files).n_rows == 10


def two_files(tmp_path, first: pa.Table, second: pa.Table) -> list[str]:
    paths = [tmp_path / "p0.parquet", tmp_path / "p1.parquet"]
    pq.write_table(first, paths[0])
    pq.write_table(second, paths[1])
    return [str(p) for p in paths]


BASE = pa.table({"x": [1.0, 2.0], "k": pa.array([1, 2], type=pa.int64()), "s": ["a", "b"]})


@pytest.mark.parametrize(
    ("second", "words"),
    [
        (BASE.drop_columns(["k"]), ["'k'", "missing"]),
        (BASE.drop_columns(["s"]), ["'s'", "missing"]),  # a non-numeric column counts too
        (BASE.set_column(1, "k", BASE["k"].cast(pa.int32())), ["'k'", "int32", "int64"]),
        (BASE.append_column("y", BASE["x"]), ["'y'", "not in"]),
    ],
    ids=["missing-descriptor", "missing-text", "int32-vs-int64", "extra"],
)
def test_inspect_inputs_schema_disagreement(tmp_path, second, words):
    files = two_files(tmp_path, BASE, second)
    with pytest.raises(PipelineError) as err:
        inspect_inputs(files)
    message = one_line(err)
    assert message.startswith(files[1] + ":")
    for word in words:
        assert word in message


@pytest.mark.parametrize("content", [b"", b"PAR1", b"not parquet at all\n" * 10])
def test_inspect_inputs_unreadable_file(tmp_path, content):
    good = tmp_path / "good.parquet"
    pq.write_table(BASE, good)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(content)
    with pytest.raises(PipelineError) as err:
        inspect_inputs([str(good), str(bad)])
    message = one_line(err)
    assert message.startswith(f"{bad}: not a readable Parquet file")


def test_inspect_inputs_no_descriptor_and_no_rows(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(BASE.select(["s"]), path)
    with pytest.raises(PipelineError, match="no numeric descriptor column"):
        inspect_inputs([str(path)])
    pq.write_table(BASE, path)
    with pytest.raises(PipelineError, match="no numeric descriptor column.*excluded: 2"):
        inspect_inputs([str(path)], ["x", "k"])
    pq.write_table(BASE.slice(0, 0), path)
    with pytest.raises(PipelineError, match="0 rows"):
        inspect_inputs([str(path)])


def test_check_named_columns(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(BASE, path)
    schema = inspect_inputs([str(path)], ["k"])
    check_named_columns(schema, "keep", ["x"])  # fine
    check_named_columns(schema, "prefer", [])
    cases = {"nope": "no input column", "k": "excluded or not numeric", "s": "excluded or not numeric"}
    for name, why in cases.items():
        with pytest.raises(PipelineError) as err:
            check_named_columns(schema, "prefer", ["x", name])
        message = one_line(err)
        assert f"config key 'prefer': {name!r}" in message and why in message


# ---- numbers stored as text ---------------------------------------------------------------------

TEXT = pa.table({
    "smiles": ["CCO", "c1ccccc1", None, "C"],
    "written": ["1.5", "-2", "", "nan"],                          # numbers written as text (empty = missing)
    "large": pa.array(["3", "1e-3", None, " 4 "], type=pa.large_string()),
    "coded": pa.array(["0", "1", "0", "1"]).dictionary_encode(),  # dictionary-encoded text
    "errors": ["12.5", "float division by zero", "3", "4"],        # 1 in 4 is an error message: not numbers
    "chembl": ["CHEMBL25", "CHEMBL112", "CHEMBL3", "CHEMBL4"],
    "empty": pa.array([None, None, None, None], type=pa.string()),
    "x": [1.0, 2.0, 3.0, 4.0],
})


def test_numbers_as_text_finds_text_columns_of_numbers(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(TEXT, path)
    assert numbers_as_text(str(path), TEXT.column_names) == ["written", "large", "coded"]
    assert numbers_as_text(str(path), ["smiles", "x"]) == []
    rows = pa.table({"n": [str(v) for v in range(300)] + ["error"] * 300})  # only the first 200 rows are read
    pq.write_table(rows, path)
    assert numbers_as_text(str(path), ["n"]) == ["n"]


def test_no_descriptor_because_numbers_are_text(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(TEXT.drop_columns(["x"]), path)
    with pytest.raises(PipelineError) as err:
        inspect_inputs([str(path)])
    message = one_line(err)
    assert "no numeric descriptor column (non-numeric: 7" in message
    assert "3 of them hold numbers stored as text ('written', 'large', 'coded')" in message
    assert "'exclude_columns'" in message


def test_ingest_warns_of_numbers_stored_as_text(write_table, ingest, caplog):
    files = write_table({"x": np.arange(40.0), "y": np.arange(40.0) ** 2, "z": [str(v) for v in range(40)],
                         "name": [f"m{v}" for v in range(40)]}, n_files=2)
    with caplog.at_level("WARNING", logger="descriptor_pipeline"):
        res = ingest(files)
    assert res.summary["numbers_as_text"] == ["z"] and res.summary["non_numeric"] == ["z", "name"]
    assert "ingest: 2 non-numeric columns are dropped; 1 of them holds numbers stored as text ('z')" in caplog.text
