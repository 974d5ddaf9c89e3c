"""Reduced tables: the input rows projected on the final descriptors (plus carried columns such as ids
and SMILES), one Parquet file per input file under the same relative path.

Streamed one row group at a time, so memory stays at one row group of the kept columns whatever the
file size. Each directory is written under a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from descriptor_pipeline import io
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.layout import Results
from descriptor_pipeline.logs import LOG


def mirrored(files: Sequence[str]) -> list[str]:
    """Each file's path relative to the deepest folder that holds them all."""
    folders = [os.path.dirname(os.path.abspath(f)) for f in files]
    root = os.path.commonpath(folders)
    return [os.path.relpath(os.path.abspath(f), root) for f in files]


def projected_columns(path: str, names: Sequence[str], carry: Sequence[str], selection: str) -> list[str]:
    """The columns to write, carried ones first; a clear error for any the file lacks."""
    try:
        present = set(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise PipelineError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]}); check the input") from None
    for name in carry:
        if name not in present:
            raise PipelineError(f"{path}: no column {name!r} (named in 'carry_columns'); fix the name or remove it")
    for name in names:
        if name not in present:
            raise PipelineError(
                f"{path}: no column {name!r}, a final descriptor of {selection}; every selected descriptor must be "
                "in the files (names are matched exactly)"
            )
    return [*carry, *names]


def reduce_file(src: str, dst: Path, columns: Sequence[str]) -> int:
    """Write ``columns`` of ``src`` to ``dst``, one row group at a time; return the rows written."""
    source = pq.ParquetFile(src)
    schema = source.schema_arrow
    fields = [schema.field(name) for name in columns]
    metadata = {k: v for k, v in (schema.metadata or {}).items() if k != b"pandas"}  # it lists the dropped columns
    out_schema = pa.schema(fields, metadata=metadata or None)
    rows = 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(dst, out_schema, compression="zstd") as writer:
        for g in range(source.num_row_groups):
            table = source.read_row_group(g, columns=list(columns))
            writer.write_table(table.select(list(columns)))  # the writer compares schemas without metadata
            rows += table.num_rows
    return rows


def reduce_files(files: Sequence[str], names: Sequence[str], out_dir: str | Path, carry: Sequence[str] = (),
                 selection: str = "the selection") -> list[Path]:
    """Write every file of ``files`` projected on ``carry`` + ``names`` under ``out_dir`` (replaced whole)."""
    clash = sorted(set(carry) & set(names))
    if clash:
        raise PipelineError(f"config key 'carry_columns': {clash[0]!r} is a final descriptor; it is written anyway, remove it")
    out = Path(out_dir)
    plans = [(f, rel, projected_columns(f, names, carry, selection)) for f, rel in zip(files, mirrored(files))]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        written = []
        for k, (f, rel, columns) in enumerate(plans, start=1):
            rows = reduce_file(f, tmp / rel, columns)
            written.append(out / rel)
            LOG.info("reduce: file %d of %d, %s -> %s (%d rows x %d columns)", k, len(plans), f, out / rel, rows, len(columns))
        os.chmod(tmp, 0o777 & ~io.UMASK)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return written


def apply_selection(selection: str | Path, inputs: Sequence[str], out_dir: str | Path, carry: Sequence[str] = ()) -> list[Path]:
    """``descriptor-pipeline apply``: the final descriptors of a finished run (a results directory or its
    final_descriptors.txt) cut out of new files."""
    path = Path(selection)
    listing = Results(path).final_list if path.is_dir() else path
    names = io.read_lines(listing)
    return reduce_files(inputs, names, out_dir, carry, selection=str(listing))
