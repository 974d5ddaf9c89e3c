"""The run layout is defined once (descriptor_pipeline.layout); here it is held to the names users rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from descriptor_pipeline.layout import BENCHMARKS, FIGURES, Results, figure_path
from descriptor_pipeline.settings import PASSES
from workflow_helpers import REPO


def test_the_names_users_rely_on() -> None:
    run = Results()
    assert str(run.final_list) == "results/final_descriptors.txt"
    assert str(run.cluster_report) == "results/surviving_descriptors_clusters.json"
    assert run.ingest.ingest_outputs() == {
        "stats": "results/ingest/column_stats.parquet", "survivors": "results/ingest/survivors.txt",
        "sample": "results/ingest/sample.parquet", "summary": "results/ingest/summary.json"}
    assert run.stage("hsic").pass_outputs() == {
        "clusters": "results/hsic/clusters.parquet", "edges": "results/hsic/edges.parquet",
        "survivors": "results/hsic/survivors.txt", "summary": "results/hsic/summary.json"}
    assert str(run.stage("rdc").shard(3)) == "results/rdc/shards/edges-3.parquet"
    assert str(Results("out/results").figure("similarity", "spearman")) == "out/results/report/spearman/similarity.svg"


def test_every_figure_has_its_caption_and_a_run_lists_each_once() -> None:
    for figure in (*FIGURES, BENCHMARKS):
        assert (REPO / "workflow" / "report" / figure.caption).is_file(), figure.caption
    listed = Results().figures(PASSES, stability=True)
    paths = [path for _, _, path in listed]
    assert len(paths) == len(set(paths)) == 6 + 3 * len(PASSES)
    assert Path("results/report/stability.svg") in paths
    assert Path("results/report/stability.svg") not in [p for _, _, p in Results().figures(PASSES, stability=False)]
    with pytest.raises(ValueError, match="pass name"):
        figure_path("results/report", "similarity")


def test_the_config_table_is_generated_from_the_schema() -> None:
    from descriptor_pipeline.settings import load_schema, markdown_table

    text = (REPO / "config" / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- generated from schema.yaml: begin -->\n", 1)[1].split("<!-- generated from schema.yaml: end -->", 1)[0]
    assert block == markdown_table(load_schema(REPO / "config" / "schema.yaml")), "run: python -m descriptor_pipeline.settings"
