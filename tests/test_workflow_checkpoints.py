"""A damaged checkpoint is refused before anything is written or deleted, with one line naming the file
and the command that mends it; that command, followed, gives back the run's own bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workflow_helpers import DETERMINISTIC, RUN, assert_ok, output_of, results_of, snakemake

pytestmark = pytest.mark.slow

KEPT = [*DETERMINISTIC, *map(str, (RUN.stage("spearman").survivors, RUN.stage("hsic").edges, RUN.stage("hsic").survivors))]


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def swap_with_ingest(path: Path) -> None:
    """Replace a pass's survivor list (``path``, in a run's results) by ingest's, which is longer."""
    other = results_of(path.parents[2]).ingest.survivors
    assert other.read_bytes() != path.read_bytes()
    path.write_bytes(other.read_bytes())


@pytest.mark.parametrize(
    ("damaged", "damage", "target", "stage"),
    [
        (str(RUN.stage("spearman").survivors), lambda p: p.write_text(""), str(RUN.cluster_report), "spearman"),
        (str(RUN.stage("hsic").edges), truncate, "all", "hsic"),
        (str(RUN.stage("spearman").survivors), swap_with_ingest, "all", "spearman"),
        (str(RUN.ingest.sample), truncate, "all", "ingest"),
    ],
    ids=["emptied-survivors", "truncated-edges", "survivors-of-another-stage", "truncated-sample"],
)
def test_a_damaged_checkpoint_is_refused_and_the_advice_mends_it(
    demo_run: Path, tmp_path: Path, damaged: str, damage, target: str, stage: str
) -> None:
    wd = tmp_path / "run"
    shutil.copytree(demo_run, wd, symlinks=True)  # keeps the times, so only the damage is new
    before = {f: (wd / f).read_bytes() for f in KEPT}
    damage(wd / damaged)
    proc = snakemake(wd, None, target=target)
    assert proc.returncode != 0
    line = f"{damaged}: damaged or replaced since the {stage} stage wrote it"
    assert line in output_of(proc) and f"snakemake --forcerun {stage}" in output_of(proc), output_of(proc)[-3000:]
    for f in KEPT:  # nothing downstream was rewritten or deleted
        if f != damaged:
            assert (wd / f).read_bytes() == before[f], f
    assert_ok(snakemake(wd, None, "--forcerun", stage))  # the advice, followed
    for f in KEPT:
        assert (wd / f).read_bytes() == before[f], f
