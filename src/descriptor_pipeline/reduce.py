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
from descriptor_pipeline.inputs import PANDAS_INDEX, is_numeric
from descriptor_pipeline.layout import APPLY_MANIFEST, Results
from descriptor_pipeline.logs import LOG


def mirrored(files: Sequence[str]) -> list[str]:
    """Each file's path relative to the deepest folder that holds them all."""
    folders = [os.path.dirname(os.path.abspath(f)) for f in files]
    root = os.path.commonpath(folders)
    return [os.path.relpath(os.path.abspath(f), root) for f in files]


def identifier_columns(column_stats: str | Path) -> list[str]:
    """The input columns that are no descriptor (non-numeric, such as ids and SMILES, or matched by
    ``exclude_columns``), in input order, from ingest's column statistics: what the reduced tables carry
    unless ``carry_columns`` names others."""
    rows = pq.read_table(column_stats, columns=["column", "reason"]).to_pylist()
    return [r["column"] for r in rows if r["reason"] in ("excluded", "non_numeric")]


def _schema(path: str) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise PipelineError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]}); check the input") from None


def non_numeric_columns(path: str) -> list[str]:
    """The columns of one file that are not numeric, in file order (the carried columns when no run's
    statistics say more)."""
    return [f.name for f in _schema(path) if not is_numeric(f.type) and not PANDAS_INDEX.fullmatch(f.name)]


def projected_columns(path: str, names: Sequence[str], carry: Sequence[str], selection: str,
                      required: bool = True) -> list[str]:
    """The columns to write, carried ones first; a clear error for any the file lacks (a carried column
    the file lacks is left out when not ``required``: the columns carried by default)."""
    present = set(_schema(path).names)
    if not required:
        carry = [name for name in carry if name in present]
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
                 selection: str = "the selection", manifest: dict | None = None, carry_given: bool = True) -> list[Path]:
    """Write every file of ``files`` projected on ``carry`` + ``names`` under ``out_dir``, which is
    replaced whole (the workflow's own ``reduced/`` folder; ``apply`` checks its folder first). With
    ``manifest``, the list of written files goes beside them as ``layout.APPLY_MANIFEST``. ``carry``
    chosen by default (not ``carry_given``): a file that lacks one of those columns is written without it."""
    clash = sorted(set(carry) & set(names))
    if clash:
        raise PipelineError(f"config key 'carry_columns': {clash[0]!r} is a final descriptor; it is written anyway, remove it")
    out = Path(out_dir)
    plans = [(f, rel, projected_columns(f, names, carry, selection, carry_given)) for f, rel in zip(files, mirrored(files))]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old = tmp.with_suffix(".old")
    try:
        written = []
        for k, (f, rel, columns) in enumerate(plans, start=1):
            rows = reduce_file(f, tmp / rel, columns)
            written.append(out / rel)
            LOG.info("reduce: file %d of %d, %s -> %s (%d rows x %d columns)", k, len(plans), f, out / rel, rows, len(columns))
        if manifest is not None:
            io.write_json(tmp / APPLY_MANIFEST, {**manifest, "files": [rel for _, rel, _ in plans]})
        os.chmod(tmp, 0o777 & ~io.UMASK)
        if out.exists():  # moved aside first: the old folder goes only once the new one is in place
            os.replace(out, old)
        os.replace(tmp, out)
    finally:
        for left in (tmp, old):
            if left.exists():
                shutil.rmtree(left)
    return written


def _entries(folder: Path) -> list[str]:
    """Every file, link and empty folder under ``folder``, as paths relative to it (links not followed)."""
    found = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        rel = os.path.relpath(top, folder)
        links = [d for d in dirs if os.path.islink(os.path.join(top, d))]
        found += [os.path.normpath(os.path.join(rel, name)) for name in sorted(files + links)]
        if not dirs and not files and rel != ".":
            found.append(rel + os.sep)
    return found


def check_apply_out(out: Path, inputs: Sequence[str], folders: Sequence[str]) -> None:
    """Refuse an ``apply --out`` folder that apply may not replace: the working directory, a home or root
    directory, a folder that holds an input or lies in an input folder, a file, or a folder holding
    anything apply did not write there itself (its manifest lists what it wrote)."""
    target = out.resolve()
    where = f"apply --out {out}"
    advice = "name a new or empty folder for the reduced files"
    if target == Path.cwd().resolve():
        raise PipelineError(f"{where}: the current directory; {advice} (e.g. --out reduced)")
    if target == Path.home().resolve() or target == Path(target.anchor):
        raise PipelineError(f"{where}: {'the root' if target == Path(target.anchor) else 'your home'} directory; {advice}")
    for f in inputs:
        if target in Path(f).resolve().parents:
            raise PipelineError(f"{where}: holds the input {f}; {advice}, outside the inputs")
    for d in folders:
        if target == Path(d).resolve() or Path(d).resolve() in target.parents:
            raise PipelineError(f"{where}: inside the input folder {d}; {advice}, outside the inputs")
    if target.exists() and not target.is_dir():
        raise PipelineError(f"{where}: a file, not a folder; {advice}")
    if not target.is_dir():
        return
    entries = _entries(target)
    if not entries:
        return
    mine: set[str] = set()  # what an earlier apply wrote there, by its manifest
    if (target / APPLY_MANIFEST).is_file():
        try:
            mine = {APPLY_MANIFEST, *(os.path.normpath(f) for f in io.read_json(target / APPLY_MANIFEST)["files"])}
        except (ValueError, KeyError, TypeError):
            pass  # not a manifest apply wrote: then nothing there is known to be apply's
    foreign = [e for e in entries if e not in mine]
    if foreign:
        raise PipelineError(f"{where}: holds files apply did not write (e.g. {foreign[0]!r}); {advice}, "
                            "or one that holds only an earlier apply's output")


def apply_selection(selection: str | Path, inputs: Sequence[str], out_dir: str | Path,
                    carry: Sequence[str] | None = None, folders: Sequence[str] = ()) -> list[Path]:
    """``descriptor-pipeline apply``: the final descriptors of a finished run (a results directory or its
    final_descriptors.txt) cut out of new files (``folders``: the input folders named on the command line).
    ``carry`` None: the columns the run carries by default (from its ingest statistics; without them, the
    files' non-numeric columns); ``[]``: none. The output folder is new, empty, or one an earlier apply
    wrote (nothing else in it is ever removed)."""
    path = Path(selection)
    listing = Results(path).final_list if path.is_dir() else path
    names = io.read_lines(listing)
    if not names:
        raise PipelineError(f"{listing}: lists no descriptor; apply needs the final_descriptors.txt of a finished run")
    check_apply_out(Path(out_dir), inputs, folders)
    given = carry is not None
    if carry is None:
        stats = Results(listing.parent).ingest.column_stats
        carry = identifier_columns(stats) if stats.is_file() else non_numeric_columns(inputs[0])
    manifest = {"written_by": "descriptor-pipeline apply", "selection": str(listing), "carry": list(carry)}
    return reduce_files(inputs, names, out_dir, carry, selection=str(listing), manifest=manifest, carry_given=given)
