"""On a finished run, a changed setting reruns only the stages that read it (and what follows them).

Which stage reads which key is the schema's ``x-read-by`` (descriptor_pipeline.settings.read_by). For
every key of the schema, the dry run after changing that key alone must schedule exactly the jobs that
Snakemake itself schedules for ``--forcerun`` of the stages that read it: those stages and everything
downstream of them, nothing upstream. Input files are fingerprinted by content: a rewrite that keeps the
modification time reruns ingest, a ``touch`` reruns nothing.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import os
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from descriptor_pipeline.demo import write_demo
from descriptor_pipeline.config import read_settings
from descriptor_pipeline.layout import Results
from descriptor_pipeline.settings import MIN_ROWS, PASSES, complete, load_schema, read_by
from workflow_helpers import REPO, RUN, assert_ok, copy_workflow, output_of, results_of, snakemake

pytestmark = pytest.mark.slow

SCHEMA = load_schema(REPO / "config" / "schema.yaml")
TABLE = read_by(SCHEMA)
BASE = {"input": "data/*.parquet", "stability_seeds": [1]}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run on the demo files given as user input (so they are fingerprinted), with stability."""
    wd = copy_workflow(tmp_path_factory.mktemp("rerun") / "repo")
    write_demo(wd / "data")
    assert_ok(snakemake(wd, BASE))
    return wd


def jobs_of(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> job count (empty when nothing is to be done)."""
    jobs: dict[str, int] = {}
    lines = output.splitlines()
    if "Job stats:" not in lines:
        assert "Nothing to be done" in output, output[-3000:]
        return jobs
    start = lines.index("Job stats:") + 3
    for line in lines[start:]:
        name, _, count = line.strip().rpartition(" ")
        if name.strip() == "total" or not count.isdigit():
            break
        jobs[name.strip()] = int(count)
    return jobs


def dry_run(wd: Path, change: dict[str, Any] | None = None, *extra: str) -> dict[str, int]:
    (wd / "change.yaml").write_text(yaml.safe_dump(change or {}))
    proc = snakemake(wd, None, "-n", "--nolock", *extra, "--configfile", "test-config.yaml", "change.yaml")
    assert_ok(proc)
    return jobs_of(output_of(proc))


@functools.cache
def forced(wd: Path, stages: tuple[str, ...]) -> dict[str, int]:
    """What Snakemake schedules when the given stages' rules are forced: they and all their descendants."""
    return dry_run(wd, None, "--forcerun", *stages)


def nested(dotted: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


def other_value(dotted: str) -> Any:
    """A valid value of ``dotted`` other than the finished run's."""
    current: Any = complete({**read_settings(REPO / "config" / "config.yaml"), **BASE}, REPO / "config" / "schema.yaml")
    for part in dotted.split("."):
        current = current[part]
    node: Any = SCHEMA
    for part in dotted.split("."):
        node = node["properties"][part]
    if dotted == "input":
        return ["data/part-*.parquet"]  # the same files, named by another pattern
    if "enum" in node:
        return next(v for v in node["enum"] if v != current and v != "cupy")
    kind = node.get("type")
    if kind == "boolean":
        return not current
    if kind == "integer":
        if dotted.endswith(("sample_rows", "max_rows")) and current == 0:  # 0 = all rows; 1 is below the floor
            return 2 * MIN_ROWS
        return current + 1
    if kind == "number":
        return current / 2 if current else 0.5
    if kind == ["array", "null"] and current is None:  # carry_columns: by default, those chosen for the user
        return ["row_id"]
    if kind == "array":
        item = 7 if node["items"].get("type") == "integer" else "row_id"
        return [*current, item]
    raise AssertionError(f"no other value for {dotted} ({node})")


@pytest.mark.parametrize("key", sorted(TABLE))
def test_a_changed_key_reruns_exactly_the_stages_that_read_it(finished: Path, key: str) -> None:
    stages = TABLE[key]
    rules = tuple(s for s in stages if s in (*PASSES, "ingest", "reduce", "stability"))
    expected = dict(forced(finished, rules))
    value = other_value(key)
    if key.endswith(".enabled") or key == "reduced":  # the stage leaves the run: the rest after it reruns
        removed = key.split(".")[1] if key.endswith(".enabled") else "reduce"
        expected.pop(removed)
    if key.endswith(".shards"):  # the pass's block pairs split over jobs of their own
        expected[f"{key.split('.')[1]}_shard"] = value
    assert dry_run(finished, nested(key, value)) == expected, (key, stages)


def test_a_finished_run_reruns_nothing(finished: Path) -> None:
    assert dry_run(finished, {}) == {}


def test_a_touched_input_reruns_nothing_and_a_rewrite_that_keeps_the_mtime_reruns_ingest(finished: Path) -> None:
    path = finished / "data" / "part-001.parquet"
    os.utime(path)  # touch: same content, new time
    assert dry_run(finished, {}) == {}
    stat, original = path.stat(), path.read_bytes()
    table = pq.read_table(path)
    pq.write_table(table.slice(0, table.num_rows - 1), path)  # one molecule fewer, the old time put back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    try:
        jobs = dry_run(finished, {})
        assert jobs == forced(finished, ("ingest",)), jobs
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert dry_run(finished, {}) == {}


def test_every_schema_key_says_who_reads_it() -> None:
    leaves = []

    def walk(node: dict, prefix: str) -> None:
        for key, sub in node.get("properties", {}).items():
            if sub.get("type") == "object" and "properties" in sub:
                walk(sub, f"{prefix}{key}.")
            else:
                leaves.append(f"{prefix}{key}")

    walk(SCHEMA, "")
    assert sorted(leaves) == sorted(TABLE)
    assert all(TABLE[k] for k in leaves)
    assert not re.search(r"\bconfig=config\b", "".join(p.read_text() for p in (REPO / "workflow/rules").glob("*.smk")))


def test_outputs_of_a_stage_switched_off_are_set_aside_and_not_read(workdir: Path) -> None:
    assert_ok(snakemake(workdir, {}))
    results = results_of(workdir)
    off = {"passes": {"rdc": {"enabled": False}}, "reduced": False}
    proc = snakemake(workdir, off)
    assert_ok(proc)
    for gone in (RUN.stage("rdc").folder, RUN.reduced, RUN.report / "rdc"):
        part = gone.relative_to(RUN.root)
        assert not (results.root / part).exists(), part
        assert (results.stale / part).exists(), part
        assert f"{gone}: not an output of this configuration; moved to {RUN.stale / part}" in output_of(proc)
    assert "Nothing to be done" in output_of(snakemake(workdir, off, "-n"))
    report = results.cluster_report.read_text()
    assert '"passes_run": [\n      "ingest",\n      "spearman",\n      "hsic"\n    ]' in report
    final = results.final_list.read_text().split()
    assert final == results.stage("hsic").survivors.read_text().split()
    # a final descriptor that the old RDC pass had a refused link for: explain no longer cites it
    old = pq.read_table(Results(results.stale).stage("rdc").edges).to_pylist()  # set aside, in the same layout
    name = next(r["descriptor_a"] for r in old if not r["is_merge"] and r["descriptor_a"] in final)
    proc = subprocess.run([str(Path(sys.executable).parent / "descriptor-pipeline"), "explain", name], cwd=workdir,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "rdc" not in proc.stdout, proc.stdout + proc.stderr
