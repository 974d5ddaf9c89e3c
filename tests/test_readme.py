"""The README against the code: every number it states about the demo is checked against a real demo run
(the shared ``demo_run``), the explain transcripts of docs/outputs.md against ``explain`` on that run, the
output files the README lists against the files the run wrote, and every relative link in README.md and
docs/*.md against the files in the repository.

The numbers are read from the README's own sentences, so a test fails when either the README or the run
changes; a sentence that is reworded so that its pattern no longer matches fails too, with the pattern.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.explain import explain
from descriptor_pipeline.settings import PASSES
from workflow_helpers import REPO, results_of

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def prose(path: Path = README) -> str:
    """The text of a page with its whitespace collapsed, so that a sentence reads the same however it wraps."""
    return " ".join(path.read_text(encoding="utf-8").split())


def says(pattern: str, path: Path = README) -> re.Match:
    match = re.search(pattern, prose(path))
    assert match, f"{path.relative_to(REPO)} no longer says anything matching {pattern!r}"
    return match


def num(text: str) -> int:
    """'3,000' -> 3000, 'two' -> 2."""
    return WORDS[text.lower()] if text.lower() in WORDS else int(text.replace(",", ""))


# ---- the demo's numbers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_run: Path) -> dict:
    """What the demo run wrote: ingest's summary and column statistics, the survivors of every stage, the
    final list and the reduced files."""
    results = results_of(demo_run)
    return {
        "root": results.root,
        "summary": json.loads(results.ingest.summary.read_text(encoding="utf-8")),
        "columns": [r["column"] for r in pq.read_table(results.ingest.column_stats, columns=["column"]).to_pylist()],
        "dtypes": dict(zip(*pq.read_table(results.ingest.column_stats, columns=["column", "dtype"]).to_pydict().values())),
        "survivors": {stage: results.stage(stage).survivors.read_text(encoding="utf-8").splitlines() for stage in ("ingest", *PASSES)},
        "final": results.final_list.read_text(encoding="utf-8").splitlines(),
        "reduced": sorted(results.reduced.glob("*.parquet")),
        "demo_files": sorted(results.demo.glob("*.parquet")),
    }


def independent(names: list[str]) -> list[str]:
    """The planted independent columns among ``names`` (``indep_*``, not their exact copies ``*_dupe``)."""
    return [n for n in names if n.startswith("indep_") and not n.endswith("_dupe")]


def groups(names: list[str], prefix: str) -> dict[str, list[str]]:
    """``mono03_z`` -> group ``mono03``: the planted groups among ``names``."""
    out: dict[str, list[str]] = {}
    for name in names:
        m = re.fullmatch(rf"({prefix}\d+)_(.+)", name)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


@pytest.mark.slow  # the shared demo run
def test_demo_data_set_is_as_the_readme_says(demo):
    summary, columns = demo["summary"], demo["columns"]
    m = says(r"writes a demo data set to `results/demo/`: ([\d,]+) rows and ([\d,]+) columns in (\w+) Parquet files")
    assert (num(m[1]), num(m[2]), num(m[3])) == (summary["rows"], summary["columns"], len(summary["input_files"]))
    assert len(columns) == summary["columns"] and len(demo["demo_files"]) == len(summary["input_files"])
    assert all(f.startswith("results/demo/") for f in summary["input_files"]), summary["input_files"]

    m = says(r"Planted in it: (\d+) groups of monotone transforms, (\d+) groups of non-monotone functions "
             r"x / x\^2 / sin\(pi x\), (\d+) independent columns")
    mono, wave = groups(columns, "mono"), groups(columns, "wave")
    assert num(m[1]) == len(mono) and num(m[2]) == len(wave) and num(m[3]) == len(independent(columns))
    for members in wave.values():  # x, x^2, sin(pi x) (and perhaps an exact copy)
        assert {"x", "square", "sin"} <= set(members), members

    m = says(r"(\w+) numeric id and (\w+) text columns")
    excluded, text = summary["excluded"], summary["non_numeric"]
    assert (num(m[1]), num(m[2])) == (len(excluded), len(text))
    assert all(demo["dtypes"][c].startswith(("int", "uint")) for c in excluded), {c: demo["dtypes"][c] for c in excluded}


@pytest.mark.slow  # the shared demo run
def test_demo_result_is_as_the_readme_says(demo):
    final = demo["final"]
    m = says(r"The demo run keeps (\d+) descriptors: one per monotone group \((\d+)\), one of x and sin\(pi x\) per "
             r"non-monotone group \((\d+)\), the x\^2 of each non-monotone group \((\d+)\b.*?every independent column \((\d+)\)")
    assert num(m[1]) == len(final) == len(set(final))
    mono, wave = groups(final, "mono"), groups(final, "wave")
    planted_mono, planted_wave = groups(demo["columns"], "mono"), groups(demo["columns"], "wave")
    # one per monotone group: every group, exactly one member each
    assert num(m[2]) == len(mono) == len(planted_mono) and all(len(v) == 1 for v in mono.values()), mono
    # one of x and sin(pi x) per non-monotone group, and the x^2 of each
    assert set(wave) == set(planted_wave)
    x_or_sin = [g for g, members in wave.items() for s in members if s in ("x", "sin")]
    squares = [g for g, members in wave.items() for s in members if s == "square"]
    assert num(m[3]) == len(x_or_sin) == len(set(x_or_sin)) == len(planted_wave), wave
    assert num(m[4]) == len(squares) == len(planted_wave), wave
    assert num(m[5]) == len(independent(final)) == len(independent(demo["columns"]))
    assert num(m[2]) + num(m[3]) + num(m[4]) + num(m[5]) == num(m[1])  # nothing else survives


@pytest.mark.slow  # the shared demo run
def test_demo_stage_counts_are_as_the_readme_says(demo):
    summary, survivors = demo["summary"], demo["survivors"]
    m = says(r"Through the stages: ingest keeps (\d+) descriptors, spearman (\d+), hsic (\d+), rdc (\d+)\.")
    stated = dict(zip(("ingest", *PASSES), (num(m[i]) for i in range(1, 5))))
    assert stated == {stage: len(names) for stage, names in survivors.items()}
    assert stated["ingest"] == summary["kept"] and survivors["rdc"] == demo["final"]

    m = says(r"Ingest sets aside the (\w+) identifier columns and removes (\d+) constant, (\d+) near-constant, "
             r"(\d+) mostly-missing and (\d+) all-null columns and (\d+) exact duplicates\.")
    assert num(m[1]) == len(summary["excluded"]) + len(summary["non_numeric"])
    removed = {"constant": num(m[2]), "near_constant": num(m[3]), "missing_ratio": num(m[4]),
               "all_missing": num(m[5]), "exact_duplicate": num(m[6])}
    assert removed == summary["removed"]
    # and nothing else: every input column is an identifier, removed, or kept
    assert num(m[1]) + sum(removed.values()) + summary["kept"] == summary["columns"]


@pytest.mark.slow  # the shared demo run
def test_demo_reduced_files_are_as_the_readme_says(demo):
    m = says(r"In the demo run, the reduced files hold ((?:`[^`]+`(?:, | and ))+`[^`]+`), then the (\d+) final descriptors\.")
    carried = re.findall(r"`([^`]+)`", m[1])
    assert num(m[2]) == len(demo["final"])
    assert [p.name for p in demo["reduced"]] == [p.name for p in demo["demo_files"]]
    for path in demo["reduced"]:
        assert pq.read_schema(path).names == [*carried, *demo["final"]], path


@pytest.mark.slow  # the shared demo run
def test_readme_lists_files_the_run_writes(demo_run):
    """Every path in the README's outputs table exists after the demo run (P: each pass, <...>: any name)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Outputs"):]
    section = section[:section.index("\n## ", 1)]
    paths = [m for row in section.splitlines() if row.startswith("| `") for m in re.findall(r"^\| `([^`]+)`", row)]
    assert "results/final_descriptors.txt" in paths and "results/surviving_descriptors_clusters.json" in paths
    for path in paths:
        for expanded in ([path.replace("/P/", f"/{p}/") for p in PASSES] if "/P/" in path else [path]):
            pattern = re.sub(r"<[^>]+>", "*", expanded)
            assert list(demo_run.glob(pattern.rstrip("/"))), f"the README lists {path}; the demo run has no {pattern}"


@pytest.mark.slow  # the shared demo run
def test_explain_transcripts_in_docs_are_what_explain_says(demo):
    """docs/outputs.md quotes `descriptor-pipeline explain` on the demo run (its '100 final descriptors'
    among them): each quoted paragraph is the one explain gives now."""
    text = (REPO / "docs" / "outputs.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    quoted = [(re.match(r"\$ descriptor-pipeline explain (\S+)", line)[1], lines[i + 1])
              for i, line in enumerate(lines) if line.startswith("$ descriptor-pipeline explain ")]
    assert len(quoted) >= 3, quoted
    for name, paragraph in quoted:
        assert explain(name, demo["root"]) == paragraph, name


# ---- links ------------------------------------------------------------------------------------------


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def relative_links(path: Path) -> list[str]:
    """The targets of the Markdown links and images of a page that are relative paths (no URL, no bare
    #anchor), outside code blocks and code spans."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I) and not t.startswith("#")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_points_to_a_file(page):
    broken = [t for t in relative_links(page) if not (page.parent / t.split("#")[0]).exists()]
    assert not broken, f"{page.relative_to(REPO)}: links to missing files: {broken}"


def test_readme_links_the_index_the_config_table_and_hostile_inputs():
    links = set(relative_links(README))
    assert {"docs/README.md", "config/README.md", "docs/hostile-inputs.md"} <= links, links
    index = set(relative_links(REPO / "docs" / "README.md"))
    pages = {p.name for p in PAGES if p.parent.name == "docs" and p.name != "README.md"}
    assert pages <= index, f"docs/README.md does not list {sorted(pages - index)}"
    assert "../config/README.md" in index


def test_link_finder_sees_links_and_skips_code(tmp_path):
    page = tmp_path / "p.md"
    page.write_text('[a](x.md) ![i](img/y.png "t") [u](https://e.org) [h](#top) `[c](no.md)`\n'
                    "```\n[d](no2.md)\n```\n[b](z.md#part)\n", encoding="utf-8")
    assert relative_links(page) == ["x.md", "img/y.png", "z.md#part"]
