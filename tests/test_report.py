"""The report: figures drawn from the checkpoints, `snakemake --report`, and the page as Chromium shows it."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import itertools
from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
import yaml
from matplotlib.figure import Figure
from matplotlib.text import Text

from descriptor_pipeline import report as rp
from descriptor_pipeline.report import per_pass
from descriptor_pipeline.report._draw import missing_glyphs_ignored
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.settings import PASSES, complete
from report_browser import find_chromium, open_report, show_result
from workflow_helpers import RUN, SNAKEMAKE, assert_ok, results_of, snakemake_env

FIGURES = [str(path) for figure, _, path in RUN.figures(PASSES, stability=False) if figure.suffix == ".svg"]
FIGURES.append(str(RUN.figure("benchmarks")))
SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(data: bytes) -> list[str]:
    """Every piece of text of an SVG (it must parse as XML)."""
    root = ET.fromstring(data)
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


RAW_MATH = ("$", "\\mathdefault", "^{")  # mathtext markup, shown raw where text.parse_math is off


def raw_mathtext(texts: Iterable[str], names: Iterable[str] = ()) -> list[str]:
    """The texts that hold mathtext markup once every descriptor name in them (as the figures draw it,
    shortened or not) is taken out: a "$" in a name is the name's, anywhere else it is a tick label gone wrong."""
    drawn = sorted({rp.label(n, chars) for n in names for chars in (rp.LABEL_CHARS, per_pass.TITLE_CHARS,
                                                                     per_pass.NODE_CHARS)}, key=len, reverse=True)
    bad = []
    for text in texts:
        rest = text
        for name in drawn:
            rest = rest.replace(name, "")
        if any(mark in rest for mark in RAW_MATH):
            bad.append(text)
    return bad


def drawn_texts(fig: Figure) -> list[tuple[Text, object]]:
    """Every text the figure draws (tick labels, titles, labels, annotations; no hidden or empty one) with
    its extent on the canvas, as matplotlib lays it out: the renderer records what it is asked to draw."""
    renderer = fig.canvas.get_renderer()
    seen: list[Text] = []
    draw_text = renderer.draw_text

    def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):  # noqa: ANN001, ANN202
        if mtext is not None and mtext not in seen:
            seen.append(mtext)
        return draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = record
    try:
        with missing_glyphs_ignored():
            fig.draw(renderer)
            return [(text, text.get_window_extent(renderer)) for text in seen]
    finally:
        del renderer.draw_text


def overlapping_texts(fig: Figure, tolerance: float = 0.5) -> list[tuple[str, str]]:
    """The pairs of drawn texts whose extents overlap (by more than ``tolerance`` pixels each way)."""
    texts = drawn_texts(fig)
    return [(a.get_text(), b.get_text()) for (a, ba), (b, bb) in itertools.combinations(texts, 2)
            if min(ba.x1, bb.x1) - max(ba.x0, bb.x0) > tolerance and min(ba.y1, bb.y1) - max(ba.y0, bb.y0) > tolerance]


def titles_and_labels(fig: Figure) -> list[str]:
    """The lines of a figure's title and of each panel's titles and (shown) axis labels."""
    texts = [fig.get_suptitle()]
    for ax in fig.axes:
        texts += [ax.get_title(loc) for loc in ("left", "center", "right")]
        if ax.axison:
            texts += [ax.get_xlabel(), ax.get_ylabel()]
    return [line.strip() for text in texts for line in text.split("\n") if line.strip()]


def assert_reads_cleanly(figures: Mapping[str, Figure], names: Iterable[str] = ()) -> None:
    """No two texts of a figure overlap; no tick label (or other text) is raw mathtext; every log axis has
    plain tick labels, at least two of them."""
    names = list(names)
    for key, fig in figures.items():
        texts = [t.get_text() for t, _ in drawn_texts(fig)]
        assert overlapping_texts(fig) == [], key
        assert raw_mathtext(texts, names) == [], key
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                if axis.get_scale() in ("log", "symlog") and ax.axison:
                    ticks = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
                    assert len(ticks) >= 2 and all(t.replace(",", "").isdigit() or t.startswith("10") for t in ticks), (key, ticks)


def ingest_summary(**removed: int) -> dict:
    return {"columns": 12, "descriptors": 10, "kept": 10 - sum(removed.values()), "removed": removed,
            "excluded": ["row_id"], "non_numeric": ["smiles"], "input_files": ["a.parquet"], "rows": 100,
            "sample_rows": 100}


# ---- the figures' data, against values computed here ----------------------------------------------

def test_stage_counts_and_drop_reasons() -> None:
    summary = ingest_summary(constant=2, exact_duplicate=1, missing_ratio=0)
    passes = {"spearman": {"descriptors_out": 5}, "rdc": {"descriptors_out": 4}}
    assert rp.stage_counts(summary, passes) == [
        ("input columns", 12), ("numeric descriptors", 10), ("after ingest", 7), ("after spearman", 5), ("after rdc", 4),
    ]
    reasons = dict(rp.drop_reasons(summary))
    assert reasons == {rp.DROP_REASONS["excluded"]: 1, rp.DROP_REASONS["non_numeric"]: 1,
                       rp.DROP_REASONS["constant"]: 2, rp.DROP_REASONS["exact_duplicate"]: 1}  # zero left out
    # every input column is either kept or has exactly one reason
    assert sum(reasons.values()) + summary["kept"] == summary["columns"]


def test_top_descriptors_orders_by_count_then_name() -> None:
    entry = lambda history: {"total_alternatives": sum(map(len, history.values())), "removal_history": history}  # noqa: E731
    report = {"descriptors": {
        "b": entry({"spearman": ["x", "y"]}),
        "a": entry({"ingest": ["z"], "rdc": ["w"]}),
        "c": entry({"hsic": ["v", "u", "t"]}),
        "lonely": entry({}),
    }}
    rows = rp.top_descriptors(report, n=3)
    assert [name for name, _ in rows] == ["c", "a", "b"]  # 3, then the tie 2-2 by name
    assert rows[1][1] == {"ingest": 1, "rdc": 1}
    assert rp.top_descriptors(report, n=10)[-1][0] == "b"  # survivors without alternatives are left out


def test_largest_clusters_keeps_the_representative_and_only_inner_edges() -> None:
    rng = np.random.default_rng(0)
    rows, edges = [], []
    for cluster, size in enumerate([40, 3, 2, 1]):
        names = [f"c{cluster}_{k:02d}" for k in range(size)]
        sims = rng.uniform(0.9, 1.0, size)
        for k, name in enumerate(names):
            rows.append((name, cluster, names[0], 1.0 if k == 0 else float(sims[k]), k == 0))
        edges += [(a, b, 0.95) for i, a in enumerate(names) for b in names[i + 1:]]
    edges.append(("c0_01", "c1_01", 0.97))  # a pair across clusters is not drawn in either
    clusters = pl.DataFrame(rows, schema=["descriptor", "cluster", "representative", "similarity", "is_representative"],
                            orient="row")
    edge_table = pl.DataFrame(edges, schema=["descriptor_a", "descriptor_b", "similarity"], orient="row")
    drawn = rp.largest_clusters(clusters, edge_table, n=6, max_nodes=30)
    assert [(rep, size) for rep, _, size in drawn] == [("c0_00", 40), ("c1_00", 3), ("c2_00", 2)]  # no singleton
    big = drawn[0][1]
    assert big.number_of_nodes() == 30 and "c0_00" in big
    members = clusters.filter(pl.col("cluster") == 0).sort("similarity", descending=True)["descriptor"].to_list()
    assert set(big.nodes) == set(members[:30])  # the representative (1.0) and the 29 most similar
    assert big.number_of_edges() == 30 * 29 // 2
    assert drawn[1][1].number_of_edges() == 3 and not drawn[1][1].has_edge("c1_01", "c0_01")


def test_histogram_marks_the_threshold_and_the_bound(tmp_path: Path) -> None:
    summary = {"settings": {"threshold": 0.9}, "edges": 4, "descriptors_in": 5, "clusters": 2,
               "similarity_histogram": {"bin_lower_edges": [0.0, 0.5, 0.9], "pair_counts": [5, 1, 4], "values": "exact"}}
    texts = _draw(rp.similarity_histogram_figure("rdc", summary), tmp_path)
    assert "threshold 0.9" in texts and "rdc: 10 pairs, 4 at or above the threshold" in texts
    summary["similarity_histogram"]["values"] = "exact at or above the threshold; below it an upper bound"
    assert any("upper bound" in t for t in _draw(rp.similarity_histogram_figure("rdc", summary), tmp_path))


def _draw(fig, folder: Path) -> list[str]:
    rp.save_svg(fig, folder / "figure.svg")
    return svg_texts((folder / "figure.svg").read_bytes())


def test_odd_descriptor_names_are_drawn_as_text(tmp_path: Path) -> None:
    """A "$" is not mathematics and a control character does not break the SVG."""
    names = ["price$^$", "a$_x$", "tab\there"]
    report = {"descriptors": {n: {"total_alternatives": 1, "removal_history": {"spearman": ["y"]}} for n in names}}
    texts = _draw(rp.top_descriptors_figure(rp.top_descriptors(report), ["spearman"]), tmp_path)
    assert {"price$^$", "a$_x$", "tab\\there"} <= set(texts)
    clusters = pl.DataFrame({"descriptor": ["price$^$", "b\x07", "\ubd84\uc790\ub7c9"], "cluster": [0, 0, 0],
                             "representative": ["price$^$"] * 3, "similarity": [1.0, 0.97, 0.96],
                             "is_representative": [True, False, False]})
    edges = pl.DataFrame({"descriptor_a": ["b\x07", "\ubd84\uc790\ub7c9"], "descriptor_b": ["price$^$"] * 2,
                          "similarity": [0.97, 0.96]})
    # measuring the names to place them: a character the font lacks (Korean) warns no more than saving does
    texts = _draw(rp.largest_clusters_figure("rdc", rp.largest_clusters(clusters, edges), 0.9), tmp_path)
    assert {"price$^$", "b\\x07", "\ubd84\uc790\ub7c9"} <= set(texts)


def test_log_axes_are_labelled_in_plain_text(tmp_path: Path) -> None:
    """text.parse_math is off (a "$" in a name is a character), so matplotlib's mathtext log labels would
    show raw ($\\mathdefault{10^{5}}$): every log axis is labelled 0, 1, 10, ..., 10,000, 10⁵, ... instead."""
    values = (0, 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e12, 2, 50, 0.1)
    assert [rp.log_tick(v) for v in values] == ["0", "1", "10", "100", "1,000", "10,000", "10\u2075", "10\u2076",
                                                 "10\u00b9\u00b2", "", "", "10\u207b\u00b9"]
    summary = {"settings": {"threshold": 0.9}, "edges": 40,
               "similarity_histogram": {"bin_lower_edges": [0.0, 0.5, 0.9], "pair_counts": [2_000_000, 3, 40], "values": "exact"}}
    texts = _draw(rp.similarity_histogram_figure("rdc", summary), tmp_path)
    assert {"0", "1", "10", "100", "1,000", "10,000", "10\u2075", "10\u2076"} <= set(texts)
    assert raw_mathtext(texts) == []
    summary = {"cluster_size_counts": {"1": 90_000, "2": 40, "17": 1}, "descriptors_in": 90_097, "clusters": 90_041}
    texts = _draw(rp.cluster_sizes_figure("rdc", summary), tmp_path)
    assert {"0", "1", "10", "10,000", "90,000"} <= set(texts) and raw_mathtext(texts) == []


def synthetic_figures() -> tuple[dict[str, Figure], list[str]]:
    """Every figure function on made-up data that crowds it: big counts (log axes), long names, names
    with "$", a cluster of 40; and the descriptor names in them."""
    from descriptor_pipeline.stability import compare_finals

    long = "a_rather_long_descriptor_name_from_a_real_table_of_descriptors"
    names = ["price$^$", "a$_x$", long + "_1", long + "_2", *[f"d{k:02d}" for k in range(40)]]
    figures = {
        "funnel": rp.funnel_figure([("input columns", 12_345_678), ("numeric descriptors", 12_000_000),
                                    ("after ingest", 9_876_543), ("after spearman", 1_234), ("after rdc", 7)]),
        "ingest_drops": rp.drop_reasons_figure(rp.drop_reasons(ingest_summary(constant=2, exact_duplicate=1, beyond_float64=3))),
        "ingest_drops (none)": rp.drop_reasons_figure([]),
    }
    report = {"descriptors": {n: {"total_alternatives": k + 1, "removal_history": {"spearman": ["y"] * (k + 1), "rdc": ["z"]}}
                              for k, n in enumerate(names[:12])}}
    figures["top_descriptors"] = rp.top_descriptors_figure(rp.top_descriptors(report), ["spearman", "rdc"])
    end_to_end = [(names[k], names[k + 1], 0.3 + k / 50) for k in range(14)]
    figures["predictability"] = rp.predictability_figure(
        {"ingest": [1.0] * 50, "spearman": [0.9, 0.95, 0.99] * 4_000, "rdc": [0.55, 0.7]}, end_to_end,
        {"spearman": 0.5, "rdc": 0.5})
    figures["predictability (none)"] = rp.predictability_figure({}, [], {})
    stability = compare_finals({42: names[:6], 1: names[2:8], 2: names[1:5] + ["d30"]}, 42, {names[6]: names[2]})
    figures["stability"] = rp.stability_figure(stability)
    histogram = {"bin_lower_edges": [k / 20 for k in range(20)], "pair_counts": [10 ** (k % 8) for k in range(20)],
                 "values": "exact at or above the threshold; below it an upper bound"}
    for threshold in (0.5, 0.93):
        summary = {"settings": {"threshold": threshold}, "edges": 12_345, "similarity_histogram": histogram}
        figures[f"similarity {threshold}"] = rp.similarity_histogram_figure("spearman", summary)
    summary = {"cluster_size_counts": {str(k): 10 ** (6 - k) for k in range(1, 7)} | {"120": 1},
               "descriptors_in": 1_234_567, "clusters": 1_111_111}
    figures["cluster_sizes"] = rp.cluster_sizes_figure("hsic", summary)
    figures["cluster_sizes (none)"] = rp.cluster_sizes_figure("hsic", {"cluster_size_counts": {}, "descriptors_in": 0,
                                                                        "clusters": 0})
    clusters, edges = planted_clusters({"d": 40, "long": 12, "$": 2, "e": 3})
    figures["largest_clusters"] = rp.largest_clusters_figure("rdc", rp.largest_clusters(clusters, edges), 0.9)
    figures["largest_clusters (one row)"] = rp.largest_clusters_figure("rdc", rp.largest_clusters(clusters, edges, n=2), 0.9)
    figures["largest_clusters (none)"] = rp.largest_clusters_figure("rdc", [], 0.9)
    bench = pl.DataFrame({"job": ["demo_data", "ingest", "spearman_shard-0", "spearman", "select", "reduce", "report_figures"],
                          "seconds": [0.5, 123.4, 3600.0, 12.0, 0.1, 45.6, 7.8],
                          "max_rss_mib": [100.0, 20_480.0, 4_096.0, 512.0, 0.0, 1_234.0, 300.0]})
    figures["benchmarks"] = rp.benchmarks_figure(bench)
    return figures, names + list(clusters["descriptor"])


def planted_clusters(sizes: Mapping[str, int], seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Clusters of the given sizes (by prefix: "long" gives long names, "$" names with "$"): member k of
    a cluster is less similar to its representative (member 0) the larger k; edges between most pairs."""
    rng = np.random.default_rng(seed)
    rows, edges = [], []
    for cluster, (prefix, size) in enumerate(sizes.items()):
        if prefix == "long":
            names = [f"a_rather_long_descriptor_name_number_{k:02d}_of_a_cluster_of_twelve" for k in range(size)]
        elif prefix == "$":
            names = [f"{prefix}x_{k}$" for k in range(size)]
        else:
            names = [f"{prefix}{k:02d}" for k in range(size)]
        for k, name in enumerate(names):
            rows.append((name, cluster, names[0], 1.0 - k / 1000, k == 0))
        edges += [(a, b, float(rng.uniform(0.9, 1.0))) for i, a in enumerate(names) for b in names[i + 1:]
                  if i == 0 or rng.random() < 0.3]
    return (pl.DataFrame(rows, schema=["descriptor", "cluster", "representative", "similarity", "is_representative"],
                         orient="row"),
            pl.DataFrame(edges, schema=["descriptor_a", "descriptor_b", "similarity"], orient="row"))


def test_figures_read_cleanly() -> None:
    """Each figure on crowded data: no two texts overlap (as matplotlib lays them out), no raw mathtext
    outside descriptor names, plain labels on every log axis."""
    figures, names = synthetic_figures()
    try:
        assert_reads_cleanly(figures, names)
    finally:
        for fig in figures.values():
            plt.close(fig)


def test_a_large_cluster_names_its_strongest_members(tmp_path: Path) -> None:
    clusters, edges = planted_clusters({"m": 40, "s": 3})
    drawn = rp.largest_clusters(clusters, edges)
    assert [graph.nodes["m01"]["similarity"] for rep, graph, _ in drawn[:1]] == [0.999]
    strongest = rp.strongest_members("m00", drawn[0][1])
    assert strongest == [f"m{k:02d}" for k in range(9)]  # the representative, then by similarity
    texts = _draw(rp.largest_clusters_figure("rdc", drawn, 0.9), tmp_path)
    named = {t for t in texts if t.startswith("m")}
    assert "m00" in named and named <= set(strongest) and len(named) >= 5, named
    assert "40 descriptors, 30 drawn" in texts
    assert f"+ {40 - len(named)} more" in texts  # the representative and the named members, then the rest
    assert {"s00", "s01", "s02", "3 descriptors"} <= set(texts)  # a small cluster: every member named, no "more"
    assert sum(t.endswith(" more") for t in texts) == 1


def test_histogram_hatches_a_bin_that_straddles_the_threshold(tmp_path: Path) -> None:
    summary = {"settings": {"threshold": 0.92}, "edges": 3,
               "similarity_histogram": {"bin_lower_edges": [0.0, 0.9, 0.95], "pair_counts": [5, 4, 2], "values": "exact"}}
    fig = rp.similarity_histogram_figure("spearman", summary)
    bars = fig.axes[0].patches
    assert [bar.get_hatch() for bar in bars] == [None, "////", None]
    assert bars[2].get_facecolor() != bars[0].get_facecolor()  # wholly above: the pass colour; below: grey
    assert "hatched: a bin with pairs on both sides of the threshold" in _draw(fig, tmp_path)


def test_stability_figure_names_each_flip_and_the_stand_in_here(tmp_path: Path) -> None:
    from descriptor_pipeline.stability import compare_finals

    result = compare_finals({42: ["a", "b", "c"], 1: ["a", "b", "d"], 2: ["a", "d"]}, 42, {"d": "c"})
    texts = _draw(rp.stability_figure(result), tmp_path)
    assert "Final set over 3 seeds: 1 final in every run, Jaccard min 0.250, mean 0.472" in texts
    assert {"b", "c", "d (here: <- c)"} <= set(texts)
    assert any("no descriptor flips" in t for t in _draw(rp.stability_figure(compare_finals({1: ["a"]}, 1, {})), tmp_path))


def test_svg_is_byte_identical_and_undated(tmp_path: Path) -> None:
    counts = [("input columns", 3), ("after rdc", 1)]
    rp.save_svg(rp.funnel_figure(counts), tmp_path / "a.svg")
    rp.save_svg(rp.funnel_figure(counts), tmp_path / "b.svg")
    data = (tmp_path / "a.svg").read_bytes()
    assert data == (tmp_path / "b.svg").read_bytes()
    assert b"<dc:date>" not in data


def test_benchmarks_are_read_by_job(tmp_path: Path) -> None:
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "ingest.tsv").write_text(header + "2.5\t0:00:02\t300.5\t1\t1\t1\t0\t0\t50\t1.2\n")
    (tmp_path / "rdc.tsv").write_text(header + "1.0\t0:00:01\t100\t1\t1\t1\t0\t0\t50\t1\n"
                                      + "3.0\t0:00:03\t120\t1\t1\t1\t0\t0\t50\t1\n" + "5.0\t0:00:05\t110\t1\t1\t1\t0\t0\t50\t1\n")
    (tmp_path / "select.tsv").write_text(header + "0.1\t0:00:00\t-\t-\t-\t-\t-\t-\t-\t-\n")  # too short to measure
    bench = rp.read_benchmarks([tmp_path / "ingest.tsv", tmp_path / "rdc.tsv", tmp_path / "select.tsv"])
    assert bench.rows() == [("ingest", 2.5, 300.5), ("rdc", 3.0, 110.0), ("select", 0.1, 0.0)]  # medians
    (tmp_path / "bad.tsv").write_text("not a benchmark\n")
    with pytest.raises(PipelineError, match=r"bad\.tsv: cannot read the benchmark file"):
        rp.read_benchmarks([tmp_path / "bad.tsv"])


# ---- the report of a whole run ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_report(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`snakemake --report report.html` (and .zip) in a copy of the demo run; the copy's directory."""
    wd = tmp_path_factory.mktemp("report") / "repo"
    shutil.copytree(demo_run, wd, symlinks=True)
    for name in ("report.html", "report.zip"):
        proc = subprocess.run([str(SNAKEMAKE), "--report", name], cwd=wd, env=snakemake_env(),
                              capture_output=True, text=True, timeout=300)
        assert_ok(proc)
    return wd


def embedded(report_html: Path, name: str) -> dict:
    match = re.search(rf"var {name} = (\{{.*?\}});\n", report_html.read_text(encoding="utf-8"), re.S)
    assert match, name
    return json.loads(match.group(1))


def decode(data_uri: str) -> bytes:
    return base64.b64decode(data_uri.split(";base64,", 1)[1])


@pytest.mark.slow
def test_run_draws_the_figures_from_its_results(demo_run: Path) -> None:
    results = results_of(demo_run)
    for figure in FIGURES:
        assert (demo_run / figure).stat().st_size > 1000, figure
    # the funnel's bar for each stage shows its survivor count, read here from the stages' own files
    funnel = ET.fromstring(results.figure("funnel").read_bytes())
    shown = {g.get("id"): "".join(g.itertext()).strip() for g in funnel.iter(f"{SVG}g") if g.get("id", "").startswith("count-")}
    for stage in ("ingest", *PASSES):
        count = len(results.stage(stage).survivors.read_text().splitlines())
        assert shown[f"count-after-{stage}"] == f"{count:,}", stage
    columns = pl.read_parquet(results.ingest.column_stats).height
    assert shown["count-input-columns"] == f"{columns:,}"
    # the predictability figure marks the weakest stand-ins, read here from the cluster report
    report = json.loads(results.cluster_report.read_text())
    figures = sorted((e["predictability"][a], a, s) for s, e in report["descriptors"].items() for a in e["alternative_descriptors"])
    texts = svg_texts(results.figure("predictability").read_bytes())
    for figure, alternative, survivor in figures[:3]:
        assert f"{alternative} <- {survivor}" in texts and f"{figure:.2f}" in texts, (alternative, survivor)
    # each pass's histogram names its threshold; the largest-cluster drawings name real representatives
    config = complete(yaml.safe_load((demo_run / "config/config.yaml").read_text()), demo_run / "config/schema.yaml")
    for p in PASSES:
        assert f"threshold {config['passes'][p]['threshold']:g}" in svg_texts(results.figure("similarity", p).read_bytes())
        reps = set(pl.read_parquet(results.stage(p).clusters).filter(pl.col("is_representative"))["descriptor"])
        drawn = [t.split("\n")[0] for t in svg_texts(results.figure("largest_clusters", p).read_bytes())]
        assert any(t in reps for t in drawn) or "no cluster has two or more descriptors" in drawn, p
    # the benchmark table has one row per job of the run, with measured times
    bench = pl.read_csv(results.figure("benchmarks").with_suffix(".tsv"), separator="\t")
    # (reduce among them: the demo's config writes results/reduced/)
    assert set(bench["job"]) == {"demo_data", "ingest", *PASSES, "select", "reduce", "backtrack", "alternatives",
                                 "report_figures"}
    assert (bench["seconds"] > 0).all()
    settings = results.figure("settings").read_text()
    for key in ("passes.rdc.threshold", "sample_rows", "numpy", "leidenalg", "duckdb"):
        assert key in settings, key
    # no figure shows mathtext raw (the log axes' tick labels were $\mathdefault{10^{1}}$)
    names = descriptor_names(demo_run)
    for figure in FIGURES:
        assert raw_mathtext(svg_texts((demo_run / figure).read_bytes()), names) == [], figure


def descriptor_names(wd: Path) -> list[str]:
    """Every column of the run's input (ingest's column statistics)."""
    return pl.read_parquet(results_of(wd).ingest.column_stats)["column"].to_list()


def demo_figures(wd: Path) -> dict[str, Figure]:
    """The figures of the run in ``wd`` drawn again from its files (as rule report_figures and
    report_benchmarks draw them), not saved: {figure file, relative to the run directory: figure}."""
    results = results_of(wd)
    passes = [p for p in PASSES if results.stage(p).summary.exists()]
    drawn = rp.draw_figures(ingest_summary=results.ingest.summary,
                            pass_summaries={p: results.stage(p).summary for p in passes},
                            clusters={p: results.stage(p).clusters for p in passes},
                            edges={p: results.stage(p).edges for p in passes}, report=results.cluster_report,
                            stability=results.stability if results.stability.exists() else None)
    figures = {str(RUN.figure(key, p)): fig for (key, p), fig in drawn}
    bench = pl.read_csv(results.figure("benchmarks").with_suffix(".tsv"), separator="\t")
    figures[str(RUN.figure("benchmarks"))] = rp.benchmarks_figure(bench)
    return figures


@pytest.mark.slow
def test_run_figures_read_cleanly(demo_run: Path) -> None:
    """The demo's figures: no overlapping text, no raw mathtext, plain labels on the log axes."""
    figures = demo_figures(demo_run)
    try:
        assert sorted(figures) == sorted(FIGURES)
        assert_reads_cleanly(figures, descriptor_names(demo_run))
    finally:
        for fig in figures.values():
            plt.close(fig)


@pytest.mark.slow
def test_snakemake_report_embeds_every_result(demo_report: Path) -> None:
    results = embedded(demo_report / "report.html", "results")
    categories = embedded(demo_report / "report.html", "categories")
    assert set(categories) == {"1. Overview", "2. Passes", "3. Results"}
    assert set(categories["2. Passes"]) == set(PASSES)
    for figure in FIGURES:
        entry = results[figure]
        assert entry["mime_type"] == "image/svg+xml", figure
        assert entry["caption"].strip(), figure
        assert decode(entry["data_uri"]) == (demo_report / figure).read_bytes(), figure
    for path in map(str, (RUN.final_list, RUN.cluster_report, RUN.alternatives, RUN.figure("settings"))):
        assert decode(results[path]["data_uri"]) == (demo_report / path).read_bytes(), path
    with zipfile.ZipFile(demo_report / "report.zip") as archive:
        assert "report/report.html" in archive.namelist()
        zipped = {archive.read(n) for n in archive.namelist() if n.startswith("report/data/raw/")}
    for figure in FIGURES:
        assert (demo_report / figure).read_bytes() in zipped, figure


def chromium_or_skip() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("DESCRIPTOR_PIPELINE_REQUIRE_CHROMIUM"):
            pytest.fail("DESCRIPTOR_PIPELINE_REQUIRE_CHROMIUM is set but no Chromium is installed")
        pytest.skip("no Chromium (apt-get install chromium); .ci/run installs it")
    return path


def browser_overlaps(texts: Iterable[tuple[str, float, float, float, float]], tolerance: float = 2.0) -> list[tuple[str, str]]:
    """Pairs of texts (text, x, y, width, height) that overlap by more than ``tolerance`` pixels each way.
    The browser's boxes are line boxes (the font's ascent and descent), a little taller than the glyphs:
    the two lines of a title touch, hence the tolerance."""
    return [(a[0], b[0]) for a, b in itertools.combinations(texts, 2)
            if min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) > tolerance
            and min(a[2] + a[4], b[2] + b[4]) - max(a[2], b[2]) > tolerance]


def not_blank(png: Path) -> float:
    """Share of the screenshot's pixels that are not white or the navigation bar's grey."""
    import matplotlib.image

    pixels = matplotlib.image.imread(png)[..., :3].reshape(-1, 3)
    colours, counts = np.unique((pixels * 255).round().astype(np.uint8), axis=0, return_counts=True)
    common = counts.argsort()[::-1][:2]  # background and navbar
    return 1.0 - counts[common].sum() / counts.sum()


@pytest.mark.slow
def test_report_opens_in_chromium_and_shows_every_figure(demo_report: Path, tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    report = demo_report / "report.html"
    landing = open_report(report, chromium=chromium, screenshot=tmp_path / "landing.png")
    assert landing.errors == []
    for category in ("1. Overview", "2. Passes", "3. Results"):
        assert category in landing.dom, category
    assert not_blank(tmp_path / "landing.png") > 0.002  # the rule graph is drawn
    figures = demo_figures(demo_report)  # what each figure's title and axis labels are
    for fig in figures.values():
        plt.close(fig)
    names = descriptor_names(demo_report)
    for figure in FIGURES:
        view = open_report(report, show_result(figure), chromium=chromium,
                           screenshot=tmp_path / (figure.replace("/", "_") + ".png"))
        assert view.errors == [], (figure, view.errors)
        shown = [img for img in view.images if img[1] > 100]  # the figure, not the 58 px logo
        assert len(shown) == 1 and shown[0][0] and shown[0][2] > 100, (figure, view.images)
        assert not_blank(view.screenshot) > 0.01, figure
        # how it reads: the figure's text as Chromium parses and lays it out
        texts = view.figure_texts()
        shown_text = [" ".join(text.split()) for text, *_ in texts]
        assert [t for t in titles_and_labels(figures[figure]) if " ".join(t.split()) not in shown_text] == [], figure
        assert raw_mathtext(shown_text, names) == [], figure
        assert browser_overlaps(texts) == [], figure
    settings = open_report(report, show_result(str(RUN.figure("settings"))), chromium=chromium)
    assert settings.errors == [] and settings.frames and settings.frames[0].startswith("data:text/html"), settings.frames


@pytest.mark.slow
def test_missing_benchmark_files_rerun_no_job(demo_run: Path, tmp_path: Path) -> None:
    """A run directory without logs/benchmarks (older versions kept none there) redraws the benchmark
    figure from what is left and reruns nothing else."""
    wd = tmp_path / "copy"
    shutil.copytree(demo_run, wd, symlinks=True)
    for tsv in (wd / "logs/benchmarks").glob("*.tsv"):
        if tsv.stem != "ingest":
            tsv.unlink()
    results_of(wd).figure("benchmarks").unlink()
    proc = subprocess.run([str(SNAKEMAKE), "--cores", "1"], cwd=wd, env=snakemake_env(), capture_output=True, text=True, timeout=300)
    assert_ok(proc)
    ran = re.findall(r"^(?:local)?rule (\w+):", proc.stdout + proc.stderr, re.M)
    assert ran == ["report_benchmarks", "all"], ran  # "all" is the target, no job
    assert pl.read_csv(results_of(wd).figure("benchmarks").with_suffix(".tsv"), separator="\t")["job"].to_list() == ["ingest"]
    assert "logs/benchmarks/hsic.tsv is missing" in (wd / "logs/report_benchmarks.log").read_text()
