"""Column names as users' tables have them: case-only pairs (Mordred's nARing / naRing), quotes, SQL,
backslashes, unicode, very long names, names of DuckDB's virtual columns. Each is either carried exactly
through every output or refused before any work with one line naming the column and what to do.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import inspect_inputs
from test_workflow_bad_input import assert_fails_clearly, assert_handled, column_stats, run, write
from workflow_helpers import output_of, results_of

# ---- refused names ------------------------------------------------------------------------------

REFUSED = {
    "empty": ("", ["empty name", "exclude_columns"]),
    "newline": ("logP\nx", ["'logP\\nx'", "line-break", "rename"]),
    "tab": ("a\tb", ["'a\\tb'", "rename"]),
    "carriage-return": ("a\rb", ["'a\\rb'"]),
    "nul": ("a\x00b", ["'a\\x00b'"]),
    "line-separator": ("a\u2028b", ["'a\\u2028b'"]),
    "pandas-index": ("__index_level_0__", ["'__index_level_0__'", "index=False", "exclude_columns"]),
}


def table_with(name: str, n: int = 30) -> pa.Table:
    rng = np.random.default_rng(1)
    return pa.table({"a": rng.normal(size=n), name: rng.normal(size=n), "b": rng.normal(size=n)})


@pytest.mark.parametrize(("name", "words"), list(REFUSED.values()), ids=list(REFUSED))
def test_refused_names_fail_at_the_footer_check(tmp_path, name, words):
    path = tmp_path / "x.parquet"
    pq.write_table(table_with(name), path)
    with pytest.raises(PipelineError) as err:
        inspect_inputs([str(path)])
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("name", [v[0] for v in REFUSED.values()], ids=list(REFUSED))
def test_an_excluded_column_is_never_refused(tmp_path, name):
    path = tmp_path / "x.parquet"
    pq.write_table(table_with(name), path)
    schema = inspect_inputs([str(path)], exclude_columns=[name.replace("\\", "\\\\")] if name else [""])
    assert schema.descriptors == ["a", "b"] and schema.excluded == [name]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["newline", "pandas-index"])
def test_refused_names_through_the_workflow(workdir, case):
    name, words = REFUSED[case]
    proc = run(workdir, write(workdir, "x.parquet", table_with(name)))
    assert_fails_clearly(workdir, proc, "x.parquet", *words[:1])
    ingest = results_of(workdir).ingest.folder
    assert not ingest.exists() or not any(ingest.iterdir())


# ---- carried names ------------------------------------------------------------------------------

LONG = "L" + "o" * 1998 + "ng"
CARRIED = [
    "naRing", "nARing", "NARING", "n3aRing", "n3ARing",
    'say "hi"', "it's", 'x"); SELECT 1; --', "x'); DROP TABLE t; --", "back\\slash", "trailing\\",
    LONG, "분자량", "🧪 assay 😀", "*", "{wildcards}", "{}", "$HOME", "100%", "%s %d %(x)s", "a*b?[c]",
    "file_index", "file_row_number", "rh", "x0", "c1", "fi", "rn", "rg", "rows", "sample", " padded ", "a.b", "a",
]


def carried_table(n: int = 300) -> tuple[pa.Table, dict[str, str]]:
    """The names above with planted structure, and the expected fate of the planted columns."""
    assert len(set(CARRIED)) == len(CARRIED) and len(LONG) == 2001
    rng = np.random.default_rng(5)
    cols = {name: rng.normal(size=n) for name in CARRIED}
    cols["nARing"] = rng.integers(0, 4, n).astype(float) + 10  # differs from naRing only by case
    cols["NARING"] = cols["nARing"].copy()  # exact duplicate of nARing, not of naRing
    cols["n3aRing"] = np.zeros(n)  # constant, while n3ARing is not
    cols["n3ARing"] = rng.integers(0, 2, n).astype(float)
    cols['x"); SELECT 1; --'] = np.exp(cols['say "hi"'])  # a monotone copy: merged by Spearman
    cols["*"] = cols["{wildcards}"] ** 3 + 1  # another monotone copy
    cols["rh"][rng.random(n) < 0.2] = np.nan
    cols[LONG] = cols["분자량"] * 2  # same ranks, different values: not an exact duplicate
    fates = {"NARING": "exact_duplicate", "n3aRing": "constant"}  # the keeper: nARing, a known name (known.py)
    return pa.table(cols), fates


@pytest.mark.slow
def test_hostile_names_are_carried_exactly_through_every_output(workdir):
    table, fates = carried_table()
    write(workdir, "part-0.parquet", table.slice(0, 120))
    # a file name with a quote and glob characters, in a folder that looks like a Hive partition (which
    # must add no column), its columns in another order
    write(workdir, "year=2024/it's [1] *.parquet", table.slice(120).select(list(reversed(table.column_names))))
    proc = run(workdir, ["data/part-*.parquet", "data/year=2024/*.parquet"], exclude_columns=[], sample_rows=0)
    report = assert_handled(workdir, proc, table.column_names)

    stats = column_stats(workdir)
    for name in table.column_names:  # every column's own values, read by its exact name
        x = table.column(name).to_numpy()
        present = x[np.isfinite(x)]
        row = stats.loc[name]
        assert row["n_missing"] == x.size - present.size, name
        assert row["mean"] == pytest.approx(present.mean(), rel=1e-12, abs=1e-15), name
        assert row["std"] == pytest.approx(present.std(ddof=1), rel=1e-12), name
        assert (row["min"], row["max"]) == (present.min(), present.max()), name
    for name, reason in fates.items():
        assert stats.loc[name, "reason"] == reason, name
    assert stats.loc["NARING", "duplicate_of"] == "nARing" and stats.loc["naRing", "status"] == "kept"
    assert stats.loc["n3ARing", "status"] == "kept"

    # Spearman merged the monotone copies, whatever their names
    rep = {m: s for s, entry in report["descriptors"].items() for m in entry["alternative_descriptors"]}
    def survivor(name: str) -> str:
        return rep.get(name, name)

    for a, b in [('x"); SELECT 1; --', 'say "hi"'), ("*", "{wildcards}"), (LONG, "분자량")]:
        assert survivor(a) == survivor(b) and survivor(a) in report["descriptors"], (a[:20], b[:20])
    assert rep["NARING"] == "nARing" and "naRing" in report["descriptors"]

    # the line-per-name lists and the TSV hold the names byte for byte
    files = results_of(workdir)
    final = files.final_list.read_bytes().decode("utf-8").split("\n")[:-1]
    assert set(final) <= set(CARRIED) and len(final) == len(set(final))
    with open(files.alternatives, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    pairs = {(r["alternative"], r["survivor"]) for r in rows}
    assert pairs == set(rep.items())
    for p in ("spearman", "hsic", "rdc"):
        clusters = pq.read_table(files.stage(p).clusters).column("descriptor").to_pylist()
        assert set(clusters) <= set(CARRIED)
    sample = pq.read_table(files.ingest.sample)
    assert sample.column_names == [n for n in table.column_names if stats.loc[n, "status"] == "kept"]
    for name in sample.column_names:  # sample_rows=0: every row, each column with its own values
        got = np.sort(np.nan_to_num(sample.column(name).to_numpy(), nan=np.inf))
        np.testing.assert_array_equal(got, np.sort(np.nan_to_num(table.column(name).to_numpy(), nan=np.inf)), name[:30])
    assert "Glyph" not in output_of(proc)  # a character the figure font lacks: the browser draws it
    for svg in files.report.rglob("*.svg"):  # the 2,001-character name is drawn shortened
        width = float(re.search(r'width="([0-9.]+)pt"', svg.read_text(encoding="utf-8")).group(1))
        assert width < 1500, (svg.name, width)
