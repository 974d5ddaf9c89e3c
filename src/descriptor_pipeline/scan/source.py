"""The input files as SQL, every column addressed by its position."""

from __future__ import annotations

import functools
import glob
from collections.abc import Sequence
from dataclasses import dataclass

from descriptor_pipeline.scan._sql import sql_string


@dataclass(frozen=True)
class Source:
    """The input files, with every column addressed by its position, never by its name.

    DuckDB matches identifiers without regard to case (``nARing`` finds ``naRing``) and matches the
    columns of later files to the first file's by such names, so no input name ever reaches SQL: each
    file's columns are renamed by position (``AS t(c0, c1, ...)``) to ``c<k>``, k being the column's
    position in the first file, and consecutive files with the same column order share one
    ``read_parquet``. Hive partitioning is off, so a path such as ``year=2024/`` adds no column.
    """

    files: tuple[str, ...]
    columns: tuple[tuple[str, ...], ...]  # per file, every column name in file order

    @functools.cached_property
    def _position(self) -> dict[str, int]:
        return {name: k for k, name in enumerate(self.columns[0])}

    def refs(self, names: Sequence[str]) -> list[str]:
        """The SQL names of input columns ``names`` (``c<k>``, k their position in the first file)."""
        return [f"c{self._position[name]}" for name in names]

    def select(self, batch: Sequence[int], exprs: Sequence[str], numbered: bool = False) -> str:
        """SQL selecting ``exprs`` (over the ``c<k>`` names) from the files ``batch``, in order; with
        ``numbered``, also ``fi`` (the file's place in ``batch``) and ``rn`` (the row in its file)."""
        parts = []
        start = 0
        while start < len(batch):
            stop = start + 1
            while stop < len(batch) and self.columns[batch[stop]] == self.columns[batch[start]]:
                stop += 1
            numbers = f", file_index + {start} AS fi, file_row_number AS rn" if numbered else ""
            aliases = ", ".join(self.refs(self.columns[batch[start]]))
            # each path escaped for DuckDB's glob: a file named b[1].parquet is that file, never b1.parquet
            files = ", ".join(sql_string(glob.escape(self.files[i])) for i in batch[start:stop])
            parts.append(f"SELECT {', '.join(exprs)}{numbers} "
                         f"FROM read_parquet([{files}], hive_partitioning = false) AS t({aliases})")
            start = stop
        return parts[0] if len(parts) == 1 else " UNION ALL ".join(f"({part})" for part in parts)
