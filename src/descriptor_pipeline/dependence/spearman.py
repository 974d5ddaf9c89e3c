"""|Spearman rho|, the measure of the first pass."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from descriptor_pipeline.dependence._base import Fit, Measure
from descriptor_pipeline.dependence._ranks import _rank_transform_numpy, average_ranks


def _unit_centered_sorted(ranks: np.ndarray, m: int) -> np.ndarray:
    """Spearman features in sorted order: ranks centered over the m present values, unit norm, 0 if missing."""
    ranks[:m] -= (m + 1) / 2.0
    ranks[m:] = 0.0
    norm = math.sqrt(float(ranks[:m] @ ranks[:m]))
    if norm > 0:
        ranks /= norm
    else:
        ranks[:] = 0.0
    return ranks


class Spearman(Measure):
    """|Spearman rho|: Pearson correlation of average ranks; features are unit-norm centered ranks."""

    name, width = "spearman", 1

    def features(self, fit: Fit, xp: ModuleType, X: Any, cols: slice) -> Any:
        if xp is np:
            return _rank_transform_numpy(X, _unit_centered_sorted)
        present = ~xp.isnan(X)
        ranks, n_present = average_ranks(xp, X)
        centered = xp.where(present, ranks - xp.astype(n_present + 1, xp.float64)[:, None] / 2.0, 0.0)
        norm = xp.sqrt(xp.sum(centered * centered, axis=-1, keepdims=True))
        return xp.where(norm > 0, centered / xp.where(norm > 0, norm, 1.0), 0.0)

    def reduce(self, fit: Fit, xp: ModuleType, G: Any, ci: slice, cj: slice, pool: Any = None) -> Any:
        return xp.abs(G)
