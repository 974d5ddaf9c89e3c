"""Atomic file writes and small readers shared by every stage.

Every output is written to a temporary file in the same directory and renamed into place, so a
killed job never leaves a file that looks complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from descriptor_pipeline.errors import PipelineError

UMASK = os.umask(0)
os.umask(UMASK)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, 0o666 & ~UMASK)  # mkstemp makes the file private; results get the usual permissions
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def check_replaceable(path: str | os.PathLike[str], ours: Callable[[Path], bool], option: str) -> None:
    """Refuse ``path`` as an output when something is there that this tool did not write (``ours`` says
    whether an existing file is one of its own): a command overwrites only its own earlier output."""
    target = Path(path)
    if target.is_dir():
        raise PipelineError(f"{option} {target}: a folder; name a file")
    if target.exists() or target.is_symlink():
        try:
            mine = not target.is_symlink() and ours(target)
        except (OSError, ValueError):
            mine = False
        if not mine:
            raise PipelineError(f"{option} {target}: a file descriptor-pipeline did not write is there; "
                                "name another file, or move that one away (nothing was changed)")


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_lines(path: str | os.PathLike[str], lines: Sequence[str]) -> None:
    """Write one item per line, atomically."""
    write_text(path, "".join(f"{line}\n" for line in lines))


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically (byte-identical for equal objects)."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n")


def write_parquet(path: str | os.PathLike[str], table: pa.Table, dictionary: bool = True) -> None:
    """Write an Arrow table as Parquet (zstd), atomically; ``dictionary=False`` for tables of measured
    floats, where dictionary encoding costs time and saves nothing."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=dictionary)


def read_lines(path: str | os.PathLike[str]) -> list[str]:
    """Read a one-name-per-line file (as written by :func:`write_lines`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the stage that produces it first") from None
    except IsADirectoryError:
        raise PipelineError(f"{path}: a folder, not a list of names; name the file") from None
    except UnicodeDecodeError:
        raise PipelineError(f"{path}: not a list of names (UTF-8 text, one name per line); name the run's list") from None
    return [line for line in text.split("\n") if line]


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the stage that produces it first") from None
