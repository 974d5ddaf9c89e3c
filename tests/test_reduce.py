"""Reduced tables: the input rows projected on the final descriptors (the run's reduced/
folder and ``descriptor-pipeline apply``), checked against the inputs read with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.cli import main
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.layout import Results
from descriptor_pipeline.reduce import mirrored, reduce_files
from workflow_helpers import results_of


def planted(folder, n=90):
    """Two files in nested folders, small row groups, pandas metadata, case-only names."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"mol_id": np.arange(n), "smiles": [f"C{i}" for i in range(n)],
                       "naRing": rng.normal(size=n), "nARing": rng.integers(0, 3, n), "x y": rng.normal(size=n)})
    files = [folder / "a" / "part-0.parquet", folder / "a" / "b" / "part-1.parquet"]
    for f, part in zip(files, (df.iloc[:40], df.iloc[40:])):
        f.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(part), f, row_group_size=16)
    return df, [str(f) for f in files]


def test_reduced_files_mirror_the_inputs_and_hold_exactly_the_selection(tmp_path):
    df, files = planted(tmp_path / "in")
    assert mirrored(files) == ["part-0.parquet", "b/part-1.parquet"]
    written = reduce_files(files, ["nARing", "x y"], tmp_path / "out", carry=["mol_id", "smiles"])
    assert [str(p.relative_to(tmp_path / "out")) for p in written] == ["part-0.parquet", "b/part-1.parquet"]
    for f, out in zip(files, written):
        source, reduced = pq.ParquetFile(f), pq.ParquetFile(out)
        assert reduced.schema_arrow.names == ["mol_id", "smiles", "nARing", "x y"]
        assert reduced.num_row_groups == source.num_row_groups  # streamed row group by row group
        assert b"pandas" not in (reduced.schema_arrow.metadata or {})
        pd.testing.assert_frame_equal(reduced.read().to_pandas(),
                                      pq.read_table(f).to_pandas()[["mol_id", "smiles", "nARing", "x y"]].reset_index(drop=True))
    assert sorted(p.name for p in (tmp_path).iterdir()) == ["in", "out"]  # no temporary left


@pytest.mark.parametrize(("names", "carry", "words"), [
    (["narinG"], [], ["part-0.parquet", "'narinG'", "final descriptor", "exactly"]),
    (["naRing"], ["MOL_ID"], ["'MOL_ID'", "'carry_columns'"]),
    (["naRing"], ["naRing"], ["'carry_columns'", "'naRing'"]),
])
def test_a_missing_or_doubled_column_fails_before_anything_is_written(tmp_path, names, carry, words):
    _, files = planted(tmp_path / "in")
    with pytest.raises(PipelineError) as err:
        reduce_files(files, names, tmp_path / "out", carry=carry)
    assert all(w in str(err.value) for w in words), str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_run_writes_reduced_tables_and_apply_does_the_same(demo_run, tmp_path, capsys):
    run = results_of(demo_run)
    results = run.root
    final = run.final_list.read_text(encoding="utf-8").splitlines()
    inputs = sorted(run.demo.glob("*.parquet"))
    reduced = sorted(run.reduced.glob("*.parquet"))
    assert [p.name for p in reduced] == [p.name for p in inputs]
    stats = pq.read_table(run.ingest.column_stats).to_pylist()
    ids = [r["column"] for r in stats if r["reason"] in ("excluded", "non_numeric")]  # by default, carried
    assert "row_id" in ids and any(r["reason"] == "non_numeric" for r in stats if r["column"] in ids), ids
    assert [name for name in pq.read_schema(inputs[0]).names if name in ids] == ids  # in input order
    for f, out in zip(inputs, reduced):
        pd.testing.assert_frame_equal(pq.read_table(out).to_pandas(), pq.read_table(f, columns=[*ids, *final]).to_pandas())
    for flags, carried in (([], ids), (["--carry", "row_id"], ["row_id"]), (["--no-carry"], [])):
        out_dir = tmp_path / f"new{len(carried)}"
        assert main(["apply", str(run.demo), "--selection", str(results), "--out", str(out_dir), *flags]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed == [str(out_dir / p.name) for p in inputs]
        for f, out in zip(inputs, printed):
            pd.testing.assert_frame_equal(pq.read_table(out).to_pandas(), pq.read_table(f, columns=[*carried, *final]).to_pandas())
    assert main(["apply", str(run.demo), "--out", str(tmp_path / "x"), "--selection", str(tmp_path)]) == 1
    assert f"{Results(tmp_path).final_list.name}: file not found" in capsys.readouterr().err


# ---- apply never removes what it did not write -----------------------------------------------------


def apply_case(tmp_path, monkeypatch):
    """Inputs under in/, a selection list, and the command line of an apply run from tmp_path."""
    _, files = planted(tmp_path / "in")
    selection = tmp_path / "final.txt"
    selection.write_text("naRing\nx y\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return files, ["apply", "in/a", "in/a/b", "--selection", "final.txt", "--carry", "mol_id"]


def snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("out", "words"), [
    (".", "the current directory"),
    ("in/a", "holds the input in/a/"),
    ("in/a/new", "inside the input folder in/a"),
    ("in", "holds the input in/a/"),
    ("final.txt", "a file, not a folder"),
    ("home", "your home directory"),
    ("other", "holds files apply did not write (e.g. 'notes.txt')"),
])
def test_apply_refuses_an_out_folder_it_may_not_replace_and_touches_nothing(tmp_path, monkeypatch, capsys, out, words):
    files, argv = apply_case(tmp_path, monkeypatch)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("a user's file")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".bashrc").write_text("# mine")
    before = snapshot(tmp_path)
    assert main([*argv, "--out", out]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"descriptor-pipeline: error: apply --out {out}: ") and words in err and "\n" not in err, err
    assert snapshot(tmp_path) == before  # nothing written, nothing removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.txt", "home", "in", "other"]  # no temporary left


def test_apply_replaces_only_its_own_earlier_output(tmp_path, monkeypatch, capsys):
    files, argv = apply_case(tmp_path, monkeypatch)
    assert main([*argv, "--out", "new"]) == 0
    written = capsys.readouterr().out.split()
    assert written == ["new/b/part-1.parquet", "new/part-0.parquet"]  # the inputs in sorted order
    assert sorted(str(p.relative_to(tmp_path / "new")) for p in (tmp_path / "new").rglob("*") if p.is_file()) == [
        "b/part-1.parquet", "descriptor-pipeline-apply.json", "part-0.parquet"]
    first = snapshot(tmp_path / "new")
    assert main([*argv, "--out", "new"]) == 0  # its own output: replaced, the same bytes
    assert snapshot(tmp_path / "new") == first
    assert pq.read_table("new/part-0.parquet").column_names == ["mol_id", "naRing", "x y"]
    (tmp_path / "new" / "b" / "mine.csv").write_text("a user's file")  # then something apply did not write
    assert main([*argv, "--out", "new"]) == 1
    assert "holds files apply did not write (e.g. 'b/mine.csv')" in capsys.readouterr().err
    assert (tmp_path / "new" / "b" / "mine.csv").read_text() == "a user's file"
    (tmp_path / "empty").mkdir()
    assert main([*argv, "--out", "empty"]) == 0  # an empty folder is taken


@pytest.mark.parametrize(("content", "words"), [
    (b"", "final.txt: lists no descriptor"),
    (b"PAR1\x15\x04\x15\xa0\xff\xfe\x00PAR1", "final.txt: not a list of names (UTF-8 text, one name per line)"),
])
def test_apply_refuses_an_empty_or_unreadable_selection(tmp_path, monkeypatch, capsys, content, words):
    files, argv = apply_case(tmp_path, monkeypatch)
    (tmp_path / "final.txt").write_bytes(content)
    assert main([*argv, "--out", "new"]) == 1
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err, err
    assert not (tmp_path / "new").exists()


def test_apply_carries_the_non_numeric_columns_by_default(tmp_path, monkeypatch, capsys):
    """A plain list as the selection (no run's statistics beside it): the files' non-numeric columns are
    carried, in file order; --no-carry carries none."""
    files, argv = apply_case(tmp_path, monkeypatch)
    argv = argv[: argv.index("--carry")]
    assert main([*argv, "--out", "auto"]) == 0
    assert pq.read_schema("auto/part-0.parquet").names == ["smiles", "naRing", "x y"]
    assert main([*argv, "--out", "bare", "--no-carry"]) == 0
    assert pq.read_schema("bare/part-0.parquet").names == ["naRing", "x y"]
