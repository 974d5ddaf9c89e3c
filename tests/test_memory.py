"""Memory stays put: RSS sampled (memory-profiler) across the batches of the ingest scan (one DuckDB
aggregate query each) and across the blocks of a pass must not grow by more than 5 % between the 10th
and the last batch / block.

Each case is sized so that there are dozens of batches / block pairs and, for the passes, so that the
features pass the budget a measure may keep in memory: they are then recomputed per block, or (the
compressed HSIC and RDC on NumPy) read from a temporary file, whose pages are touched in the first
block row; a cache in memory would fill during the first blocks and look like growth.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from memory_profiler import memory_usage

from descriptor_pipeline.dependence import HSIC, RDC, Spearman, all_pairs, block_rows, block_starts
from descriptor_pipeline.dependence._features import _Spill
from descriptor_pipeline.ingest import IngestSettings, scan
from descriptor_pipeline.inputs import inspect_inputs

GROWTH_LIMIT = 1.05


def rss_mib() -> float:
    """This process's resident memory now, via memory-profiler."""
    return float(memory_usage(-1, interval=0.001, timeout=0.001, max_usage=True))


def assert_flat(samples: list[float], what: str) -> None:
    assert len(samples) >= 20, f"only {len(samples)} {what}: the case is too small to show growth"
    tenth, last = samples[9], samples[-1]
    assert last <= GROWTH_LIMIT * tenth, f"RSS grew from {tenth:.1f} MiB at the 10th {what} to {last:.1f} MiB at the last"


def test_ingest_scan_memory_is_flat(write_table) -> None:
    rng = np.random.default_rng(0)
    n_rows, n_cols = 240_000, 40
    data = {f"c{j:02d}": rng.standard_normal(n_rows) for j in range(n_cols)}
    data["c00"][rng.random(n_rows) < 0.1] = np.nan  # NaN: c00 is read again, masked
    data["c01"][::7] = 1e300  # squares beyond float64: c01 is read again, scaled
    files = write_table(data, n_files=24, row_group_size=4096)
    del data
    schema = inspect_inputs(files, [])
    settings = IngestSettings.from_config({"seed": 1, "sample_rows": 5000, "ingest": {"chunk_rows": 1}})
    samples: list[float] = []
    gc.collect()
    result = scan(schema, settings, threads=1, on_batch=lambda batches, rows: samples.append(rss_mib()))
    assert result.rows_seen == n_rows
    assert result.rounds == 2  # c00 masked, c01 scaled, both in the second round
    assert len(samples) == 48  # 24 batches in each round
    assert_flat(samples[:24], "batch")  # the first round: the whole scan, with the row sample growing


@pytest.mark.parametrize(
    ("measure", "p", "n"),
    [(Spearman(), 3000, 1200), (HSIC(seed=3), 1000, 600), ("hsic-no-file", 600, 600), (HSIC(seed=3, energy_tol=None), 92, 600),
     (RDC(seed=3), 1000, 600), (RDC(seed=3, compress=False), 260, 600)],
    ids=["spearman", "hsic", "hsic-rebuilt", "hsic-uncompressed", "rdc", "rdc-uncompressed"],
)
def test_pass_block_memory_is_flat(measure, p: int, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rebuilt = measure == "hsic-no-file"
    if rebuilt:  # no temporary file to be had: features built again per block
        monkeypatch.setattr(_Spill, "open", classmethod(lambda cls, first: None))
        measure = HSIC(seed=3)
    block_memory_mb = 1
    rng = np.random.default_rng(4)
    latent = rng.standard_normal((p // 4, n))
    X = np.repeat(latent, 4, axis=0) + 0.1 * rng.standard_normal((p, n))  # edges in every block row
    widths = measure.fit(X, 0.5).widths  # a compressed measure's are the ranks fit chooses (all_pairs fits again, the same)
    features_bytes = int(np.sum(widths)) * n * 4
    assert features_bytes > 8 * block_memory_mb * 2**20, "features would be cached; make the case larger"
    starts = len(block_starts(widths, block_rows(4, block_memory_mb)))
    assert starts * (starts + 1) // 2 >= 20
    samples: list[float] = []
    gc.collect()
    result = all_pairs(X, measure, 0.5, np, "float32", block_memory_mb, lambda done, total: samples.append(rss_mib()))
    assert len(result.i) >= p // 4  # the planted pairs were found, so edge lists grew during the run
    if measure.name in ("hsic", "rdc") and measure.compressed:
        assert result.features["held"] == ("rebuilt per block" if rebuilt else "temporary file")
    assert_flat(samples, "block pair")
