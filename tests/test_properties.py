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
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descriptor_pipeline.dependence import all_pairs
from descriptor_pipeline.ingest import IngestSettings, run_ingest
from descriptor_pipeline.lineage import create_cluster_structure
from descriptor_pipeline.passes import PASSES, make_measure, read_sample, run_pass
from descriptor_pipeline.selection import write_final_list

SCHEMA = json.loads(resources.files("descriptor_pipeline").joinpath("schemas/clusters.schema.json").read_text())


@st.composite
def tables(draw) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns (name -> float array with NaN) and the names to `keep`."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(6, 40))
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


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=tables(),
    thresholds=st.tuples(st.sampled_from([0.5, 0.8, 0.95]), st.sampled_from([0.3, 0.6, 0.8]), st.sampled_from([0.5, 0.8, 0.9])),
    n_files=st.integers(1, 3),
)
def test_chain_invariants(tmp_path_factory, table, thresholds, n_files: int) -> None:
    cols, keep = table
    d = tmp_path_factory.mktemp("chain")
    names = list(cols)
    n = len(next(iter(cols.values())))
    data = pa.table({name: pa.array(cols[name], mask=np.isnan(cols[name])) for name in names})
    files = []
    for f, (lo, hi) in enumerate(zip(np.linspace(0, n, n_files + 1).astype(int)[:-1], np.linspace(0, n, n_files + 1).astype(int)[1:])):
        files.append(str(d / f"part-{f}.parquet"))
        pq.write_table(data.slice(lo, hi - lo), files[-1])
    config = {
        "seed": 5, "sample_rows": 0, "keep": keep, "prefer": [], "exclude_columns": [], "backend": "numpy",
        "dtype": "float64", "block_memory_mb": 1,
        "ingest": {"max_missing_ratio": 0.5, "min_robust_variance": 1e-10, "chunk_rows": 0},
        "passes": {
            "spearman": {"threshold": thresholds[0], "max_rows": 0},
            "hsic": {"threshold": thresholds[1], "n_features": 16, "max_rows": 0},
            "rdc": {"threshold": thresholds[2], "k": 10, "s": 1 / 6, "max_rows": 0},
        },
    }
    results = d / "results"
    ingest = results / "ingest"
    ingest.mkdir(parents=True)
    run_ingest(files, IngestSettings.from_config(config), str(ingest / "column_stats.parquet"), str(ingest / "survivors.txt"),
               str(ingest / "sample.parquet"), str(ingest / "summary.json"))
    survivors_in = ingest / "survivors.txt"
    for pass_name in PASSES:
        out = results / pass_name
        out.mkdir()
        run_pass(pass_name, config, str(ingest / "sample.parquet"), str(survivors_in), str(ingest / "column_stats.parquet"),
                 str(out / "clusters.parquet"), str(out / "edges.parquet"), str(out / "survivors.txt"), str(out / "summary.json"))
        names_in = sorted(survivors_in.read_text().split())
        survivors = set((out / "survivors.txt").read_text().split())
        threshold = config["passes"][pass_name]["threshold"]
        sim = similarity_matrix(str(ingest / "sample.parquet"), names_in, pass_name, config)
        clusters = pq.read_table(out / "clusters.parquet").to_pydict()
        assert sorted(clusters["descriptor"]) == names_in
        for name, rep in zip(clusters["descriptor"], clusters["representative"]):
            if name != rep:  # (a) a removed descriptor is similar enough to its representative
                assert name not in keep and rep in survivors
                assert sim[frozenset((name, rep))] >= threshold, (pass_name, name, rep)
        ordered = sorted(survivors)
        for i, a in enumerate(ordered):  # (b) no two survivors are linked, unless both are kept
            for b in ordered[i + 1 :]:
                assert sim[frozenset((a, b))] < threshold or (a in keep and b in keep), (pass_name, a, b)
        assert set(keep) & set(names_in) <= survivors
        survivors_in = out / "survivors.txt"

    write_final_list(str(survivors_in), str(results / "final_descriptors.txt"))
    report = create_cluster_structure(output_dir=results)
    jsonschema.validate(report, SCHEMA)
    seen = list(report["descriptors"]) + list(report["dropped"])
    for entry in report["descriptors"].values():
        seen += entry["alternative_descriptors"]
    assert sorted(seen) == sorted(names)  # conservation: each input column exactly once
    assert sorted(report["descriptors"]) == sorted((results / "rdc" / "survivors.txt").read_text().split())
