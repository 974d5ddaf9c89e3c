"""compare_finals against the definitions: Jaccard |A & B| / |A | B| over every pair, flips = the
descriptors final in some runs and not in all."""

from __future__ import annotations

import itertools

import pytest

from descriptor_pipeline.stability import compare_finals


def test_jaccard_and_flips_follow_their_definitions():
    finals = {42: ["a", "b", "c", "d"], 1: ["a", "b", "c", "e"], 2: ["a", "b", "e"]}
    result = compare_finals(finals, 42, {"e": "d", "x": "y"})
    assert result["seeds"] == [42, 1, 2] and result["final_sizes"] == [4, 4, 3]
    expected = {(42, 1): 3 / 5, (42, 2): 2 / 5, (1, 2): 3 / 4}
    assert {tuple(p["seeds"]): p["jaccard"] for p in result["jaccard"]} == pytest.approx(expected)
    assert result["jaccard_min"] == pytest.approx(2 / 5)
    assert result["jaccard_mean"] == pytest.approx(sum(expected.values()) / 3)
    assert result["final_in_every_run"] == 2
    # e: final in 2 runs, here stood for by d; c: in 2, final here; d: in 1, final here
    assert result["flips"] == [
        {"descriptor": "c", "final_in": 2, "in_this_run": "final"},
        {"descriptor": "e", "final_in": 2, "in_this_run": "d"},
        {"descriptor": "d", "final_in": 1, "in_this_run": "final"},
    ]


def test_one_run_or_identical_runs_have_no_flips():
    for finals in ({5: ["a"]}, {5: ["a", "b"], 6: ["b", "a"]}):
        result = compare_finals(finals, 5, {})
        assert result["flips"] == [] and result["jaccard_min"] == 1.0
    assert list(itertools.chain(compare_finals({5: [], 6: []}, 5, {})["jaccard"])) == [{"seeds": [5, 6], "jaccard": 1.0}]
