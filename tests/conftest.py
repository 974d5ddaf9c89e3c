"""Shared fixtures: write small planted Parquet tables to tmp_path and run the ingest stage on them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.ingest import IngestSettings, run_ingest
from descriptor_pipeline.layout import StageFiles
from workflow_helpers import assert_ok, copy_workflow, snakemake
from workflow_helpers import workdir  # noqa: F401  (the fixture: a copy of the workflow, for every module)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full run of the workflow on the demo data, shared by the tests (read-only for them)."""
    wd = copy_workflow(tmp_path_factory.mktemp("demo") / "repo")
    assert_ok(snakemake(wd, None))
    return wd


def as_table(data: pa.Table | Mapping[str, object]) -> pa.Table:
    """A pyarrow table from a table or a {name: array-like} mapping (column order kept)."""
    if isinstance(data, pa.Table):
        return data
    return pa.table({k: (v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v)) for k, v in data.items()})


def split_bounds(n_rows: int, n_files: int) -> list[int]:
    """Uneven, deterministic split points 0 = b0 <= b1 <= ... <= b_n = n_rows (later files get more rows)."""
    if n_files == 1:
        return [0, n_rows]
    weights = np.arange(1, n_files + 1, dtype=float)
    cuts = np.floor(np.cumsum(weights) / weights.sum() * n_rows).astype(int)
    return [0, *cuts[:-1].tolist(), n_rows]


@pytest.fixture
def write_table(tmp_path: Path) -> Callable[..., list[str]]:
    """``write_table(data, n_files=1, subdir="in", bounds=None, **write_kwargs)`` -> sorted list of paths.

    Splits the rows of ``data`` (a pyarrow table or a mapping of columns) over ``n_files`` Parquet files
    named part-000.parquet, ... in ``tmp_path / subdir`` (or at explicit row ``bounds``).
    """

    def _write(
        data: pa.Table | Mapping[str, object],
        n_files: int = 1,
        subdir: str = "in",
        bounds: Sequence[int] | None = None,
        **write_kwargs: object,
    ) -> list[str]:
        table = as_table(data)
        cuts = list(bounds) if bounds is not None else split_bounds(table.num_rows, n_files)
        out = tmp_path / subdir
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
            path = out / f"part-{i:03d}.parquet"
            pq.write_table(table.slice(lo, hi - lo), path, **write_kwargs)
            paths.append(str(path))
        return paths

    return _write


@dataclass
class IngestResult:
    """The three ingest outputs, read back."""

    out_dir: Path
    stats: pd.DataFrame  # the column stats, indexed by column name
    survivors: list[str]
    sample: pa.Table
    summary: dict

    @property
    def stats_path(self) -> Path:
        return StageFiles(self.out_dir).column_stats

    @property
    def sample_path(self) -> Path:
        return StageFiles(self.out_dir).sample

    @property
    def survivors_path(self) -> Path:
        return StageFiles(self.out_dir).survivors

    def reason(self) -> dict[str, object]:
        return {k: (None if pd.isna(v) else v) for k, v in self.stats["reason"].items()}


def ingest_paths(out_dir: Path) -> tuple[Path, Path, Path]:
    files = StageFiles(out_dir)
    return files.column_stats, files.survivors, files.sample


@pytest.fixture
def ingest(tmp_path: Path) -> Callable[..., IngestResult]:
    """``ingest(files, out="out", **settings)`` runs :func:`run_ingest` and reads its outputs back."""

    def _run(files: Sequence[str], out: str = "out", threads: int = 1, **settings: object) -> IngestResult:
        out_dir = tmp_path / out
        stats_path, survivors_path, sample_path = ingest_paths(out_dir)
        summary = run_ingest(
            list(files), IngestSettings.with_defaults(**settings), str(stats_path), str(survivors_path), str(sample_path), threads=threads
        )
        stats = pq.read_table(stats_path).to_pandas().set_index("column")
        survivors = survivors_path.read_text(encoding="utf-8").splitlines()
        return IngestResult(out_dir, stats, survivors, pq.read_table(sample_path), summary)

    return _run
