"""Property-based test of the whole chain (ingest -> spearman -> hsic -> rdc -> cluster report), in process.

Hypothesis draws small tables with planted exact duplicates, constants, missing values, ties and
monotone copies, plus thresholds and `keep` names, and checks the invariants that must hold whatever
the data: every input column is accounted for exactly once, each pass keeps guarantees (a) and (b)
(checked against the all-pairs similarity matrix at threshold 0), and the report validates against
its JSON Schema.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
import pytest
from hypothesis import strategies as st

from descriptor_pipeline.chain import run_chain
from descriptor_pipeline.dependence import all_pairs
from descriptor_pipeline.io import read_lines
from descriptor_pipeline.layout import Results
from descriptor_pipeline.passes import PASSES, make_measure, read_sample
from descriptor_pipeline.settings import MIN_ROWS, fill_defaults, load_schema

SCHEMA = json.loads(resources.files("descriptor_pipeline").joinpath("schemas/clusters.schema.json").read_text())


@st.composite
def tables(draw) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns (name -> float array with NaN) and the names to `keep`."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(6, 120))  # both sides of the row floor (MIN_ROWS)
    cols: dict[str, np.ndarray] = {}
    for k in range(draw(st.integers(1, 4))):
        base = rng.standard_normal(n)
        if draw(st.booleans()):
            base = np.round(base * 2)  # ties
        cols[f"x{k}"] = base
        if draw(st.booleans()):
            cols[f"x{k}_exp"] = np.exp(base)  # monotone copy
        if draw(st.booleans()):
            cols[f"x{k}_sq"] = base**2  # non-monotone function
        if draw(st.booleans()):
            cols[f"x{k}_dup"] = base.copy()  # exact duplicate
        if draw(st.booleans()):
            noisy = base + draw(st.sampled_from([0.01, 0.3, 1.0])) * rng.standard_normal(n)
            cols[f"x{k}_noisy"] = noisy
    if draw(st.booleans()):
        cols["const"] = np.full(n, 3.0)
    for name in list(cols):
        if draw(st.integers(0, 4)) == 0:
            v = cols[name].copy()
            v[rng.random(n) < draw(st.sampled_from([0.1, 0.4, 0.7]))] = np.nan
            cols[name] = v
    keep = [name for name in cols if draw(st.integers(0, 9)) == 0]
    return cols, keep


def similarity_matrix(sample: str, names: list[str], pass_name: str, config: dict) -> dict[frozenset, float]:
    """Every pair's similarity in a pass (threshold 0), from the same sample the pass read."""
    X = read_sample(sample, names, int(config["passes"][pass_name]["max_rows"]))
    result = all_pairs(X, make_measure(pass_name, config), 0.0, np, config["dtype"], config["block_memory_mb"])
    return {frozenset((names[i], names[j])): s for i, j, s in zip(result.i, result.j, result.similarity)}


def write_files(d, cols: dict[str, np.ndarray], n_files: int) -> list[str]:
    """The columns (NaN as null) split over ``n_files`` Parquet files in ``d``."""
    names = list(cols)
    n = len(next(iter(cols.values())))
    data = pa.table({name: pa.array(cols[name], mask=np.isnan(cols[name])) for name in names})
    cuts = np.linspace(0, n, n_files + 1).astype(int)
    files = []
    for f, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
        files.append(str(d / f"part-{f}.parquet"))
        pq.write_table(data.slice(lo, hi - lo), files[-1])
    return files


def chain_config(thresholds: tuple[float, float, float], keep: list[str]) -> dict:
    return {
        "seed": 5, "sample_rows": 0, "keep": keep, "prefer": [], "exclude_columns": [], "backend": "numpy",
        "dtype": "float64", "block_memory_mb": 1,
        "ingest": {"max_missing_ratio": 0.5, "min_off_mode_rows": 5, "chunk_rows": 0},
        "passes": {
            # min_predictability 0: every link is a merge, so the invariants below are the graph's
            "spearman": {"threshold": thresholds[0], "max_rows": 0, "min_predictability": 0.0},
            "hsic": {"threshold": thresholds[1], "n_features": 16, "max_rows": 0, "min_predictability": 0.0},
            "rdc": {"threshold": thresholds[2], "k": 10, "s": 1 / 6, "max_rows": 0, "min_predictability": 0.0},
        },
    }


def run_whole_chain(files: list[str], config: dict, results) -> dict:
    """ingest, the passes, select and backtrack in one process (the chain the rules run); the cluster
    report, validated against its schema."""
    full = fill_defaults(config, load_schema())  # block_memory_mb 1 (many blocks) is below the schema's minimum
    report = run_chain(full, files, Results(results))
    jsonschema.validate(report, SCHEMA)
    return report


def assert_each_column_once(report: dict, names: list[str]) -> None:
    """Conservation: every input column exactly once, as a survivor, an alternative or dropped."""
    seen = list(report["descriptors"]) + list(report["dropped"])
    for entry in report["descriptors"].values():
        seen += entry["alternative_descriptors"]
    assert sorted(seen) == sorted(names)


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=tables(),
    thresholds=st.tuples(st.sampled_from([0.5, 0.8, 0.95]), st.sampled_from([0.3, 0.6, 0.8]), st.sampled_from([0.5, 0.8, 0.9])),
    n_files=st.integers(1, 3),
)
def test_chain_invariants(tmp_path_factory, table, thresholds, n_files: int) -> None:
    cols, keep = table
    names = list(cols)
    config = chain_config(thresholds, keep)
    results = tmp_path_factory.mktemp("chain") / "results"
    report = run_whole_chain(write_files(results.parent, cols, n_files), config, results)
    run = Results(results)
    survivors_in = run.ingest.survivors
    for pass_name in PASSES:
        out = run.stage(pass_name)
        names_in = sorted(survivors_in.read_text().split())
        survivors = set(out.survivors.read_text().split())
        threshold = config["passes"][pass_name]["threshold"]
        sim = similarity_matrix(str(run.ingest.sample), names_in, pass_name, config)
        clusters = pq.read_table(out.clusters).to_pydict()
        assert sorted(clusters["descriptor"]) == names_in
        for name, rep in zip(clusters["descriptor"], clusters["representative"]):
            if name != rep:  # (a) a removed descriptor is similar enough to its representative
                assert name not in keep and rep in survivors
                assert sim[frozenset((name, rep))] >= threshold, (pass_name, name, rep)
        rows = pq.read_metadata(run.ingest.sample).num_rows
        if rows < MIN_ROWS:  # (b') too few rows to tell dependence from chance: nothing is merged
            assert survivors == set(names_in), (pass_name, rows)
        ordered = sorted(survivors) if rows >= MIN_ROWS else []
        for i, a in enumerate(ordered):  # (b) no two survivors are linked, unless both are kept
            for b in ordered[i + 1 :]:
                assert sim[frozenset((a, b))] < threshold or (a in keep and b in keep), (pass_name, a, b)
        assert set(keep) & set(names_in) <= survivors
        survivors_in = out.survivors

    assert_each_column_once(report, names)
    assert sorted(report["descriptors"]) == sorted(run.stage("rdc").survivors.read_text().split())


# ---- names --------------------------------------------------------------------------------------

# Quotes, SQL and format syntax, backslash, case pairs whose folding differs (ß -> SS, final sigma,
# dotted I), combining marks, spaces of several kinds, Korean, emoji and a zero-width joiner.
HOSTILE = "aAbBxX\"'`;-*{}$%()[]., \u00a0\u3000ßẞσςΣİıe\u0301분자🧪\u200d😀_0"


@st.composite
def hostile_columns(draw) -> dict[str, np.ndarray]:
    """Columns under names from HOSTILE, many of them case variants of each other, with planted exact
    duplicates, monotone copies, constants and missing values."""
    base = draw(st.lists(st.text(HOSTILE, min_size=1, max_size=10), min_size=1, max_size=6, unique=True))
    names = list(dict.fromkeys(v for b in base for v in (b, *draw(st.sets(st.sampled_from(
        [b.upper(), b.lower(), b.swapcase(), b.casefold(), b.title()]), max_size=3)))))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(8, 40))
    cols: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        kind = draw(st.sampled_from(["new", "new", "duplicate", "monotone", "constant"])) if cols else "new"
        other = cols[names[draw(st.integers(0, k - 1))]] if cols else None
        if kind == "duplicate":
            cols[name] = other.copy()
        elif kind == "monotone":
            cols[name] = np.exp(np.nan_to_num(other, nan=0.0) / 4)
        elif kind == "constant":
            cols[name] = np.full(n, float(k))
        else:
            cols[name] = rng.normal(size=n).round(draw(st.sampled_from([1, 8])))
        if draw(st.integers(0, 3)) == 0:
            cols[name][rng.random(n) < 0.3] = np.nan
    return cols


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cols=hostile_columns(), n_files=st.integers(1, 3))
def test_hostile_names_keep_their_own_values_and_appear_once(tmp_path_factory, cols, n_files: int) -> None:
    names = list(cols)
    config = chain_config((0.9, 0.6, 0.8), [])
    results = tmp_path_factory.mktemp("names") / "results"
    report = run_whole_chain(write_files(results.parent, cols, n_files), config, results)
    stats = pq.read_table(Results(results).ingest.column_stats).to_pandas()
    assert stats["column"].tolist() == names
    reference = pd.DataFrame(cols)  # pandas: every column by its exact name
    for row in stats.itertuples():
        x = reference[row.column]
        assert row.n_missing == x.isna().sum(), row.column
        scale = float(x.abs().max()) if row.n_missing < len(x) else 0.0
        if row.n_missing < len(x):
            assert (row.min, row.max) == (x.min(), x.max()), row.column
            assert row.mean == pytest.approx(x.mean(), rel=1e-12, abs=1e-14 * scale), row.column
        if row.n_missing < len(x) - 1:
            assert row.std == pytest.approx(x.std(ddof=1), rel=1e-9, abs=1e-14 * scale), row.column
        if row.reason == "exact_duplicate":
            assert reference[row.duplicate_of].equals(x), row.column
    assert_each_column_once(report, names)
    assert read_lines(Results(results).final_list) == [n for n in names if n in report["descriptors"]]
