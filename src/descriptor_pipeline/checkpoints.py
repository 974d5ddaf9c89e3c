"""Checkpoints that cannot lie: each stage records the size and SHA-256 of the files it wrote in its
``summary.json`` (written last), and whatever reads them checks them first.

A checkpoint file whose content no longer matches its producer's record (emptied, truncated, copied in
from another run) is refused with one line that names it and the command that remakes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from descriptor_pipeline.errors import PipelineError

RECORD_KEY = "checkpoints"
_CHUNK = 1 << 20


def digest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The size in bytes and the SHA-256 of a file."""
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            sha.update(block)
            size += len(block)
    return {"bytes": size, "sha256": sha.hexdigest()}


def record(paths: Iterable[str | os.PathLike[str]]) -> dict[str, dict[str, Any]]:
    """What a stage puts under ``checkpoints`` in its summary: file name -> size and SHA-256."""
    return {Path(p).name: digest(p) for p in paths}


def remedy(stage: str) -> str:
    return (f"mend it with: snakemake --forcerun {stage} (or descriptor-pipeline run --directory DIR -- "
            f"--forcerun {stage})")


def problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` does not match what its stage recorded (the ``summary.json`` beside it), or None when
    it matches or no record is there (a folder written by hand or by an older version)."""
    path = Path(path)
    summary = path.parent / "summary.json"
    stage = path.parent.name
    if not summary.is_file() or not path.exists():
        return None
    try:
        recorded = json.loads(summary.read_text(encoding="utf-8")).get(RECORD_KEY, {})
    except (OSError, ValueError, AttributeError):
        return f"{summary}: damaged (not the JSON the {stage} stage wrote); {remedy(stage)}"
    expected = recorded.get(path.name)
    if expected is None:
        return None
    try:
        found = digest(path)
    except OSError as exc:
        return f"{path}: cannot be read ({exc.strerror}); {remedy(stage)}"
    if found != expected:
        how = (f"{found['bytes']} bytes, the {stage} stage wrote {expected['bytes']}" if found["bytes"] != expected["bytes"]
               else "the same size, other content")
        return f"{path}: damaged or replaced since the {stage} stage wrote it ({how}); {remedy(stage)}"
    return None


def verify(*paths: str | os.PathLike[str]) -> None:
    """Raise a one-line :class:`PipelineError` for the first of ``paths`` that does not match its record."""
    for path in paths:
        reason = problem(path)
        if reason:
            raise PipelineError(reason)


def damaged(folders: Sequence[str | os.PathLike[str]], skip: Iterable[str] = ()) -> list[str]:
    """Problems of every recorded file in the stage ``folders`` (``results/ingest``, ``results/hsic``,
    ...), leaving out the stages named in ``skip`` (those about to be rerun)."""
    out = []
    skipped = set(skip)
    for folder in map(Path, folders):
        summary = folder / "summary.json"
        if folder.name in skipped or not summary.is_file():
            continue
        try:
            names = list(json.loads(summary.read_text(encoding="utf-8")).get(RECORD_KEY, {}))
        except (OSError, ValueError, AttributeError):
            out.append(f"{summary}: damaged (not the JSON the {folder.name} stage wrote); {remedy(folder.name)}")
            continue
        out += [reason for name in names if (reason := problem(folder / name))]
    return out
