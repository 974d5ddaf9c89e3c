"""The whole chain ingest -> spearman -> hsic -> rdc -> select -> backtrack on the demo, through Snakemake."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.demo import make_table
from workflow_helpers import (DETERMINISTIC, REPO, RUN, assert_ok, assert_requests_cover_peaks, copy_workflow, output_of,
                              results_of, snakemake)

pytestmark = pytest.mark.slow

def cluster_schema() -> dict:
    return json.loads(resources.files("descriptor_pipeline").joinpath("schemas/clusters.schema.json").read_text())


def test_demo_recovers_planted_structure(demo_run: Path) -> None:
    _, truth = make_table()
    results = results_of(demo_run)
    report = json.loads(results.cluster_report.read_text())
    final = results.final_list.read_text().split()
    members = {name: set(entry["all_cluster_members"]) for name, entry in report["descriptors"].items()}
    assert set(final) == set(members)
    copies_of = {}
    for copy, original in truth.duplicates.items():
        copies_of.setdefault(original, set()).add(copy)
    # one survivor per planted group, standing for the whole group (and the exact copies of its members)
    for group in truth.monotone_groups + truth.wave_groups:
        expected = set(group).union(*(copies_of.get(g, set()) for g in group))
        owners = [s for s, m in members.items() if m & set(group)]
        assert len(owners) == 1, (group, owners)
        assert members[owners[0]] == expected
    # one-way functions (x^2 of a wave group's x) and independent columns are never merged with anything
    # (apart from their planted exact copies)
    for name in truth.one_way + truth.independent:
        assert name in members, name
        assert members[name] == {name} | copies_of.get(name, set())


def test_every_job_of_the_demo_peaks_within_its_memory_request(demo_run: Path) -> None:
    assert_requests_cover_peaks(demo_run, expected_jobs=10)


def test_report_validates_and_conserves_columns(demo_run: Path) -> None:
    results = results_of(demo_run)
    report = json.loads(results.cluster_report.read_text())
    jsonschema.validate(report, cluster_schema())
    columns = pq.read_table(results.ingest.column_stats, columns=["column"]).column(0).to_pylist()
    seen = [m for entry in report["descriptors"].values() for m in entry["all_cluster_members"]] + list(report["dropped"])
    assert sorted(seen) == sorted(columns)  # every input column exactly once
    meta = report["metadata"]
    assert meta["total_descriptors"] == len(report["descriptors"])
    assert meta["total_alternative_descriptors"] == sum(e["total_alternatives"] for e in report["descriptors"].values())
    assert meta["passes_run"] == ["ingest", "spearman", "hsic", "rdc"]


def test_lineage_follows_the_pass_outputs(demo_run: Path) -> None:
    """Each lineage step is a row of that pass's clusters table (or an ingest duplicate), ending at the survivor."""
    results = results_of(demo_run)
    rep = {}
    for p in ("spearman", "hsic", "rdc"):
        for row in pq.read_table(results.stage(p).clusters).to_pylist():
            rep[(p, row["descriptor"])] = (row["representative"], row["similarity"])
            if row["descriptor"] != row["representative"]:
                threshold = json.loads(results.stage(p).summary.read_text())["threshold"]
                assert row["similarity"] >= threshold  # guarantee (a) in the written file
    for row in pq.read_table(results.ingest.column_stats).to_pylist():
        if row["status"] == "duplicate":
            rep[("ingest", row["column"])] = (row["duplicate_of"], 1.0)
    report = json.loads(results.cluster_report.read_text())
    for survivor, entry in report["descriptors"].items():
        for alt, steps in entry["lineage"].items():
            node = alt
            for step in steps:
                assert rep[(step["pass"], node)] == (step["represented_by"], pytest.approx(step["similarity"]))
                node = step["represented_by"]
            assert node == survivor
        history = sorted(n for names in entry["removal_history"].values() for n in names)
        assert history == entry["alternative_descriptors"]


def test_backtrack_target_reruns_only_backtrack(demo_run: Path, tmp_path: Path) -> None:
    wd = tmp_path / "copy"
    shutil.copytree(demo_run, wd, symlinks=True)
    before = {p: (wd / p).stat().st_mtime_ns for p in DETERMINISTIC[2:]}
    results_of(wd).cluster_report.unlink()
    proc = snakemake(wd, None, target=str(RUN.cluster_report))
    assert_ok(proc)
    out = output_of(proc)
    assert "rule backtrack" in out or "localrule backtrack" in out
    for rule in ("ingest", "spearman", "hsic", "rdc"):
        assert f"rule {rule}:" not in out, out[-3000:]
    assert {p: (wd / p).stat().st_mtime_ns for p in DETERMINISTIC[2:]} == before
    assert results_of(wd).cluster_report.read_bytes() == results_of(demo_run).cluster_report.read_bytes()


def test_two_runs_are_byte_identical(demo_run: Path, workdir: Path) -> None:
    shutil.copytree(results_of(demo_run).demo, results_of(workdir).demo)
    assert_ok(snakemake(workdir, None, "--cores", "1"))
    for path in [*DETERMINISTIC, str(RUN.figure("settings"))]:
        assert (workdir / path).read_bytes() == (demo_run / path).read_bytes(), path


def test_disabled_pass_is_skipped(workdir: Path) -> None:
    config = {"passes": {"hsic": {"enabled": False}}}
    proc = snakemake(workdir, config)
    assert_ok(proc)
    results = results_of(workdir)
    assert not results.stage("hsic").folder.exists()
    rdc = json.loads(results.stage("rdc").summary.read_text())
    assert rdc["input_stage"] == "spearman"
    report = json.loads(results.cluster_report.read_text())
    assert report["metadata"]["passes_run"] == ["ingest", "spearman", "rdc"]


def test_real_descriptor_table(workdir: Path) -> None:
    """RDKit 2D descriptors of 1,000 approved drugs (tests/data/README.md): the report validates, conserves
    every column, and groups what chemistry says is the same or nearly the same quantity."""
    source = REPO / "tests/data/rdkit_descriptors.parquet"
    (workdir / "data").mkdir()
    shutil.copy2(source, workdir / "data" / source.name)
    assert_ok(snakemake(workdir, {"input": "data/*.parquet", "exclude_columns": ["mol_id"]}))
    columns = pq.read_schema(source).names
    results = results_of(workdir)
    report = json.loads(results.cluster_report.read_text())
    jsonschema.validate(report, cluster_schema())
    seen = [m for entry in report["descriptors"].values() for m in entry["all_cluster_members"]] + list(report["dropped"])
    assert sorted(seen) == sorted(columns)  # all 219 columns, each exactly once
    assert report["dropped"]["smiles"]["reason"] == "non_numeric"
    assert report["dropped"]["mol_id"]["reason"] == "excluded"
    final = results.final_list.read_text().splitlines()
    assert final == [c for c in columns if c in set(final)]  # input column order
    assert sorted(final) == sorted(report["descriptors"])
    stands_for = {m: s for s, e in report["descriptors"].items() for m in e["all_cluster_members"]}
    # Exact duplicates by definition in RDKit, and weights that differ by isotopes / hydrogens only.
    assert stands_for["MaxEStateIndex"] == stands_for["MaxAbsEStateIndex"]
    assert stands_for["MolWt"] == stands_for["ExactMolWt"] == stands_for["HeavyAtomMolWt"]
    assert stands_for["NumHDonors"] != stands_for["MolWt"]  # hydrogen-bond donors are not a size measure
    # the size family stays under one survivor with the predictability rule (docs/calibration.md)
    assert stands_for["LabuteASA"] == stands_for["HeavyAtomCount"] == stands_for["MolMR"] == stands_for["Chi0"]
    assert 100 <= len(final) <= 190  # about 3/4 of the 190 kept at ingest survive (148 with these defaults)
    # Links that are not redundancies stay links: a shared zero / non-zero split (PEOE_VSA14 is 0 exactly
    # where MaxPartialCharge < 0.3; EState_VSA1 and MinEStateIndex at E-state -0.39) and ketone counts that
    # differ on half the molecules with a ketone. Each is in the RDC edges, refused as a merge with the
    # figure that refuses it, and neither member represents the other.
    rdc = json.loads(results.stage("rdc").summary.read_text())
    edges = {frozenset((r["descriptor_a"], r["descriptor_b"])): r
             for r in pq.read_table(results.stage("rdc").edges).to_pylist()}
    clusters = pq.read_table(results.stage("rdc").clusters).to_pydict()
    represented_by = dict(zip(clusters["descriptor"], clusters["representative"]))
    for pair in [("MaxPartialCharge", "PEOE_VSA14"), ("EState_VSA1", "MinEStateIndex"), ("fr_ketone", "fr_ketone_Topliss")]:
        edge = edges[frozenset(pair)]
        assert edge["similarity"] >= rdc["threshold"] and not edge["is_merge"]
        assert min(edge["a_from_b"], edge["b_from_a"]) < rdc["min_predictability"] == 0.5
        assert represented_by[pair[0]] != pair[1] and represented_by[pair[1]] != pair[0]
    for name, figure, is_rep in zip(clusters["descriptor"], clusters["predictability"], clusters["is_representative"]):
        assert is_rep or figure >= 0.5, name  # guarantee (a) on a real table
    assert_requests_cover_peaks(workdir)  # every job within its mem_mb (docs/benchmarks.md)


def test_alternatives_tsv_matches_the_report(demo_run: Path) -> None:
    results = results_of(demo_run)
    report = json.loads(results.cluster_report.read_text())
    final = results.final_list.read_text().splitlines()
    lines = results.alternatives.read_text().splitlines()
    header, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    assert header == ["survivor", "alternative", "pass_path", "via", "step_similarities", "min_similarity",
                      "step_predictabilities", "predictability"]
    assert len(rows) == report["metadata"]["total_alternative_descriptors"]
    expected = [(s, a) for s in final for a in report["descriptors"][s]["alternative_descriptors"]]
    assert [(r[0], r[1]) for r in rows] == expected
    for survivor, alternative, pass_path, via, sims, low, step_figures, figure in rows:
        steps = report["descriptors"][survivor]["lineage"][alternative]
        assert pass_path.split(">") == [step["pass"] for step in steps]
        assert float(low) == min(step["similarity"] for step in steps)
        assert [float(f) for f in step_figures.split(";")] == [step["predictability"] for step in steps]
        assert float(figure) == report["descriptors"][survivor]["predictability"][alternative]


def test_predictability_in_the_report_equals_an_independent_computation(demo_run: Path) -> None:
    """Each step's figure is its pass's (its clusters table); end to end, the scipy/pandas figure of the
    alternative from the survivor on the whole ingest sample (an exact copy through the column it equals);
    every step meets the pass's min_predictability, an exact copy is 1 (a step, or end to end from the column it copies)."""
    from test_predictability import reference

    results = results_of(demo_run)
    report = json.loads(results.cluster_report.read_text())
    sample = pq.read_table(results.ingest.sample).to_pydict()
    stats = pq.read_table(results.ingest.column_stats).to_pydict()
    dup_of = {c: d for c, st, d in zip(stats["column"], stats["status"], stats["duplicate_of"]) if st == "duplicate"}
    pass_figure = {}
    for p in ("spearman", "hsic", "rdc"):
        c = pq.read_table(results.stage(p).clusters).to_pydict()
        pass_figure[p] = dict(zip(c["descriptor"], c["predictability"]))
    minimum = {p: json.loads(results.stage(p).summary.read_text())["min_predictability"] for p in pass_figure}
    column = lambda name: np.array(sample[dup_of.get(name, name)], dtype=float)  # noqa: E731
    checked = copies = 0
    for survivor, entry in report["descriptors"].items():
        for alternative in entry["alternative_descriptors"]:
            node = alternative
            for step in entry["lineage"][alternative]:
                expected = 1.0 if step["pass"] == "ingest" else pass_figure[step["pass"]][node]
                assert step["predictability"] == expected and (step["pass"] == "ingest" or expected >= minimum[step["pass"]])
                node = step["represented_by"]
            got = entry["predictability"][alternative]
            if dup_of.get(alternative) == survivor:  # an exact copy of the survivor: 1 by definition
                assert got == 1.0 and entry["lineage"][alternative][0]["pass"] == "ingest"
                copies += 1
            else:
                assert got == pytest.approx(reference(column(alternative), column(survivor)), abs=1e-9), (survivor, alternative)
            checked += 1
    assert checked == report["metadata"]["total_alternative_descriptors"] > 50 and copies > 0


def test_sharded_passes_equal_one_job(demo_run: Path, workdir: Path) -> None:
    """passes.P.shards > 1: the block pairs run as separate jobs and rule P gathers them; same bytes."""
    shutil.copytree(results_of(demo_run).demo, results_of(workdir).demo)
    # HSIC below SCREEN_MIN_THRESHOLD: its screen (two rows a column) would fit the demo in one block; its
    # shards over many screened blocks: test_dependence.test_hsic_screen_shards_gather_to_one_job.
    hsic = {"threshold": 0.45}
    config = {"passes": {"spearman": {"shards": 3}, "hsic": {"shards": 2, **hsic}, "rdc": {"shards": 4}}, "block_memory_mb": 16}
    proc = snakemake(workdir, config)
    assert_ok(proc)
    out = output_of(proc)
    for name, n in (("spearman", 3), ("hsic", 2), ("rdc", 4)):
        stage = results_of(workdir).stage(name)
        assert sorted(p.name for p in stage.shard(0).parent.iterdir()) == [stage.shard(k).name for k in range(n)]
        assert f"rule {name}_shard:" in out
    # One job per pass, with the same block size, for the reference.
    single = workdir.parent / "single"
    shutil.copytree(workdir, single, ignore=shutil.ignore_patterns(RUN.root.name, "logs", "benchmarks", ".snakemake"))
    shutil.copytree(results_of(demo_run).demo, results_of(single).demo)
    assert_ok(snakemake(single, {"passes": {"hsic": hsic}, "block_memory_mb": 16}))
    compared = DETERMINISTIC + [str(f) for p in ("spearman", "hsic", "rdc") for f in (RUN.stage(p).edges, RUN.stage(p).survivors)]
    for path in compared:
        assert (workdir / path).read_bytes() == (single / path).read_bytes(), path
    summary = json.loads(results_of(workdir).stage("hsic").summary.read_text())
    reference = json.loads(results_of(single).stage("hsic").summary.read_text())
    assert summary["similarity_histogram"] == reference["similarity_histogram"]
    assert summary["blocks"] == reference["blocks"] > 1
