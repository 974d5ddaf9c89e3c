"""Hostile but ordinary use: every case is carried out exactly or refused in one line, and no command
deletes or overwrites a file it did not write (docs/hostile-inputs.md lists the cases)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from descriptor_pipeline.api import DescriptorPipeline, PipelineConfig
from descriptor_pipeline.cli import main
from descriptor_pipeline.errors import PipelineError


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("descriptor-pipeline: error: ") and "\n" not in err, err
    return err


# ---- no command overwrites what it did not write ---------------------------------------------------


def test_backtrack_out_refuses_a_file_it_did_not_write(tmp_path, capsys) -> None:
    mine = tmp_path / "notes.json"
    mine.write_text('{"my": "notes"}')
    assert main(["backtrack", "--results", str(tmp_path / "results"), "--out", str(mine)]) == 1
    assert "backtrack --out" in one_line_error(capsys) and mine.read_text() == '{"my": "notes"}'


@pytest.mark.parametrize("name", ["report.html", "report.zip"])
def test_report_out_refuses_a_file_it_did_not_write(tmp_path, name: str) -> None:
    mine = tmp_path / name
    mine.write_bytes(b"<html><title>my page</title></html>" if name.endswith("html") else b"PK\x05\x06" + bytes(18))
    with pytest.raises(PipelineError, match=r"report --out .*: a file descriptor-pipeline did not write is there"):
        DescriptorPipeline(PipelineConfig(output_dir=tmp_path)).report(mine)
    assert mine.read_bytes().startswith((b"<html><title>my page", b"PK\x05\x06"))


def test_demo_out_writes_again_over_its_own_files_but_not_over_others(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["demo", "--out", str(out)]) == 0  # its own files: the same bytes again
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    capsys.readouterr()
    (out / "part-002.parquet").write_bytes(b"a user's table")
    assert main(["demo", "--out", str(out)]) == 1
    assert "part-002.parquet: a file descriptor-pipeline did not write" in one_line_error(capsys)
    assert (out / "part-002.parquet").read_bytes() == b"a user's table"
    assert (out / "part-001.parquet").read_bytes() == first["part-001.parquet"]


# ---- inputs taken literally, each file once, never the run's own ------------------------------------


def table_file(path, seed: int = 0, n: int = 40):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pq.write_table(pa.table({"x": rng.normal(size=n), "y": rng.normal(size=n)}), path)
    return str(path)


@pytest.mark.parametrize("name", ["a[1].parquet", "a*.parquet", "a?.parquet", "a{x}.parquet", "a b 'c'.parquet"])
def test_a_path_that_exists_is_that_file_whatever_its_characters(tmp_path, monkeypatch, name: str) -> None:
    from descriptor_pipeline.inputs import expand_inputs

    monkeypatch.chdir(tmp_path)
    table_file(tmp_path / "data" / "a1.parquet", seed=1)  # what a[1], a* or a? would match as a glob
    table_file(tmp_path / "data" / name, seed=2)
    assert expand_inputs(f"data/{name}") == [f"data/{name}"]
    assert expand_inputs("data/a1.parq*") == ["data/a1.parquet"]  # a path that does not exist is a glob


def test_a_folder_named_on_the_command_line_is_taken_literally(tmp_path, monkeypatch) -> None:
    from descriptor_pipeline.inputs import expand_inputs, folder_globs

    monkeypatch.chdir(tmp_path)
    table_file(tmp_path / "run1" / "x.parquet", seed=1)
    mine = table_file(tmp_path / "run[1]" / "x.parquet", seed=2)
    assert expand_inputs(folder_globs(["run[1]"])) == [mine.removeprefix(str(tmp_path) + "/")]
    assert expand_inputs("run[1]") == [mine.removeprefix(str(tmp_path) + "/")]  # a folder in the config: its files


def test_the_same_file_reached_twice_is_read_once_and_said_so(tmp_path, monkeypatch, caplog) -> None:
    from descriptor_pipeline.inputs import expand_inputs

    monkeypatch.chdir(tmp_path)
    a = table_file(tmp_path / "data" / "a.parquet", seed=1)
    (tmp_path / "data" / "link.parquet").symlink_to("a.parquet")
    twin = tmp_path / "data" / "twin.parquet"
    twin.write_bytes((tmp_path / "data" / "a.parquet").read_bytes())  # another file, the same content: read too
    with caplog.at_level("WARNING", logger="descriptor_pipeline"):
        got = expand_inputs(["data/*.parquet", a, "./data/a.parquet"])
    assert [os.path.basename(f) for f in got] == ["a.parquet", "twin.parquet"]  # the first spelling, sorted
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and all(m.endswith("are the same file; it is read once") for m in said), said
    assert "data/link.parquet" in said[-1]


def test_a_glob_never_reaches_the_runs_own_files(tmp_path, monkeypatch, caplog) -> None:
    from descriptor_pipeline.inputs import expand_inputs

    monkeypatch.chdir(tmp_path)
    mine = table_file(tmp_path / "data" / "a.parquet")
    for own in ("results/ingest/sample.parquet", "results/reduced/a.parquet", "logs/x.parquet", ".snakemake/x.parquet"):
        table_file(tmp_path / own)
    with caplog.at_level("WARNING", logger="descriptor_pipeline"):
        assert expand_inputs("**/*.parquet") == [mine.removeprefix(str(tmp_path) + "/")]
    assert any("under the run's own folders (results/, logs/, .snakemake/) left out" in r.getMessage() for r in caplog.records)
    with pytest.raises(PipelineError, match=r"'results/\*\*/\*.parquet' matches no file but the run's own"):
        expand_inputs("results/**/*.parquet")


def test_a_parquet_dataset_folder_is_named_not_skipped(tmp_path, monkeypatch) -> None:
    from descriptor_pipeline.inputs import expand_inputs

    monkeypatch.chdir(tmp_path)
    table_file(tmp_path / "data" / "table.parquet" / "part-0.parquet")
    with pytest.raises(PipelineError) as err:
        expand_inputs("data/*.parquet")
    assert "data/table.parquet is a folder of Parquet files (a dataset?)" in str(err.value)
    assert "'data/table.parquet/**/*.parquet'" in str(err.value)


@pytest.mark.slow
def test_the_workflow_reads_files_whose_names_look_like_globs_or_wildcards(tmp_path) -> None:
    """From the user's directory with the installed command: files named ``a{x}.parquet`` (a Snakemake
    wildcard, were it a pattern) and ``b[1].parquet`` beside a ``b1.parquet`` the glob would match: the
    named files are read, each once, and reduced under their own names."""
    import subprocess
    import sys

    import pyarrow.parquet as pq

    from descriptor_pipeline.demo import write_demo
    from workflow_helpers import results_of, snakemake_env

    parts = write_demo(tmp_path / "demo", n_files=2, n_rows=600)
    data = tmp_path / "data"
    data.mkdir()
    os.replace(parts[0], data / "a{x}.parquet")
    os.replace(parts[1], data / "b[1].parquet")
    table_file(data / "b1.parquet")  # another table, other columns: read, it would fail the schema check
    tool = str(Path(sys.executable).parent / "descriptor-pipeline")
    proc = subprocess.run([tool, "run", "--input", "data/a{x}.parquet", "--input", "data/b[1].parquet", "--directory",
                           "run", "--cores", "2", "--config", "passes.hsic.enabled=false", "passes.rdc.enabled=false"],
                          cwd=tmp_path, env=snakemake_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "WARNING ingest: the passes decide from 600 rows; below 1000" in proc.stderr  # a stage's warning, on the CLI
    assert f"each stage writes its progress to {Path('run') / 'logs' / '<stage>.log'}" in proc.stderr  # where to look
    results = results_of(tmp_path / "run")
    summary = __import__("json").loads(results.ingest.summary.read_text())
    assert summary["rows"] == 600, summary.get("rows")
    assert sorted(p.name for p in results.reduced.glob("*.parquet")) == ["a{x}.parquet", "b[1].parquet"]
    assert pq.read_metadata(results.reduced / "b[1].parquet").num_rows == 300


# ---- the scikit-learn transformer -------------------------------------------------------------------


def test_the_transformer_reads_infinities_as_missing_and_refuses_duplicate_names(tmp_path) -> None:
    import numpy as np
    import pandas as pd

    from descriptor_pipeline.selector import DescriptorSelector

    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    X = pd.DataFrame({"x": x, "x_copy": 2 * x + 1, "z": rng.normal(size=300), "w": rng.normal(size=300)})
    with_inf = X.copy()
    with_inf.loc[[3, 10], "z"] = [np.inf, -np.inf]
    with_nan = X.copy()
    with_nan.loc[[3, 10], "z"] = np.nan
    fit = lambda data, d: DescriptorSelector(engine="inline", run_dir=tmp_path / d).fit(data)  # noqa: E731
    got, expected = fit(with_inf, "inf"), fit(with_nan, "nan")
    assert got.selected_ == expected.selected_ and "z" in got.selected_ and len(got.selected_) == 3
    doubled = X.copy()
    doubled.columns = ["x", "x_copy", "z", "x"]
    with pytest.raises(ValueError, match=r"^DescriptorSelector: X has the column name 'x' more than once; give every"):
        DescriptorSelector(engine="inline", run_dir=tmp_path / "dup").fit(doubled)


def test_the_transformers_run_dir_is_taken_literally(tmp_path) -> None:
    """run_dir='.../run[1]' beside a stale sibling 'run1': the fit reads its own X, never the sibling's."""
    import numpy as np
    import pandas as pd

    from descriptor_pipeline.selector import DescriptorSelector

    rng = np.random.default_rng(6)
    stale = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    DescriptorSelector(engine="inline", run_dir=tmp_path / "run1").fit(stale)
    x = rng.normal(size=200)
    mine = pd.DataFrame({"p": x, "q": x**3, "r": rng.normal(size=200)})
    model = DescriptorSelector(engine="inline", run_dir=tmp_path / "run[1]").fit(mine)
    assert set(model.selected_) <= {"p", "q", "r"} and "r" in model.selected_ and len(model.selected_) == 2


# ---- the configuration ------------------------------------------------------------------------------


def alias_bomb(path, levels: int = 9):
    """A few lines of YAML whose aliases expand to 10 ** levels values under a list key."""
    lines = ["stability_seeds:", "  - &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"  - &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]" for k in range(1, levels)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path, capsys) -> None:
    import time

    bomb = alias_bomb(tmp_path / "bomb.yaml")
    t0 = time.perf_counter()
    assert main(["run", "--configfile", bomb, "--directory", str(tmp_path / "run")]) == 1
    err = one_line_error(capsys)
    assert f"config file {bomb}: YAML aliases expand it to more than 100,000 values" in err
    assert time.perf_counter() - t0 < 10 and not (tmp_path / "run" / "results").exists()
    from descriptor_pipeline.settings import complete
    import yaml

    with pytest.raises(PipelineError, match=r"^the configuration \(config files and --config\): YAML aliases"):
        complete(yaml.safe_load(Path(bomb).read_text()))  # the workflow's own check (snakemake --configfile)
    small = tmp_path / "anchors.yaml"
    small.write_text("keep: &k [a, b]\nprefer: *k\n")  # anchors that stay small are fine
    from descriptor_pipeline.config import read_settings

    assert read_settings(small) == {"keep": ["a", "b"], "prefer": ["a", "b"]}


# ---- failures end in one line ------------------------------------------------------------------------

FULL_DISK_STAGE = """
import resource, signal, sys, types
import numpy as np
import pyarrow as pa
from descriptor_pipeline import io
from descriptor_pipeline.stage import run_stage
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, write() fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, resource.RLIM_INFINITY))
smk = types.SimpleNamespace(rule="ingest", log=["logs/ingest.log"], output=["results/ingest/sample.parquet"])
run_stage(smk, lambda s: io.write_parquet(s.output[0], pa.table({"x": np.random.default_rng(0).normal(size=100000)})))
"""


def test_a_full_disk_in_a_stage_is_one_line_naming_where_and_what_to_do(tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "logs").mkdir()
    proc = subprocess.run([sys.executable, "-c", FULL_DISK_STAGE], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    line = "ERROR: rule ingest: writing results/ingest/: no space left on the device (or past a file size limit or quota)"
    assert proc.stderr.startswith(line) and proc.stderr.count("\n") == 1, proc.stderr
    assert line.removeprefix("ERROR: ") in (tmp_path / "logs" / "ingest.log").read_text()
    assert list((tmp_path / "results" / "ingest").iterdir()) == []  # nothing half-written left


def test_os_errors_and_duckdb_out_of_memory_are_one_line() -> None:
    import errno

    from descriptor_pipeline.stage import os_error_line

    denied = os_error_line("rdc", PermissionError(errno.EACCES, "Permission denied", "results/rdc/edges.parquet"))
    assert denied.startswith("rule rdc: results/rdc/edges.parquet: permission denied; make it writable")
    other = os_error_line("hsic", OSError(errno.EIO, "Input/output error", "results/ingest/sample.parquet"))
    assert other == "rule hsic: results/ingest/sample.parquet: Input/output error; check the file and run again"


DUCKDB_OOM_STAGE = """
import sys, types
import duckdb
from descriptor_pipeline.stage import run_stage
smk = types.SimpleNamespace(rule="ingest", log=["ingest.log"], output=["results/ingest/sample.parquet"])
con = duckdb.connect()
con.execute("SET memory_limit = '2MB'")
con.execute("SET preserve_insertion_order = true")
run_stage(smk, lambda s: con.execute("SELECT list(i ORDER BY random()) FROM range(10000000) t(i)").fetchall())
"""


def test_duckdbs_out_of_memory_in_a_stage_is_one_line(tmp_path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", DUCKDB_OOM_STAGE], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.startswith("ERROR: rule ingest: out of memory; lower 'sample_rows'") and "(DuckDB: " in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr


def test_suggested_names_that_print_alike_read_apart(tmp_path) -> None:
    """Two columns 'Café' (NFC) and 'Cafe' + combining accent (NFD): explain of 'Cafe' suggests both,
    spelled so that they differ on screen, in one line."""
    import numpy as np
    import pandas as pd

    from descriptor_pipeline.errors import visible
    from descriptor_pipeline.explain import explain
    from descriptor_pipeline.selector import DescriptorSelector

    nfc, nfd = "Caf\u00e9", "Cafe\u0301"
    assert visible(nfc) == "'Café'" and visible(nfd) == "'Cafe\\u0301'" and visible("a\u200bb c\td") == "'a\\u200bb c\\u0009d'"
    rng = np.random.default_rng(8)
    X = pd.DataFrame({nfc: rng.normal(size=200), nfd: rng.normal(size=200), "zz": rng.normal(size=200)})
    DescriptorSelector(engine="inline", run_dir=tmp_path).fit(X)
    with pytest.raises(PipelineError) as err:
        explain("Cafe", tmp_path / "results")
    message = str(err.value)
    assert "no input column 'Cafe' in this run; did you mean " in message and "\n" not in message
    assert "'Café'" in message and "'Cafe\\u0301'" in message, message


@pytest.mark.parametrize(("cores", "words"), [("0", "0: give at least 1"), ("-2", "-2: give at least 1"), ("x", "'x': not a whole number")])
def test_run_refuses_a_core_count_below_one(tmp_path, capsys, cores: str, words: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["run", "--cores", cores, "--directory", str(tmp_path / "run")])
    assert stop.value.code == 2 and f"argument --cores: {words}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    with pytest.raises(PipelineError, match=r"PipelineConfig: cores=0; give a whole number of at least 1"):
        PipelineConfig(output_dir=tmp_path, cores=0)


def test_init_refuses_a_file_in_one_line(tmp_path, capsys) -> None:
    (tmp_path / "afile").write_text("mine")
    assert main(["init", str(tmp_path / "afile")]) == 1
    assert "a file, not a folder; name a new folder" in one_line_error(capsys)
    assert main(["init", str(tmp_path / "afile" / "run")]) == 1  # a folder that cannot be made
    assert f"init {tmp_path / 'afile' / 'run'}: cannot write" in one_line_error(capsys)
    assert (tmp_path / "afile").read_text() == "mine"


# ---- floors that match the evidence -------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value"), [("sample_rows", 1), ("sample_rows", 49), ("passes.hsic.max_rows", 2)])
def test_a_row_count_below_the_floor_is_refused(tmp_path, capsys, key: str, value: int) -> None:
    assert main(["run", "--directory", str(tmp_path / "run"), "--config", f"{key}={value}"]) == 1
    err = one_line_error(capsys)
    assert f"config key '{key}': {value} rows are too few to tell dependence from chance; give at least 50" in err


def test_a_table_below_the_row_floor_merges_nothing_and_says_so(tmp_path) -> None:
    """30 rows of x, x^3 and noise: at 30 rows an independent pair reaches RDC 0.82, so no link is a merge,
    with a warning from the transformer; from 300 rows the same columns are merged."""
    import numpy as np
    import pandas as pd

    from descriptor_pipeline.selector import DescriptorSelector

    rng = np.random.default_rng(9)
    x = rng.normal(size=300)
    X = pd.DataFrame({"x": x, "x3": x**3 + 1, "z": rng.normal(size=300)})
    with pytest.warns(UserWarning, match=r"X has 30 rows; below 50 dependence cannot be told from chance"):
        few = DescriptorSelector(engine="inline", run_dir=tmp_path / "few").fit(X.iloc[:30])
    assert few.selected_ == ["x", "x3", "z"]
    assert len(DescriptorSelector(engine="inline", run_dir=tmp_path / "all").fit(X).selected_) == 2


# ---- exact where float64 is not -------------------------------------------------------------------------


@pytest.mark.parametrize("statistics", [True, False], ids=["footer-statistics", "no-statistics"])
def test_integers_past_2_53_are_never_dropped_as_constant(tmp_path, ingest, caplog, statistics: bool) -> None:
    """2^62 + k (distinct, equal in float64), hashed ids over the whole int64 range, a true constant 2^62
    and ordinary counts: the first two are dropped as beyond_float64 with a line, the constant as constant
    (its exact value), the counts kept; with or without Parquet footer statistics."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(10)
    n = 200
    big = 2**62 + rng.permutation(n).astype(np.int64)
    assert len(np.unique(big.astype(np.float64))) < n  # float64 cannot tell them apart
    table = pa.table({"packed": pa.array(big), "hash_id": pa.array(rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)),
                      "const_big": pa.array(np.full(n, 2**62, dtype=np.int64)), "count": pa.array(rng.poisson(3, n)),
                      "x": rng.normal(size=n)})
    files = []
    for k in range(2):
        files.append(str(tmp_path / f"part-{k}.parquet"))
        pq.write_table(table.slice(100 * k, 100), files[-1], write_statistics=statistics)
    with caplog.at_level("WARNING", logger="descriptor_pipeline"):
        res = ingest(files)
    reasons = res.stats["reason"].to_dict()
    assert reasons["packed"] == reasons["hash_id"] == "beyond_float64"
    assert reasons["const_big"] == "constant" and res.stats.loc["const_big", "figure"] == float(2**62)
    assert res.survivors == ["count", "x"]
    from descriptor_pipeline.explain import _dropped

    why = _dropped("packed", {"reason": "beyond_float64", "figure": res.stats.loc["packed", "figure"]}, {}, {})
    assert why.startswith("'packed' was dropped at ingest: it holds integers past 2^53 (up to 4.612e+18 in magnitude)")
    said = [r.getMessage() for r in caplog.records if "past 2^53" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("ingest: 2 integer columns hold values past 2^53") and "'packed'" in said[0]
