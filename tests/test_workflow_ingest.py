"""The ingest part of the real workflow, run through Snakemake in a temporary copy of the repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.demo import make_table
from workflow_helpers import RUN, assert_ok, output_of, results_of
from workflow_helpers import snakemake as run_snakemake

pytestmark = pytest.mark.slow

TARGET = str(RUN.ingest.survivors)


def snakemake(wd: Path, config: dict | None = None, *extra: str, target: str = TARGET) -> subprocess.CompletedProcess:
    return run_snakemake(wd, config, *extra, target=target)


def ingest_files(wd: Path) -> list[str]:
    d = results_of(wd).ingest.folder
    return sorted(os.listdir(d)) if d.exists() else []


def assert_nothing_ran(wd: Path) -> None:
    for d in (str(RUN.root), "logs", "benchmarks"):
        assert not (wd / d).exists(), f"{d}/ was created although the run should stop before any rule"


# ---- a tiny real input --------------------------------------------------------------------------


def tiny_table(n: int = 30) -> pa.Table:
    rng = np.random.default_rng(8)
    x = rng.normal(2.0, 1.5, n)
    gappy = rng.normal(size=n)
    return pa.table({
        "row_id": np.arange(n),
        "smiles": [f"C{i}" for i in range(n)],
        "x": x,
        "x_int_twin": (np.arange(n) % 4).astype(np.int64),  # an int column ...
        "x_float_twin": (np.arange(n) % 4).astype(np.float64),  # ... and its float copy
        "const": np.full(n, -1.25),
        "empty": pa.nulls(n, type=pa.float64()),
        "gappy": pa.array(gappy, mask=np.arange(n) % 5 < 2),  # 40 % missing
        "y": rng.lognormal(size=n),
    })


def test_ingest_rule_on_tiny_parquet_files(workdir):
    table = tiny_table(150)  # small, and above the row floor of the passes (settings.MIN_ROWS)
    data = workdir / "data"
    data.mkdir()
    pq.write_table(table.slice(0, 55), data / "a.parquet")
    pq.write_table(table.slice(55), data / "b.parquet")
    config = {
        "input": "data/*.parquet",  # relative to the working directory
        "exclude_columns": ["row_id"],
        "seed": 1,
        "sample_rows": 60,
        "keep": [],
        "prefer": [],
        "ingest": {"max_missing_ratio": 0.3, "min_off_mode_rows": 5, "chunk_rows": 4},
    }
    proc = snakemake(workdir, config)
    assert_ok(proc)
    produced = ingest_files(workdir)
    assert {RUN.ingest.column_stats.name, RUN.ingest.sample.name, RUN.ingest.survivors.name} <= set(produced)
    assert not [f for f in produced if f.startswith(".")]  # no temporary file left behind
    stats = pd.read_parquet(results_of(workdir).ingest.column_stats).set_index("column")
    expected = {
        "row_id": ("dropped", "excluded", None),
        "smiles": ("dropped", "non_numeric", None),
        "x": ("kept", None, None),
        "x_int_twin": ("duplicate", "exact_duplicate", "x_float_twin"),
        "x_float_twin": ("kept", None, None),
        "const": ("dropped", "constant", None),
        "empty": ("dropped", "all_missing", None),
        "gappy": ("dropped", "missing_ratio", None),  # 0.4 > 0.3 from the config (the default 0.5 would keep it)
        "y": ("kept", None, None),
    }
    got = {
        c: (r["status"], None if pd.isna(r["reason"]) else r["reason"], None if pd.isna(r["duplicate_of"]) else r["duplicate_of"])
        for c, r in stats.iterrows()
    }
    assert got == expected
    assert stats.loc["const", "figure"] == -1.25
    assert stats.loc["gappy", "figure"] == pytest.approx(0.4, rel=1e-15)
    assert stats.loc["x", "mean"] == pytest.approx(float(np.mean(table["x"].to_numpy())), rel=1e-12)
    assert stats.loc["y", "std"] == pytest.approx(float(np.std(table["y"].to_numpy(), ddof=1)), rel=1e-12)
    assert (stats["n_rows"] == table.num_rows).all()
    survivors = (workdir / TARGET).read_text().splitlines()
    assert survivors == ["x", "x_float_twin", "y"]
    sample = pq.read_table(results_of(workdir).ingest.sample)
    assert sample.column_names == survivors
    assert sample.num_rows == 60  # sample_rows from the config
    assert set(sample["x"].to_numpy()) <= set(table["x"].to_numpy())
    log = (workdir / "logs/ingest.log").read_text()
    assert "ingest: 2 files, 150 rows" in log
    assert (workdir / "logs/benchmarks/ingest.tsv").exists()


# ---- configuration and input errors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"no_such_key": 1}, "no_such_key"),
        ({"ingest": {"max_missing_ratio": 0.5, "bogus_filter": True}}, "bogus_filter"),
        ({"seed": "forty-two"}, "seed"),
        ({"sample_rows": -5}, "sample_rows"),
        ({"ingest": {"chunk_rows": "many"}}, "chunk_rows"),
    ],
    ids=["unknown-key", "unknown-nested-key", "seed-not-int", "sample_rows-negative", "chunk_rows-not-int"],
)
def test_bad_config_fails_before_any_rule(workdir, config, key):
    proc = snakemake(workdir, config)
    assert proc.returncode != 0
    out = output_of(proc)
    assert f"config key '{key}'" in out or f"config key 'ingest.{key}'" in out, out[-3000:]
    assert_nothing_ran(workdir)


def test_bad_config_on_the_command_line(workdir):
    proc = snakemake(workdir, None, "--config", "sedd=3")
    assert proc.returncode != 0
    assert "'sedd'" in output_of(proc)
    assert_nothing_ran(workdir)


def test_bad_exclude_pattern_fails_before_any_rule(workdir):
    proc = snakemake(workdir, {"input": [], "exclude_columns": ["mol_(id"]})
    assert proc.returncode != 0
    out = output_of(proc)
    assert "config key 'exclude_columns'" in out and "'mol_(id'" in out
    assert_nothing_ran(workdir)


def test_empty_input_glob_names_the_config_key(workdir):
    proc = snakemake(workdir, {"input": "no/such/dir/*.parquet"})
    assert proc.returncode != 0
    out = output_of(proc)
    assert "config key 'input'" in out
    assert "'no/such/dir/*.parquet'" in out
    assert ingest_files(workdir) == []
    assert not results_of(workdir).demo.exists()


def test_non_parquet_input_fails_and_leaves_no_output(workdir):
    data = workdir / "data"
    data.mkdir()
    pq.write_table(tiny_table(), data / "good.parquet")
    (data / "zz-export.parquet").write_text("row_id,x\n1,2.0\n")
    proc = snakemake(workdir, {"input": ["data/good.parquet", "data/zz-export.parquet"]})
    assert proc.returncode != 0
    out = output_of(proc)
    assert "zz-export.parquet: not a readable Parquet file" in out
    assert "Traceback" not in (workdir / "logs/ingest.log").read_text()
    assert "ERROR" in (workdir / "logs/ingest.log").read_text()
    assert ingest_files(workdir) == []  # not even a hidden temporary file


# ---- the embedded demo --------------------------------------------------------------------------


def test_embedded_demo_ingest_matches_planted_truth(workdir):
    config = {
        "input": [],
        "exclude_columns": ["row_id"],
        "keep": [],
        "prefer": [],
        "ingest": {"max_missing_ratio": 0.5, "min_off_mode_rows": 5, "chunk_rows": 0},
    }
    proc = snakemake(workdir, config)
    assert_ok(proc)
    table, truth = make_table()
    demo_files = sorted(results_of(workdir).demo.glob("*.parquet"))
    assert len(demo_files) == 4
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in demo_files) == table.num_rows

    stats = pd.read_parquet(results_of(workdir).ingest.column_stats).set_index("column")
    assert list(stats.index) == table.column_names
    reason = {c: (None if pd.isna(r) else r) for c, r in stats["reason"].items()}
    expected: dict[str, str | None] = {c: None for c in table.column_names}
    planted = {
        "excluded": truth.ids,
        "non_numeric": truth.non_numeric,
        "constant": truth.constant,
        "near_constant": truth.near_constant,
        "missing_ratio": truth.mostly_missing,
        "all_missing": truth.all_missing,
        "exact_duplicate": list(truth.duplicates),
    }
    for why, columns in planted.items():
        expected.update(dict.fromkeys(columns, why))
    assert reason == expected

    dup_of = {c: v for c, v in stats["duplicate_of"].items() if not pd.isna(v)}
    assert dup_of == truth.duplicates
    for c in truth.mostly_missing:
        null_share = table[c].null_count / table.num_rows
        assert stats.loc[c, "figure"] == pytest.approx(null_share, rel=1e-12)
    for c in truth.constant:
        assert stats.loc[c, "figure"] == table[c][0].as_py()

    # every planted keeper survives: the group members, the independent columns and the duplicated originals
    planted_keepers = [c for g in truth.monotone_groups + truth.wave_groups for c in g] + truth.one_way + truth.independent
    survivors = (workdir / TARGET).read_text().splitlines()
    assert set(planted_keepers) <= set(survivors)
    assert set(truth.duplicates.values()) <= set(survivors)
    assert survivors == [c for c in table.column_names if expected[c] is None]
    sample = pq.read_table(results_of(workdir).ingest.sample)
    assert sample.column_names == survivors
    assert sample.num_rows == table.num_rows  # the default sample_rows (20000) exceeds the 3000 demo rows


def test_ingest_memory_request_follows_sample_and_row_groups(workdir: Path) -> None:
    """The ingest job asks for 1.1 x (280 + k H + 5.5 G + 10 F) MiB, in MB rounded up to 10 (H: the sample
    values held in memory, a quarter of `ingest.memory_mb` once the sample is larger than that, k = 6.7
    when one query returns them; G: largest row group; F: the files' footers)."""
    (workdir / "data").mkdir()
    rng = np.random.default_rng(0)
    data = rng.normal(size=(200, 60_000))
    table = pa.table({f"c{i}": data[i] for i in range(200)})
    pq.write_table(table, workdir / "data/a.parquet", row_group_size=60_000)  # one row group: 92 MiB
    pq.write_table(table.slice(0, 10_000), workdir / "data/b.parquet", row_group_size=5_000)
    metadata = [pq.read_metadata(workdir / f"data/{name}.parquet") for name in "ab"]
    group = metadata[0].row_group(0).total_byte_size / 2**20
    footers = sum(m.serialized_size for m in metadata) / 2**20
    for sample_rows, memory_mb, k, held in [
        (20_000, 1024, 6.7, 200 * 20_000 * 8 / 2**20),  # the sample, 30.5 MiB, in memory, from one query
        (0, 64, 2.0, 64 / 4),  # every row, 107 MiB: past the budget, in a file, blocks of 16 MiB in memory
    ]:
        mib = 280 + k * held + 5.5 * group + 10 * min(footers, memory_mb / 32)
        expected = int(-(-mib * 1.1 * 2**20 // 10**7) * 10)
        dry = run_snakemake(workdir, {"input": "data/*.parquet", "sample_rows": sample_rows,
                                      "ingest": {"memory_mb": memory_mb}}, "--dry-run", target=TARGET)
        assert f"mem_mb={expected}" in output_of(dry), output_of(dry)[-3000:]
