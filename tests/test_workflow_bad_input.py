"""Bad and awkward input through the real workflow (Snakemake end to end, every rule in its own process).

Each case either FAILS with one clear line naming the file / column / config key, no traceback anywhere
and nothing left behind that looks like a finished result, or is HANDLED: the run succeeds, the cluster
report validates against its schema and accounts for every input column exactly once, and the outputs
say what the case requires.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_helpers import RUN, assert_ok, output_of, results_of, snakemake

pytestmark = pytest.mark.slow

RESULTS_THAT_LOOK_COMPLETE = [
    str(RUN.final_list),
    str(RUN.cluster_report),
    str(RUN.ingest.survivors),
    str(RUN.ingest.column_stats),
]
REPORT = str(RUN.cluster_report)


# ---- shared helpers -----------------------------------------------------------------------------


def write(wd: Path, name: str, table: pa.Table) -> str:
    """Write ``table`` to ``wd/data/name``; return the path relative to ``wd`` (as given in 'input')."""
    path = wd / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return f"data/{name}"


def good_table(n: int = 40, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "row_id": np.arange(n, dtype=np.int64),
        "smiles": [f"C{i}" for i in range(n)],
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "c": rng.lognormal(size=n),
    })


def run(wd: Path, inputs: str | list[str], **config: object) -> object:
    """The whole workflow (rule all) on ``inputs``, NumPy backend, with config overrides."""
    return snakemake(wd, {"input": inputs, "backend": "numpy", **config})


def stray_files(wd: Path) -> list[str]:
    """Hidden or *.tmp files under results/ (left-overs of an interrupted atomic write); Snakemake's
    marker of a finished directory output (.snakemake_timestamp in the reduced tables' folder) is not one."""
    results = results_of(wd).root
    if not results.exists():
        return []
    return sorted(
        str(p.relative_to(wd)) for p in results.rglob("*")
        if (p.name.startswith(".") and p.name != ".snakemake_timestamp") or p.name.endswith(".tmp")
    )


def assert_no_traceback(wd: Path, proc) -> None:
    assert "Traceback" not in proc.stdout, proc.stdout[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    logs = wd / "logs"
    for log in sorted(logs.rglob("*")) if logs.exists() else []:
        if log.is_file():
            text = log.read_text(encoding="utf-8", errors="replace")
            assert "Traceback" not in text, f"{log.relative_to(wd)}:\n{text[-3000:]}"


def error_line(proc, *keywords: str) -> str:
    """The one output line that holds every keyword (the error message must not be split over lines)."""
    out = output_of(proc)
    lines = [line for line in out.splitlines() if all(k in line for k in keywords)]
    assert lines, f"no single line holds all of {keywords!r}; output:\n{out[-4000:]}"
    return lines[0]


def assert_fails_clearly(wd: Path, proc, *keywords: str) -> str:
    """Non-zero exit, one line naming the culprit, no traceback, nothing that looks like a finished result."""
    assert proc.returncode != 0, output_of(proc)[-3000:]
    line = error_line(proc, *keywords)
    assert_no_traceback(wd, proc)
    left = [p for p in RESULTS_THAT_LOOK_COMPLETE if (wd / p).exists()]
    left += [str(p.relative_to(wd)) for p in sorted(wd.glob(str(RUN.stage("*").summary)))]
    assert not left, f"a failed run left complete-looking outputs: {left}"
    assert stray_files(wd) == []
    return line


def cluster_schema() -> dict:
    return json.loads(resources.files("descriptor_pipeline").joinpath("schemas/clusters.schema.json").read_text())


def column_stats(wd: Path) -> pd.DataFrame:
    return pq.read_table(results_of(wd).ingest.column_stats).to_pandas().set_index("column")


def final_list(wd: Path) -> list[str]:
    return results_of(wd).final_list.read_bytes().decode("utf-8").split("\n")[:-1]


def assert_conserved(report: dict, columns: list[str]) -> None:
    """Every input column exactly once: a survivor, an alternative of exactly one survivor, or dropped."""
    seen: Counter[str] = Counter()
    for survivor, entry in report["descriptors"].items():
        seen[survivor] += 1
        seen.update(entry["alternative_descriptors"])
        assert entry["all_cluster_members"] == sorted([survivor, *entry["alternative_descriptors"]])
        assert entry["total_alternatives"] == len(entry["alternative_descriptors"])
    seen.update(list(report["dropped"]))
    twice = sorted(c for c, k in seen.items() if k > 1)
    assert twice == [], f"counted more than once: {twice}"
    assert sorted(seen) == sorted(columns), (sorted(set(columns) - set(seen)), sorted(set(seen) - set(columns)))


def assert_handled(wd: Path, proc, columns: list[str]) -> dict:
    """A successful run whose outputs agree with each other; returns the cluster report."""
    assert_ok(proc)
    assert_no_traceback(wd, proc)
    assert stray_files(wd) == []
    report = json.loads((wd / REPORT).read_text(encoding="utf-8"))
    jsonschema.validate(report, cluster_schema())
    assert_conserved(report, columns)
    stats = column_stats(wd)
    assert list(stats.index) == columns  # one row per input column, input order
    for name, row in stats.iterrows():
        if row["reason"] in ("excluded", "non_numeric"):
            assert report["dropped"][name]["reason"] == row["reason"], name
    final = final_list(wd)
    assert sorted(final) == sorted(report["descriptors"])
    assert final == [c for c in columns if c in set(final)]  # input column order
    assert report["metadata"]["total_descriptors"] == len(final)
    assert report["metadata"]["input_columns"] == len(columns)
    return report


def reason(report: dict, name: str) -> str | None:
    return report["dropped"].get(name, {}).get("reason")


def members(report: dict) -> set[str]:
    return {m for entry in report["descriptors"].values() for m in entry["all_cluster_members"]}


# ---- inputs that must fail ----------------------------------------------------------------------


def case_empty_glob(wd: Path) -> tuple[object, list[str]]:
    return "data/none_*.parquet", ["config key 'input'", "data/none_*.parquet"]


def case_not_parquet(wd: Path) -> tuple[object, list[str]]:
    good = write(wd, "good.parquet", good_table())
    (wd / "data" / "notes.parquet").write_text("row_id,a,b\n1,2.0,3.0\n")
    return [good, "data/notes.parquet"], ["notes.parquet", "Parquet"]


def case_truncated(wd: Path) -> tuple[object, list[str]]:
    table = good_table(200)
    write(wd, "part-0.parquet", table.slice(0, 100))
    path = wd / write(wd, "part-1.parquet", table.slice(100))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return "data/part-*.parquet", ["part-1.parquet"]


def case_schema_missing_column(wd: Path) -> tuple[object, list[str]]:
    table = good_table()
    write(wd, "part-0.parquet", table.slice(0, 20))
    write(wd, "part-1.parquet", table.slice(20).drop_columns(["b"]))
    return "data/part-*.parquet", ["part-1.parquet", "'b'", "missing"]


def case_schema_other_type(wd: Path) -> tuple[object, list[str]]:
    table = good_table()
    write(wd, "part-0.parquet", table.slice(0, 20))
    second = table.slice(20)
    second = second.set_column(3, "b", pa.array(np.arange(second.num_rows), type=pa.int64()))
    write(wd, "part-1.parquet", second)
    return "data/part-*.parquet", ["part-1.parquet", "'b'", "int64", "double"]


def case_duplicate_column_names(wd: Path) -> tuple[object, list[str]]:
    rng = np.random.default_rng(3)
    table = pa.Table.from_arrays([pa.array(rng.normal(size=30)) for _ in range(3)], names=["a", "b", "a"])
    return write(wd, "dup.parquet", table), ["dup.parquet", "'a'"]


def case_no_numeric_column(wd: Path) -> tuple[object, list[str]]:
    table = pa.table({"smiles": [f"C{i}" for i in range(30)], "name": [f"mol {i}" for i in range(30)]})
    return write(wd, "text_only.parquet", table), ["text_only.parquet", "numeric"]


def case_zero_rows(wd: Path) -> tuple[object, list[str]]:
    return write(wd, "empty.parquet", good_table(0)), ["empty.parquet", "0 rows"]


BAD_INPUTS = {
    "empty-glob": case_empty_glob,
    "not-parquet": case_not_parquet,
    "truncated-parquet": case_truncated,
    "schema-missing-column": case_schema_missing_column,
    "schema-other-type": case_schema_other_type,
    "duplicate-column-names": case_duplicate_column_names,
    "no-numeric-column": case_no_numeric_column,
    "zero-rows": case_zero_rows,
}


@pytest.mark.parametrize("case", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_fails_clearly(workdir, case):
    inputs, keywords = case(workdir)
    proc = run(workdir, inputs)
    assert_fails_clearly(workdir, proc, *keywords)


# ---- configuration errors -----------------------------------------------------------------------

BAD_CONFIGS = {
    "unknown-key": ({"passes": {"rdc": {"thresold": 0.5}}}, ["config key 'passes.rdc.thresold'", "unknown"]),
    "wrong-type": ({"passes": {"hsic": {"n_features": "many"}}}, ["config key 'passes.hsic.n_features'", "'many'"]),
    "threshold-zero": ({"passes": {"spearman": {"threshold": 0}}}, ["config key 'passes.spearman.threshold'"]),
    "threshold-above-one": ({"passes": {"rdc": {"threshold": 1.5}}}, ["config key 'passes.rdc.threshold'", "1.5"]),
    "threshold-negative": ({"passes": {"hsic": {"threshold": -0.1}}}, ["config key 'passes.hsic.threshold'", "-0.1"]),
    "sample_rows-negative": ({"sample_rows": -3}, ["config key 'sample_rows'", "-3"]),
    "keep-not-a-column": ({"keep": ["a", "no_such_descriptor"]}, ["config key 'keep'", "'no_such_descriptor'"]),
    "prefer-not-a-column": ({"prefer": ["nope"]}, ["config key 'prefer'", "'nope'"]),
    "exclude-pattern-invalid": ({"exclude_columns": ["row_id", "mol_(id"]}, ["config key 'exclude_columns'", "'mol_(id'"]),
}


@pytest.mark.parametrize(("config", "keywords"), list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_bad_config_fails_clearly(workdir, config, keywords):
    inputs = write(workdir, "good.parquet", good_table())
    proc = run(workdir, inputs, **config)
    assert_fails_clearly(workdir, proc, *keywords)


# ---- inputs that must be handled ----------------------------------------------------------------


def test_all_null_column_is_dropped_as_all_missing(workdir):
    table = good_table(60).append_column("empty", pa.nulls(60, type=pa.float64()))
    proc = run(workdir, write(workdir, "t.parquet", table))
    report = assert_handled(workdir, proc, table.column_names)
    assert report["dropped"]["empty"] == {"pass": "ingest", "reason": "all_missing", "figure": 1.0}
    assert reason(report, "row_id") == "excluded"
    assert reason(report, "smiles") == "non_numeric"
    assert {"a", "b", "c"} <= members(report)


def test_single_descriptor_survives_alone(workdir):
    table = good_table(50).select(["row_id", "smiles", "a"])
    proc = run(workdir, write(workdir, "one.parquet", table))
    report = assert_handled(workdir, proc, table.column_names)
    assert final_list(workdir) == ["a"]
    entry = report["descriptors"]["a"]
    assert entry["cluster_size"] == 1 and entry["alternative_descriptors"] == [] and entry["lineage"] == {}
    assert set(report["dropped"]) == {"row_id", "smiles"}


def test_one_row(workdir):
    """One row supports no statistic of spread and no dependence estimate: every descriptor is constant
    there. Either a clear error naming the file and the row count, or a handled run in which every
    descriptor is dropped as constant with its one value as the figure and nothing survives."""
    table = good_table(1)
    proc = run(workdir, write(workdir, "single_row.parquet", table))
    if proc.returncode != 0:
        assert_fails_clearly(workdir, proc, "single_row.parquet", "1 row")
        return
    report = assert_handled(workdir, proc, table.column_names)
    for name in ("a", "b", "c"):
        assert report["dropped"][name] == {"pass": "ingest", "reason": "constant", "figure": table[name][0].as_py()}
    assert report["descriptors"] == {}
    assert final_list(workdir) == []


def reference_moments(x: np.ndarray) -> tuple[float, float]:
    """NumPy's float64 mean and std (ddof=1) of the finite values, computed on x * 2**-520 (exact for these
    values) so that sums of values near 1e308 and of their squares cannot overflow, then scaled back."""
    v = x[np.isfinite(x)] * 2.0**-520
    with np.errstate(over="ignore"):
        return float(np.mean(v)) * 2.0**520, float(np.std(v, ddof=1)) * 2.0**520


def test_inf_nan_and_values_near_float_max(workdir):
    n = 60
    rng = np.random.default_rng(11)
    gappy = rng.normal(5.0, 2.0, n)
    gappy[[3, 17, 41]] = [np.inf, -np.inf, np.nan]
    huge = rng.normal(0.0, 10.0, n)
    huge[[0, 9, 25, 33]] = [1e308, 1e308, -1e308, 1e308]  # 1e308 + 1e308 overflows a plain sum
    huge_pos = rng.uniform(1e307, 1.7e308, n)  # every value large: sum and sum of squares overflow
    table = pa.table({
        "row_id": np.arange(n),
        "gappy": pa.array(gappy, mask=np.arange(n) == 50),  # +inf, -inf, NaN and one null: 4 missing
        "huge": huge,
        "huge_pos": huge_pos,
        "plain": rng.normal(size=n),
    })
    proc = run(workdir, write(workdir, "extreme.parquet", table), ingest={"chunk_rows": 16})
    report = assert_handled(workdir, proc, table.column_names)

    stats = column_stats(workdir)
    assert stats.loc["gappy", "n_missing"] == 4
    assert stats.loc["gappy", "missing_ratio"] == pytest.approx(4 / n, rel=1e-15)
    finite_gappy = gappy[np.isfinite(gappy) & (np.arange(n) != 50)]  # row 50 is the null
    assert stats.loc["gappy", "min"] == finite_gappy.min() and stats.loc["gappy", "max"] == finite_gappy.max()
    assert stats.loc["gappy", "mean"] == pytest.approx(float(np.mean(finite_gappy)), rel=1e-12)
    assert stats.loc["gappy", "std"] == pytest.approx(float(np.std(finite_gappy, ddof=1)), rel=1e-12)
    for name, x in (("huge", huge), ("huge_pos", huge_pos)):
        mean, std = reference_moments(x)
        assert np.isfinite(mean) and np.isfinite(std), name  # the reference itself is representable
        row = stats.loc[name]
        assert row["n_missing"] == 0, name
        assert row["mean"] == pytest.approx(mean, rel=1e-12), name
        assert row["std"] == pytest.approx(std, rel=1e-12), name
        assert (row["min"], row["max"]) == (x.min(), x.max()), name
        for key in ("q01", "q25", "median", "q75", "q99"):
            assert np.isfinite(row[key]), (name, key)
        assert np.isfinite(row["iqr"]), name  # q25 and q75 are ordinary values here
        with np.errstate(over="ignore"):
            assert row["variance"] == pytest.approx(std * std, rel=1e-12), name  # inf only where std**2 is beyond float64
        assert row["status"] == "kept", (name, row["reason"])
    assert {"gappy", "huge", "huge_pos", "plain"} <= members(report)
    for p in ("spearman", "hsic", "rdc"):
        sim = pq.read_table(results_of(workdir).stage(p).clusters).column("similarity").to_numpy()
        assert np.isfinite(sim).all() and ((sim >= 0) & (sim <= 1)).all(), p
        edges = pq.read_table(results_of(workdir).stage(p).edges).column("similarity").to_numpy()
        assert np.isfinite(edges).all(), p
    # no overflow anywhere on the way: no NumPy warning reaches the user or a log
    out = output_of(proc)
    logs = "".join(p.read_text() for p in sorted((workdir / "logs").glob("*.log")))
    warned = [line for line in (out + logs).splitlines() if "overflow" in line.lower() or "RuntimeWarning" in line]
    assert warned == []


def test_integer_boolean_and_decimal_columns_are_numeric(workdir):
    n = 120
    rng = np.random.default_rng(5)
    i32 = rng.integers(-1000, 1000, n).astype(np.int32)
    i64 = rng.integers(-(10**12), 10**12, n)
    flag = rng.random(n) < 0.4
    dec = [Decimal(int(v)).scaleb(-4) for v in rng.integers(-10**8, 10**8, n)]
    table = pa.table({
        "smiles": [f"C{i}" for i in range(n)],
        "i32": pa.array(i32, type=pa.int32()),
        "i64": pa.array(i64, type=pa.int64()),
        "flag": pa.array(flag, type=pa.bool_()),
        "dec": pa.array(dec, type=pa.decimal128(12, 4)),
        "f": rng.normal(size=n),
    })
    proc = run(workdir, write(workdir, "types.parquet", table))
    report = assert_handled(workdir, proc, table.column_names)
    stats = column_stats(workdir)
    assert dict(stats["dtype"]) == {
        "smiles": "string", "i32": "int32", "i64": "int64", "flag": "bool", "dec": "decimal128(12, 4)", "f": "double",
    }
    values = {"i32": i32.astype(float), "i64": i64.astype(float), "flag": flag.astype(float),
              "dec": np.array([float(d) for d in dec]), "f": table["f"].to_numpy()}
    for name, x in values.items():
        row = stats.loc[name]
        assert row["status"] == "kept" and pd.isna(row["reason"]), (name, row["reason"])
        assert name not in report["dropped"], name
        assert row["mean"] == pytest.approx(float(np.mean(x)), rel=1e-12), name
        assert row["std"] == pytest.approx(float(np.std(x, ddof=1)), rel=1e-12), name
        assert (row["min"], row["max"]) == (x.min(), x.max()), name
    assert bool(stats.loc["flag", "is_binary"]) is True
    assert set(values) <= members(report)
    assert reason(report, "smiles") == "non_numeric"


def test_long_and_non_ascii_names_come_through_unchanged(workdir):
    long_name = "descriptor_" + "x" * 289
    names = [
        "Ε_ΣΑ",  # Greek capitals
        "logP (Crippen) – ΔG",  # spaces, parentheses, an en dash
        "🧪 assay 😀",  # emoji (outside the Basic Multilingual Plane)
        "Cafe\u0301",  # decomposed e + combining acute: must not be normalized to 'Café'
        long_name,
    ]
    assert len(long_name) == 300
    n = 200
    rng = np.random.default_rng(9)
    cols = {name: rng.normal(size=n) for name in names}
    cols["ΔG_dup_é"] = cols["logP (Crippen) – ΔG"].copy()  # exact duplicate: an alternative with a non-ASCII name
    table = pa.table(cols)
    proc = run(workdir, write(workdir, "names.parquet", table))
    report = assert_handled(workdir, proc, table.column_names)
    raw = results_of(workdir).final_list.read_bytes()
    assert raw == "".join(f"{name}\n" for name in names).encode("utf-8")
    assert set(report["descriptors"]) == set(names)
    dup = report["descriptors"]["logP (Crippen) – ΔG"]
    assert dup["alternative_descriptors"] == ["ΔG_dup_é"]
    assert dup["lineage"]["ΔG_dup_é"] == [{"pass": "ingest", "represented_by": "logP (Crippen) – ΔG", "similarity": 1.0,
                                             "predictability": 1.0}]
    assert list(column_stats(workdir).index) == table.column_names
    for p in ("ingest", "spearman", "hsic", "rdc"):
        assert results_of(workdir).stage(p).survivors.read_bytes() == raw, p
