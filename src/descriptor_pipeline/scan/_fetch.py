"""Running a query over the input on its own DuckDB connection, and naming the input file a failed one met."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.scan.source import Source


def fetch(source: Source, batch: Sequence[int], query: str, threads: int,
          tables: Mapping[str, pa.Table] | None = None) -> pa.Table:
    """Run ``query`` over the files ``batch`` on its own connection (with ``tables`` registered under
    their names); a read error names the input file it met."""
    con = duckdb.connect(config={"threads": max(1, threads)})
    try:
        for name, table in (tables or {}).items():
            con.register(name, table)
        return con.sql(query).to_arrow_table()
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        culprit = unreadable_file(source, batch, first)
        raise PipelineError(f"{culprit}: DuckDB could not read the input ({first}); check every file in 'input'") from None
    finally:
        con.close()


def unreadable_file(source: Source, batch: Sequence[int], message: str) -> str:
    """The input file a failed query choked on: the one DuckDB's message names, else the first that fails alone."""
    files = [source.files[i] for i in batch]
    named = [f for f in files if f in message]
    if named:
        return max(named, key=len)
    con = duckdb.connect(config={"threads": 1})
    try:
        for i in batch:
            try:
                for _ in con.sql(source.select([i], ["*"])).to_arrow_reader(65536):
                    pass
            except (duckdb.Error, pa.ArrowException, OSError):
                return source.files[i]
    finally:
        con.close()
    return files[0]
