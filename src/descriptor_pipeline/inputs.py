"""Finding the input files and checking that they agree on their descriptor columns."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.layout import RUN_FOLDERS
from descriptor_pipeline.logs import LOG


PANDAS_INDEX = re.compile(r"__index_level_\d+__")  # the name pandas gives an unnamed index it writes to Parquet
# Characters a name cannot hold: control characters (tab, newline, NUL, ...) and the line and paragraph
# separators, because final_descriptors.txt and the survivor lists hold one name per line and
# alternatives.tsv one name per tab-separated field.
_LINE_BREAKING = {"Cc", "Zl", "Zp"}


def folder_globs(paths: Sequence[str]) -> list[str]:
    """Command-line inputs as ``input`` patterns: a folder stands for its ``*.parquet`` files (its name
    taken literally, whatever its characters)."""
    return [os.path.join(glob.escape(p), "*.parquet") if os.path.isdir(p) else p for p in paths]


def _matches(pattern: str) -> tuple[list[str], bool]:
    """What one ``input`` entry names, and whether it was taken literally: a path that exists is that
    path, whatever its characters (``[ ] * ? { }``, spaces); anything else is a glob."""
    path = os.path.expanduser(pattern)
    if os.path.lexists(path):
        return [path], True
    return sorted(glob.glob(path, recursive=True)), False


def _files_of(pattern: str, path: str, literal: bool) -> list[str]:
    """The Parquet files one match stands for: a file itself; a folder named literally, its ``*.parquet``
    files; a folder a glob matched, nothing, unless it looks like a Parquet dataset (then it is named)."""
    if not os.path.isdir(path):
        return [path] if os.path.isfile(path) else []
    direct = glob.glob(folder_globs([path])[0])
    if literal and direct:
        return direct
    if direct or next(glob.iglob(os.path.join(glob.escape(path), "**", "*.parquet"), recursive=True), None):
        raise PipelineError(
            f"input {pattern!r}: {path} is a folder of Parquet files (a dataset?), not one file; name its files, "
            f"e.g. {os.path.join(glob.escape(path), '**', '*.parquet')!r}"
        )
    if literal:
        raise PipelineError(f"input {pattern!r}: a folder with no Parquet file in it; name the files to read")
    return []


def expand_inputs(patterns: str | Sequence[str], run_dir: str | os.PathLike[str] = ".") -> list[str]:
    """Expand the ``input`` config value (paths or globs, or a list of them) to a sorted list of files:
    each file once, however it is reached (a link, another spelling), and none of the run's own files
    (``layout.RUN_FOLDERS`` of ``run_dir``), with a line for each of those that was left out."""
    if isinstance(patterns, str):
        patterns = [patterns]
    own = [os.path.realpath(os.path.join(run_dir, folder)) for folder in RUN_FOLDERS]
    files: set[str] = set()
    for pattern in patterns:
        matched, literal = _matches(pattern)
        found = [os.path.normpath(f) for m in matched for f in _files_of(pattern, m, literal)]
        theirs = [f for f in found if not any(os.path.realpath(f).startswith(d + os.sep) for d in own)]
        if len(theirs) < len(found):
            LOG.warning("input %r: %d file(s) under the run's own folders (%s) left out, e.g. %s", pattern,
                        len(found) - len(theirs), ", ".join(f"{f}/" for f in RUN_FOLDERS), sorted(set(found) - set(theirs))[0])
        if not theirs:
            but = " but the run's own" if found else ""
            raise PipelineError(
                f"config key 'input': {pattern!r} matches no file{but}; check the path or glob (relative paths are "
                "taken from the working directory)"
            )
        files.update(theirs)
    by_file: dict[tuple[int, int], str] = {}
    for path in sorted(files):
        st = os.stat(path)
        first = by_file.setdefault((st.st_dev, st.st_ino), path)
        if first != path:
            LOG.warning("input: %s and %s are the same file; it is read once", first, path)
    return sorted(by_file.values())


def file_fingerprint(path: str) -> str:
    """What identifies a Parquet file's content without reading its data: its size and its footer bytes
    (schema, row count, every row group's offsets, sizes and statistics), as a SHA-256 hex digest. A file
    that is no Parquet file is fingerprinted by its size and last bytes (ingest then says what is wrong)."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(size - 8, 0))
            tail = handle.read(8)
            footer_length = int.from_bytes(tail[:4], "little")
            if len(tail) == 8 and tail[4:] == b"PAR1" and footer_length <= size - 12:
                handle.seek(size - 8 - footer_length)
                tail = handle.read(footer_length)
    except OSError as exc:
        raise PipelineError(f"{path}: cannot be read ({exc.strerror})") from None
    digest = hashlib.sha256(size.to_bytes(8, "little"))
    digest.update(tail)
    return digest.hexdigest()


def input_fingerprint(files: Sequence[str]) -> str:
    """One digest of the input files' names, sizes and footers: it changes whenever a file is added,
    removed, renamed or rewritten with other content, even when its modification time was kept (``cp -p``,
    ``rsync -t``, ``tar x``), and stays the same after a mere ``touch``."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(os.path.abspath(path).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(file_fingerprint(path).encode("ascii"))
    return digest.hexdigest()


def compile_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    """Compile the ``exclude_columns`` entries (each a name or a regular expression, full match)."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise PipelineError(
                f"config key 'exclude_columns': {pattern!r} is not a valid regular expression ({exc}); "
                "escape special characters or use the plain column name"
            ) from None
    return compiled


def is_numeric(dtype: pa.DataType) -> bool:
    """Integers, floats, decimals and booleans count as numeric (booleans as 0/1), dictionary-encoded too."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return bool(
        pa.types.is_integer(dtype)
        or pa.types.is_floating(dtype)
        or pa.types.is_decimal(dtype)
        or pa.types.is_boolean(dtype)
    )


TEXT_ROWS = 200  # values of a text column read to tell whether it holds numbers


def _is_text(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
                or (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(dtype)))


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def numbers_as_text(path: str, columns: Sequence[str], rows: int = TEXT_ROWS) -> list[str]:
    """The text columns of ``columns`` whose first ``rows`` values in ``path`` are numbers written as text
    ('12.5', '-3', 'nan'): at least one non-empty value, and at least 90 % of the non-empty ones."""
    schema = pq.read_schema(path)
    text = [c for c in columns if _is_text(schema.field(c).type)]
    if not text:
        return []
    batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows, columns=text), None)
    if batch is None:
        return []
    found = []
    for name, column in zip(text, batch.columns):
        values = [v.strip() for v in column.to_pylist() if v is not None and v.strip()]
        if values and sum(map(_reads_as_number, values)) >= 0.9 * len(values):
            found.append(name)
    return found


def text_numbers_advice(names: Sequence[str]) -> str:
    """One clause on text columns that hold numbers: how many, which, and what to do."""
    shown = ", ".join(repr(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")
    return (f"{len(names)} of them hold{'s' if len(names) == 1 else ''} numbers stored as text ({shown}): "
            "write them as numeric columns "
            "(pandas: pd.to_numeric(df[c], errors='coerce')) to have them treated as descriptors, or list "
            "them in 'exclude_columns'")


@dataclass
class InputSchema:
    """What the input files hold: descriptor columns (in file order) and the columns left out."""

    files: list[str]
    n_rows: int
    columns: list[str]  # every column, in the first file's order
    types: dict[str, str]  # column -> Arrow type name
    descriptors: list[str]  # numeric, not excluded, in file order
    non_numeric: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    row_group_rows: list[list[int]] = field(default_factory=list)  # per file, rows of each row group
    file_columns: list[list[str]] = field(default_factory=list)  # per file, every column in that file's order


def _read_schema(path: str) -> tuple[pa.Schema, list[int]]:
    try:
        meta = pq.ParquetFile(path).metadata
    except (pa.ArrowInvalid, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PipelineError(
            f"{path}: not a readable Parquet file ({first}); remove it from 'input' or re-export it"
        ) from None
    return meta.schema.to_arrow_schema(), [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]


def check_name(path: str, name: str, exclude: Sequence[re.Pattern[str]] = ()) -> None:
    """Refuse a column name that the outputs could not carry exactly, or that is not a descriptor's;
    an excluded column is never refused (``exclude_columns`` is the way past)."""
    if any(p.fullmatch(name) for p in exclude):
        return
    if name == "":
        raise PipelineError(
            f"{path}: a column has an empty name; name it in the input files, or exclude it with 'exclude_columns': ['']"
        )
    bad = next((c for c in name if unicodedata.category(c) in _LINE_BREAKING), None)
    if bad is not None:
        raise PipelineError(
            f"{path}: column {name!r} holds the control or line-break character {bad!r}, which the one-name-per-line "
            "and tab-separated outputs cannot carry; rename the column in the input files, or exclude it"
        )
    if PANDAS_INDEX.fullmatch(name):
        raise PipelineError(
            f"{path}: column {name!r} is a pandas index written into the file, not a descriptor; write the file "
            f"with to_parquet(index=False), or add {name!r} to 'exclude_columns'"
        )


def inspect_inputs(files: Sequence[str], exclude_columns: Sequence[str] = ()) -> InputSchema:
    """Read every file's footer (no data) and check that the files agree on the descriptor columns."""
    patterns = compile_patterns(exclude_columns)
    first_schema: pa.Schema | None = None
    n_rows = 0
    reference: dict[str, str] = {}
    row_group_rows: list[list[int]] = []
    file_columns: list[list[str]] = []
    for path in files:
        schema, groups = _read_schema(path)
        n_rows += sum(groups)
        row_group_rows.append(groups)
        names = schema.names
        file_columns.append(list(names))
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise PipelineError(f"{path}: column {name!r} appears more than once; give every column a unique name")
            seen.add(name)
            check_name(path, name, patterns)
        types = {name: str(schema.field(name).type) for name in names}
        if first_schema is None:
            first_schema = schema
            reference = types
            continue
        first = files[0]
        for name, type_name in reference.items():
            if name not in types:
                raise PipelineError(
                    f"{path}: column {name!r} (present in {first}) is missing; all input files must have the same columns"
                )
            if types[name] != type_name:
                raise PipelineError(
                    f"{path}: column {name!r} has type {types[name]} but {type_name} in {first}; "
                    "cast it to one type in every file"
                )
        extra = [n for n in names if n not in reference]
        if extra:
            raise PipelineError(
                f"{path}: column {extra[0]!r} is not in {first}; all input files must have the same columns"
            )
    assert first_schema is not None, "expand_inputs never returns an empty list"
    columns = list(first_schema.names)
    excluded = [c for c in columns if any(p.fullmatch(c) for p in patterns)]
    non_numeric = [c for c in columns if c not in excluded and not is_numeric(first_schema.field(c).type)]
    descriptors = [c for c in columns if c not in excluded and c not in non_numeric]
    if not descriptors:
        as_text = numbers_as_text(files[0], non_numeric)
        raise PipelineError(
            f"{files[0]}: no numeric descriptor column (non-numeric: {len(non_numeric)}, excluded: {len(excluded)}); "
            + (text_numbers_advice(as_text) if as_text else "check 'input' and 'exclude_columns'")
        )
    if n_rows == 0:
        raise PipelineError(f"{files[0]}: the input has 0 rows; point 'input' at files with data")
    return InputSchema(
        files=list(files),
        n_rows=n_rows,
        columns=columns,
        types=reference,
        descriptors=descriptors,
        non_numeric=non_numeric,
        excluded=excluded,
        row_group_rows=row_group_rows,
        file_columns=file_columns,
    )


def check_named_columns(schema: InputSchema, key: str, names: Sequence[str]) -> None:
    """Fail if a ``keep`` / ``prefer`` entry is not a descriptor column of the input."""
    known = set(schema.descriptors)
    for name in names:
        if name not in known:
            why = (
                "it is excluded or not numeric"
                if name in schema.columns
                else "no input column has this name"
            )
            raise PipelineError(f"config key '{key}': {name!r} is not a descriptor column ({why}); fix the name or remove it")


# The largest integer float64 holds exactly: beyond it, neighbouring integers read as the same number.
EXACT_FLOAT = 2**53


def integer_extremes(schema: InputSchema) -> dict[str, tuple[int, int]]:
    """(min, max) in their own type of the descriptors stored as 64-bit integers whose values pass
    :data:`EXACT_FLOAT` in magnitude (every other column is exact in float64): from the files' footer
    statistics, or by reading the column where a row group has none. Missing values are ignored."""
    wide = [n for n in schema.descriptors if schema.types.get(n) in ("int64", "uint64")]
    if not wide:
        return {}
    lo: dict[str, int] = {}
    hi: dict[str, int] = {}
    unknown: set[str] = set()
    for path, columns in zip(schema.files, schema.file_columns):
        meta = pq.ParquetFile(path).metadata
        position = {name: k for k, name in enumerate(columns)}
        for group in (meta.row_group(g) for g in range(meta.num_row_groups)):
            if group.num_rows == 0:
                continue
            for name in wide:
                stats = group.column(position[name]).statistics
                if stats is None or not stats.has_min_max:
                    if stats is None or stats.null_count != group.num_rows:
                        unknown.add(name)
                    continue
                lo[name] = min(lo.get(name, stats.min), stats.min)
                hi[name] = max(hi.get(name, stats.max), stats.max)
    for name in sorted(unknown):  # no statistics written: the column itself, file by file
        for path in schema.files:
            extremes = pc.min_max(pq.read_table(path, columns=[name]).column(0))
            if extremes["min"].is_valid:
                lo[name] = min(lo.get(name, extremes["min"].as_py()), extremes["min"].as_py())
                hi[name] = max(hi.get(name, extremes["max"].as_py()), extremes["max"].as_py())
    return {n: (lo[n], hi[n]) for n in wide if n in lo and max(abs(lo[n]), abs(hi[n])) > EXACT_FLOAT}
