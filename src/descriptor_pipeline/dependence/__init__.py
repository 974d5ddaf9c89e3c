"""The block engine and the three dependence measures, written once against the array namespace ``xp``.

Data layout: columns are rows here, ``X`` has shape (columns, rows), float64, NaN = missing.

Every measure maps a column to ``d`` feature rows (``d`` = 1 for Spearman, D random Fourier features
for HSIC, k sinusoidal features for RDC), centered over the column's present rows, with 0 where the
value is missing. All pairs of a column block I against a block J come from one matrix product
``F_I @ F_J.T``; a measure-specific reduction turns each (d x d) sub-block into one similarity, and only
pairs at or above the threshold leave the block, as edges. Memory is bounded by the block size.

A measure holds only its hyperparameters (and the random draws its seed fixes). ``fit(X, threshold)``
returns what it learns from the matrix, a ``Fit`` (the feature rows of each column, bandwidths, ranks,
the features it kept, how its histogram values are obtained); the engine passes that value to
``features`` and ``reduce``, so nothing is carried between calls on the measure itself.

Missing values (one rule for all three measures): a missing value contributes a zero centered feature,
so a row where either column is missing adds nothing to their cross-product. For two columns with
the same missing rows this equals the measure on their complete rows. Where the missing rows differ,
each column is still centered and scaled over its own present rows, so the value differs from the
complete-case value (usually lower, since rows known for only one column add nothing to the
cross-product but count in that column's own norm).

The modules, each importing only those above it (and ``descriptor_pipeline.backend``):

    _base        Measure (the interface) and Fit (what its fit learns), EdgeResult, HIST_EDGES, derive_seed, _pool_map
    _ranks       average_ranks and NumPy's per-row fast path of the ranking
    _kernels     centering over present rows, Gram matrices, float32 cosines, segment_sums/_blocks, _scatter
    _bandwidth   median_bandwidth(s): the exact median heuristic of HSIC's bandwidths
    _features    PerColumnRank (per-column compressed features), its CompressedFit and _Spill (their temporary file)
    spearman     Spearman
    hsic         HSIC, its HSICFit and its screen's constants
    rdc          RDC
    _engine      all_pairs: the block schedule, block products in fixed panels, edges and histogram

Derivations and measured figures behind this code: docs/dependence-engine.md. The constants are
re-exported below as copies: the code reads them from its own module, so patch them there (e.g.
``_engine.KEEP_BLOCKS``, ``_engine.block_rows``).
"""

from __future__ import annotations

from descriptor_pipeline.dependence._base import HIST_EDGES, EdgeResult, Fit, Measure, derive_seed
from descriptor_pipeline.dependence._ranks import average_ranks
from descriptor_pipeline.dependence._kernels import segment_blocks, segment_sums
from descriptor_pipeline.dependence._bandwidth import median_bandwidth, median_bandwidths
from descriptor_pipeline.dependence._features import FEATURE_CHUNK, CompressedFit, PerColumnRank
from descriptor_pipeline.dependence.spearman import Spearman
from descriptor_pipeline.dependence.hsic import HSIC, SCREEN_MARGIN, SCREEN_MIN_THRESHOLD, HSICFit
from descriptor_pipeline.dependence.rdc import RDC
from descriptor_pipeline.dependence._engine import KEEP_BLOCKS, PANEL_ROWS, all_pairs, block_columns, block_rows, block_starts

__all__ = [
    "FEATURE_CHUNK",
    "HIST_EDGES",
    "HSIC",
    "HSICFit",
    "KEEP_BLOCKS",
    "PANEL_ROWS",
    "RDC",
    "SCREEN_MARGIN",
    "SCREEN_MIN_THRESHOLD",
    "CompressedFit",
    "EdgeResult",
    "Fit",
    "Measure",
    "PerColumnRank",
    "Spearman",
    "all_pairs",
    "average_ranks",
    "block_columns",
    "block_rows",
    "block_starts",
    "derive_seed",
    "median_bandwidth",
    "median_bandwidths",
    "segment_blocks",
    "segment_sums",
]
