"""DescriptorSelector: a scikit-learn transformer around the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from descriptor_pipeline.demo import make_table
from descriptor_pipeline.layout import Results
from descriptor_pipeline.selector import DescriptorSelector
from workflow_helpers import results_of


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, object]:
    table, truth = make_table(n_rows=400, seed=3, n_monotone=4, n_wave=3, n_independent=6)
    frame = table.to_pandas().select_dtypes("number").drop(columns=["row_id"])
    return frame, truth


# Every check that applies to an unsupervised selector, on the in-process engine (a Snakemake run
# per fit would take about 10 s, and the checks fit about a hundred times); the test below shows
# that the two engines write the same bytes.
# The checks fit on 20-30 rows: below the row floor, where the selector says so and merges nothing.
@pytest.mark.filterwarnings(r"ignore:.* rows; below \d+ dependence cannot be told from chance:UserWarning")
@parametrize_with_checks([DescriptorSelector(engine="inline")])
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def deterministic_files(results: Path) -> dict[str, bytes]:
    """The result files that hold no timings or paths (the summaries and the JSON's metadata do)."""
    run = Results(results)
    summary = run.ingest.summary.name  # every stage's summary has this name
    files = {str(p.relative_to(results)): p.read_bytes() for p in results.rglob("*")
             if p.is_file() and p.name != summary and p.suffix != ".json"}
    report = json.loads(run.cluster_report.read_text())
    report["metadata"].pop("input_files")
    files[str(run.cluster_report.relative_to(results))] = json.dumps(report, sort_keys=True).encode()
    return files


@pytest.mark.slow
def test_snakemake_engine_in_a_pipeline_equals_the_workflow(planted, tmp_path: Path) -> None:
    frame, truth = planted
    y = frame["mono00_z"].to_numpy() + frame["wave00_x"].to_numpy() ** 2
    selector = DescriptorSelector(sample_rows=0, engine="snakemake", run_dir=tmp_path / "sk")
    model = make_pipeline(selector, SimpleImputer(), LinearRegression()).set_output(transform="pandas")
    model.fit(frame, y)
    final = results_of(tmp_path / "sk").final_list.read_text().splitlines()
    assert list(selector.get_feature_names_out()) == [c for c in frame.columns if c in final]
    assert selector.selected_ == final
    for group in truth.monotone_groups + truth.wave_groups:
        assert len(set(group) & set(final)) == 1, group  # one stands for each planted group
    assert set(truth.independent) & set(frame.columns) <= set(final)  # (the boolean one is not in the frame)
    reduced = model[0].transform(frame)
    assert isinstance(reduced, pd.DataFrame) and list(reduced.columns) == list(selector.get_feature_names_out())
    pd.testing.assert_frame_equal(reduced, frame[list(reduced.columns)])
    assert model.predict(frame).shape == (len(frame),)
    survivor = next(s for s in final if selector.clusters_["descriptors"][s]["alternative_descriptors"])
    assert selector.clusters_ == json.loads(results_of(tmp_path / "sk").cluster_report.read_text())
    assert survivor in selector.clusters_["descriptors"]
    for stage in ("ingest", "spearman", "hsic", "rdc", "backtrack"):
        assert (tmp_path / f"sk/logs/{stage}.log").exists()  # the Snakemake workflow ran, a job per stage

    # The in-process engine writes the same result files, byte for byte.
    inline = clone(selector).set_params(engine="inline", run_dir=tmp_path / "inline").fit(frame)
    assert inline.selected_ == final
    assert deterministic_files(results_of(tmp_path / "inline").root) == deterministic_files(results_of(tmp_path / "sk").root)


def test_parameters_reach_the_workflow(planted, tmp_path: Path) -> None:
    frame, truth = planted
    group = truth.monotone_groups[0]
    kept = DescriptorSelector(engine="inline", keep=[group[-1]], passes=("spearman",), spearman_threshold=0.99,
                              settings={"sample_rows": 300}, run_dir=tmp_path / "a").fit(frame)
    used = json.loads(results_of(tmp_path / "a").cluster_report.read_text())["metadata"]
    assert used["passes_run"] == ["ingest", "spearman"] and used["thresholds"]["spearman"] == 0.99
    assert used["sample_rows"] == 300 and not results_of(tmp_path / "a").stage("hsic").clusters.exists()
    assert group[-1] in kept.selected_ and not set(group[:-1]) & set(kept.selected_)  # keep chose the representative
    # A temporary run directory is removed after fit; the report stays on the estimator.
    temp = DescriptorSelector(engine="inline").fit(frame.to_numpy())
    assert temp.selected_ == [f"x{frame.columns.get_loc(c)}" for c in DescriptorSelector(engine="inline").fit(frame).selected_]
    assert temp.clusters_["descriptors"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"passes": ("spearman", "pearson")}, "passes=.*one of spearman, hsic, rdc"),
        ({"engine": "dask"}, "engine='dask'"),
        ({"hsic_threshold": 1.5}, "config key 'passes.hsic.threshold'"),
        ({"keep": ["absent"]}, "'keep'.*absent"),
    ],
)
def test_bad_parameters_are_value_errors(params, message, planted) -> None:
    frame, _ = planted
    with pytest.raises(ValueError, match=message):
        DescriptorSelector(**{"engine": "inline", **params}).fit(frame.iloc[:50, :6])


def test_random_state_is_the_seed(planted) -> None:
    frame, _ = planted
    a = DescriptorSelector(engine="inline", random_state=7).fit(frame)
    b = DescriptorSelector(engine="inline", random_state=np.random.RandomState(0)).fit(frame)
    assert a.clusters_["metadata"]["seed"] == 7 and isinstance(b.clusters_["metadata"]["seed"], int)
