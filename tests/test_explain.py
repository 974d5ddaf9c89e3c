"""``descriptor-pipeline explain NAME``: what the demo run did with each column, checked against the
cluster report and the ingest column stats that the run wrote."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.cli import main
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.explain import explain
from descriptor_pipeline.layout import Results
from workflow_helpers import RUN, results_of

pytestmark = pytest.mark.slow  # the shared demo run


@pytest.fixture(scope="module")
def run(demo_run):
    files = results_of(demo_run)
    report = json.loads(files.cluster_report.read_text(encoding="utf-8"))
    stats = {r["column"]: r for r in pq.read_table(files.ingest.column_stats).to_pylist()}
    return files.root, report, stats


def test_every_input_column_gets_one_paragraph(run):
    results, report, stats = run
    for name in stats:
        text = explain(name, results)
        assert "\n" not in text and text.startswith(repr(name)), name
        if name in report["descriptors"]:
            assert " is kept" in text
        elif name in report["dropped"]:
            assert " was dropped at ingest" in text
        else:
            assert " was removed as redundant" in text


def test_a_removed_descriptor_names_every_step_and_its_survivor(run):
    results, report, _ = run
    chains = [(s, a, steps) for s, e in report["descriptors"].items() for a, steps in e["lineage"].items()]
    longest = max(len(steps) for _, _, steps in chains)
    assert longest >= 2  # the demo has chains through more than one pass
    for survivor, alternative, steps in chains:
        text = explain(alternative, results)
        assert text.endswith(f"{survivor!r} stands for it in {RUN.final_list.name} ({RUN.alternatives.name} lists the pair).")
        at = 0
        for step in steps:  # every step, in order, with its similarity against the pass threshold
            if step["pass"] == "ingest":
                parts = [f"equal in every row to {step['represented_by']!r}"]
            else:
                threshold = report["metadata"]["thresholds"][step["pass"]]
                parts = [f"the {step['pass']} pass merged", f"into {step['represented_by']!r} at",
                         f"{step['similarity']:.3f} (threshold {threshold:g})"]
            for part in parts:
                at = text.index(part, at)  # ValueError: not said, or not in this order


def test_a_survivor_names_its_closest_alternatives(run):
    results, report, _ = run
    for survivor, entry in report["descriptors"].items():
        text = explain(survivor, results)
        n = entry["total_alternatives"]
        if n == 0:
            assert "It stands for no other descriptor." in text
            continue
        assert f"It stands for {n} other descriptor" in text
        closest = max(entry["alternative_descriptors"], key=lambda a: (min(s["similarity"] for s in entry["lineage"][a]), a))
        best = min(s["similarity"] for s in entry["lineage"][closest])
        assert f"lowest step {best:.3f}" in text


def test_dropped_columns_give_reason_and_figure(run):
    results, report, stats = run
    reasons = {entry["reason"] for entry in report["dropped"].values()}
    assert {"excluded", "non_numeric", "all_missing", "missing_ratio", "constant", "near_constant"} <= reasons
    for name, entry in report["dropped"].items():
        text = explain(name, results)
        row = stats[name]
        if entry["reason"] == "missing_ratio":
            assert f"{row['missing_ratio']:.1%} of its values are missing" in text and "max_missing_ratio" in text
        elif entry["reason"] == "constant":
            assert f"every present value is {row['min']:g}" in text
        elif entry["reason"] == "near_constant":
            assert f"only {row['n_off_mode_sample']} of the " in text and f"most frequent value {row['mode']:g}" in text
            assert "'ingest.min_off_mode_rows' 5" in text
        elif entry["reason"] == "non_numeric":
            assert f"type {row['dtype']}" in text
        elif entry["reason"] == "excluded":
            assert "'exclude_columns'" in text


def test_an_unknown_name_fails_with_the_names_it_may_mean(run, capsys):
    results, report, _ = run
    survivor = next(iter(report["descriptors"]))
    with pytest.raises(PipelineError, match=rf"no input column {survivor.swapcase()!r} in this run; did you mean {survivor!r}"):
        explain(survivor.swapcase(), results)
    assert main(["explain", "no such column", "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'no such column'" in err
    assert main(["explain", survivor, "--results", str(results)]) == 0
    assert capsys.readouterr().out.startswith(repr(survivor))


def test_a_text_column_of_numbers_is_explained_as_such():
    from descriptor_pipeline.explain import _dropped

    ingest = {"settings": {}, "numbers_as_text": ["nAcid"]}
    entry = {"reason": "non_numeric", "figure": None}
    text = _dropped("nAcid", entry, {"dtype": "string"}, ingest)
    assert text == ("'nAcid' was dropped at ingest: it is not numeric (type string), so it is no descriptor; its "
                    "values are numbers stored as text: write it as a numeric column to have it treated as one. "
                    "It is in no cluster and in no later pass.")
    assert "stored as text" not in _dropped("smiles", entry, {"dtype": "string"}, ingest)


def test_a_survivor_names_its_links_that_were_not_merges(run):
    """A refused link (a row of the pass's edges, is_merge false) is told from the survivor's side, strongest first,
    with both figures; a survivor without one says nothing of it."""
    results, report, _ = run
    refused = {}
    for p in ("spearman", "hsic", "rdc"):
        for r in pq.read_table(Results(results).stage(p).edges).to_pylist():
            if not r["is_merge"]:
                for name, other, own, back in ((r["descriptor_a"], r["descriptor_b"], r["a_from_b"], r["b_from_a"]),
                                               (r["descriptor_b"], r["descriptor_a"], r["b_from_a"], r["a_from_b"])):
                    refused.setdefault(name, []).append((-r["similarity"], p, other, own, back))
    kept = [name for name in report["descriptors"] if name in refused]
    assert kept, "the demo has one-way pairs, refused as merges, whose members both survive"
    for name in report["descriptors"]:
        text = explain(name, results)
        if name not in refused:
            assert "not a merge" not in text and "not merges" not in text, name
            continue
        links = sorted(refused[name])
        n = len(links)
        assert f" It has {n} link{'' if n == 1 else 's'} at or above a threshold that " in text, name
        _, p, other, own, back = links[0]
        assert (f"{other!r} ({p}, ") in text and (f"{other!r} predicts it at {own:.3f}, it predicts {other!r} at "
                                                 f"{back:.3f}, 'min_predictability' 0.5)") in text, name


def test_a_survivor_standing_for_many_says_how_to_pick_another() -> None:
    from descriptor_pipeline.explain import MANY, _another

    members = ["VE2_Dt", "ATS0dv", "nHeavyAtom", "MW", *[f"X{k}" for k in range(MANY)]]
    entry = {"total_alternatives": len(members) - 1, "all_cluster_members": members}
    text = _another("VE2_Dt", entry)
    assert "'VE2_Dt' stands for many descriptors" in text and "'prefer: [MW]' for 'MW', the best-known" in text
    unknown = {"total_alternatives": MANY, "all_cluster_members": ["A", *[f"X{k}" for k in range(MANY)]]}
    assert "'prefer: [NAME]' with one of them" in _another("A", unknown)
    few = {"total_alternatives": MANY - 1, "all_cluster_members": members[:MANY]}
    assert _another("VE2_Dt", few) == ""
