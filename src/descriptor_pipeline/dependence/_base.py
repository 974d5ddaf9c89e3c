"""What the engine and the measures share: the Measure interface and its Fit, the result of ``all_pairs``, the
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


@dataclass(frozen=True, kw_only=True, eq=False)
class Fit:
    """What a measure's ``fit`` learned from one matrix: the value its ``features`` and ``reduce`` read.

    A measure holds only its hyperparameters (and what they fix, such as the random draws of its seed);
    everything chosen from the data, and the threshold the pairs are kept at, is here, passed by the
    engine to every call that needs it.
    """

    threshold: float
    widths: np.ndarray  # feature rows of each column (the engine's block layout)
    # How the values that feed the similarity histogram are obtained (recorded in the pass summary).
    histogram_values: str = "exact"
    description: dict | None = None  # what fit chose, for the pass summary (None: nothing)

    @property
    def holds_features(self) -> bool:
        """True when fit kept every column's features (the engine then caches nothing itself)."""
        return False


class Measure:
    """A dependence measure: features per column and a reduction of (d x d) blocks of their products."""

    name: str = ""
    width: int = 1  # feature rows per column, before any compression (a hyperparameter)

    def fit(
        self, X: np.ndarray, threshold: float, xp: ModuleType = np, pool: ThreadPoolExecutor | None = None,
        dtype: Any = None, keep_bytes: int = 0,
    ) -> Fit:
        """What the measure needs from the whole (columns, rows) host matrix to keep the pairs at or above
        ``threshold``; ``xp`` may do the heavy part, and ``pool`` share NumPy work by columns. A measure
        whose fit builds the features anyway may keep them (as ``dtype``, at most ``keep_bytes``)."""
        return Fit(threshold=threshold, widths=np.full(X.shape[0], self.width, dtype=np.int64))

    def features(self, fit: Fit, xp: ModuleType, X: Any, cols: slice) -> Any:
        """(sum of widths, rows) float64 features of the columns ``cols`` of the fitted matrix, block ``X``."""
        raise NotImplementedError

    def reduce(self, fit: Fit, xp: ModuleType, G: Any, ci: slice, cj: slice, pool: ThreadPoolExecutor | None = None) -> Any:
        """(len(ci), len(cj)) similarities of the columns ``ci`` x ``cj`` from their product block ``G``
        (exact at or above ``fit.threshold``; below it, as ``fit.histogram_values`` says)."""
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
    features: dict | None = None  # what the measure's fit chose (Fit.description)
    histogram_values: str = "exact"  # how the histogram's values below the threshold were obtained (Fit.histogram_values)


def _pool_map(pool: ThreadPoolExecutor | None, xp: ModuleType) -> Callable:
    """``map`` over the pool's workers for NumPy work (other namespaces run in the calling thread)."""
    return pool.map if pool is not None and xp is np else map
