"""Checkpoints that cannot lie: a stage records what it wrote, readers refuse what no longer matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from descriptor_pipeline import checkpoints
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.layout import Results, StageFiles


def stage(tmp_path: Path, name: str = "hsic") -> StageFiles:
    files = Results(tmp_path / "results").stage(name)
    files.folder.mkdir(parents=True)
    files.survivors.write_text("a\nb\n")
    files.edges.write_bytes(b"PAR1" + bytes(range(200)) + b"PAR1")
    files.summary.write_text(json.dumps({checkpoints.RECORD_KEY: checkpoints.record([files.survivors, files.edges])}))
    return files


def test_record_is_the_size_and_sha256(tmp_path: Path) -> None:
    import hashlib

    files = stage(tmp_path)
    record = json.loads(files.summary.read_text())[checkpoints.RECORD_KEY]
    assert record[files.survivors.name] == {"bytes": 4, "sha256": hashlib.sha256(b"a\nb\n").hexdigest()}
    checkpoints.verify(files.survivors, files.edges)  # as written: accepted


@pytest.mark.parametrize(
    ("damage", "how"),
    [
        (lambda p: p.write_text(""), "0 bytes, the hsic stage wrote 4"),
        (lambda p: p.write_text("a\nc\n"), "the same size, other content"),
        (lambda p: p.write_text("a\nb\nc\n"), "6 bytes, the hsic stage wrote 4"),
    ],
)
def test_a_damaged_checkpoint_is_refused_naming_it_and_the_remedy(tmp_path: Path, damage, how: str) -> None:
    files = stage(tmp_path)
    damage(files.survivors)
    with pytest.raises(PipelineError) as err:
        checkpoints.verify(files.edges, files.survivors)
    message = str(err.value)
    assert message.startswith(f"{files.survivors}: damaged or replaced since the hsic stage wrote it ({how})")
    assert "snakemake --forcerun hsic" in message and "\n" not in message
    assert checkpoints.damaged([files.folder]) == [message]
    assert checkpoints.damaged([files.folder], skip=["hsic"]) == []  # about to be rerun: nothing to refuse


def test_a_damaged_summary_is_refused_and_an_unrecorded_file_is_not_checked(tmp_path: Path) -> None:
    files = stage(tmp_path)
    files.clusters.write_bytes(b"not recorded")
    checkpoints.verify(files.clusters)
    files.summary.write_text('{"checkpoints": ')
    with pytest.raises(PipelineError, match=rf"{files.summary.name}: damaged .*--forcerun hsic"):
        checkpoints.verify(files.survivors)
    bare = StageFiles(tmp_path / "bare")
    bare.folder.mkdir()
    bare.survivors.write_text("")
    checkpoints.verify(bare.survivors)  # no summary beside it (written by hand): nothing to compare
