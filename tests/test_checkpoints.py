"""Checkpoints that cannot lie: a stage records what it wrote, readers refuse what no longer matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from descriptor_pipeline import checkpoints
from descriptor_pipeline.errors import PipelineError


def stage(tmp_path: Path, name: str = "hsic") -> Path:
    folder = tmp_path / "results" / name
    folder.mkdir(parents=True)
    (folder / "survivors.txt").write_text("a\nb\n")
    (folder / "edges.parquet").write_bytes(b"PAR1" + bytes(range(200)) + b"PAR1")
    (folder / "summary.json").write_text(json.dumps(
        {checkpoints.RECORD_KEY: checkpoints.record([folder / "survivors.txt", folder / "edges.parquet"])}))
    return folder


def test_record_is_the_size_and_sha256(tmp_path: Path) -> None:
    import hashlib

    folder = stage(tmp_path)
    record = json.loads((folder / "summary.json").read_text())[checkpoints.RECORD_KEY]
    assert record["survivors.txt"] == {"bytes": 4, "sha256": hashlib.sha256(b"a\nb\n").hexdigest()}
    checkpoints.verify(folder / "survivors.txt", folder / "edges.parquet")  # as written: accepted


@pytest.mark.parametrize(
    ("damage", "how"),
    [
        (lambda p: p.write_text(""), "0 bytes, the hsic stage wrote 4"),
        (lambda p: p.write_text("a\nc\n"), "the same size, other content"),
        (lambda p: p.write_text("a\nb\nc\n"), "6 bytes, the hsic stage wrote 4"),
    ],
)
def test_a_damaged_checkpoint_is_refused_naming_it_and_the_remedy(tmp_path: Path, damage, how: str) -> None:
    folder = stage(tmp_path)
    damage(folder / "survivors.txt")
    with pytest.raises(PipelineError) as err:
        checkpoints.verify(folder / "edges.parquet", folder / "survivors.txt")
    message = str(err.value)
    assert message.startswith(f"{folder / 'survivors.txt'}: damaged or replaced since the hsic stage wrote it ({how})")
    assert "snakemake --forcerun hsic" in message and "\n" not in message
    assert checkpoints.damaged([folder]) == [message]
    assert checkpoints.damaged([folder], skip=["hsic"]) == []  # about to be rerun: nothing to refuse


def test_a_damaged_summary_is_refused_and_an_unrecorded_file_is_not_checked(tmp_path: Path) -> None:
    folder = stage(tmp_path)
    (folder / "clusters.parquet").write_bytes(b"not recorded")
    checkpoints.verify(folder / "clusters.parquet")
    (folder / "summary.json").write_text('{"checkpoints": ')
    with pytest.raises(PipelineError, match=r"summary\.json: damaged .*--forcerun hsic"):
        checkpoints.verify(folder / "survivors.txt")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "survivors.txt").write_text("")
    checkpoints.verify(bare / "survivors.txt")  # no summary beside it (written by hand): nothing to compare
