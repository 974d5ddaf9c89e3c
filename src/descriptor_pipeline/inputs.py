"""Finding the input files and checking that they agree on their descriptor columns."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from descriptor_pipeline.errors import PipelineError


RESERVED_COLUMNS = ("file_index", "file_row_number")  # DuckDB's virtual columns; a file column would hide them


def expand_inputs(patterns: str | Sequence[str]) -> list[str]:
    """Expand the ``input`` config value (a glob or path, or a list of them) to a sorted list of files."""
    if isinstance(patterns, str):
        patterns = [patterns]
    files: set[str] = set()
    for pattern in patterns:
        matched = [p for p in glob.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p)]
        if not matched:
            raise PipelineError(
                f"config key 'input': {pattern!r} matches no file; check the path or glob "
                "(relative paths are taken from the working directory)"
            )
        files.update(os.path.normpath(p) for p in matched)
    return sorted(files)


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


def _read_schema(path: str) -> tuple[pa.Schema, list[int]]:
    try:
        meta = pq.ParquetFile(path).metadata
    except (pa.ArrowInvalid, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PipelineError(
            f"{path}: not a readable Parquet file ({first}); remove it from 'input' or re-export it"
        ) from None
    return meta.schema.to_arrow_schema(), [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]


def inspect_inputs(files: Sequence[str], exclude_columns: Sequence[str] = ()) -> InputSchema:
    """Read every file's footer (no data) and check that the files agree on the descriptor columns."""
    patterns = compile_patterns(exclude_columns)
    first_schema: pa.Schema | None = None
    n_rows = 0
    reference: dict[str, str] = {}
    row_group_rows: list[list[int]] = []
    for path in files:
        schema, groups = _read_schema(path)
        n_rows += sum(groups)
        row_group_rows.append(groups)
        names = schema.names
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise PipelineError(f"{path}: column {name!r} appears more than once; give every column a unique name")
            seen.add(name)
            if name in RESERVED_COLUMNS:
                raise PipelineError(
                    f"{path}: column {name!r} has the name of a DuckDB virtual column that the scan uses to number rows; "
                    "rename it in the input files"
                )
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
        raise PipelineError(
            f"{files[0]}: no numeric descriptor column (non-numeric: {len(non_numeric)}, excluded: {len(excluded)}); "
            "check 'input' and 'exclude_columns'"
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
