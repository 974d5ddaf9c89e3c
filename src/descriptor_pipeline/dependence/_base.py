"""What the engine and the measures share: the Measure interface, the result of ``all_pairs``, the
histogram edges, seed derivation and the map over a worker pool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

HIST_EDGES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)


def derive_seed(seed: int, *names: str) -> int:
    """A 63-bit seed derived from the config seed and a purpose (e.g. the pass name)."""
    digest = hashlib.blake2b("\x00".join((str(seed), *names)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class Measure:
    """A dependence measure: ``width`` features per column and a reduction of (d x d) blocks."""

    name: str = ""
    width: int = 1
    # How the values that feed the similarity histogram are obtained (recorded in the pass summary).
    histogram_values: str = "exact"

    def plan(self, threshold: float) -> None:
        """The threshold the pairs will be kept at, told before fit (a measure may plan its work by it)."""

    def fit(
        self, X: np.ndarray, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None, dtype: Any = None, keep_bytes: int = 0
    ) -> None:
        """Per-column parameters from the whole (columns, rows) host matrix (optional); ``xp`` may do
        the heavy part, and ``pool`` share NumPy work by columns. A measure whose fit builds the
        features anyway may keep them (as ``dtype``, at most ``keep_bytes``) for ``features``."""

    @property
    def holds_features(self) -> bool:
        """True when fit kept every column's features (the engine then caches nothing itself)."""
        return False

    @property
    def column_widths(self) -> np.ndarray | None:
        """Features per column when they differ between columns (set by fit); None: ``width`` each."""
        return None

    def describe(self) -> dict | None:
        """What fit chose, for the pass summary (None: nothing)."""
        return None

    def features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        """(sum of widths, rows) float64 features of the columns ``cols`` of the fitted matrix, block ``X``."""
        raise NotImplementedError

    def reduce(self, xp: ModuleType, G: Any, ci: slice, cj: slice, threshold: float) -> Any:
        """(len(ci), len(cj)) similarities of the columns ``ci`` x ``cj`` from their product block ``G``."""
        raise NotImplementedError


@dataclass
class EdgeResult:
    """Pairs at or above the threshold (column indices i < j, similarity) and a coarse histogram."""

    i: np.ndarray
    j: np.ndarray
    similarity: np.ndarray
    hist_edges: tuple[float, ...] = HIST_EDGES
    hist_counts: list[int] = field(default_factory=list)
    n_blocks: int = 0
    block_columns: int = 0
    seconds: float = 0.0
    features: dict | None = None  # what the measure's fit chose (Measure.describe)


def _pool_map(pool: ThreadPoolExecutor | None, xp: ModuleType) -> Callable:
    """``map`` over the pool's workers for NumPy work (other namespaces run in the calling thread)."""
    return pool.map if pool is not None and xp is np else map
