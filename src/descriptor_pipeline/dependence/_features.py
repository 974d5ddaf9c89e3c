"""Per-column compressed features (``PerColumnRank``, the base of HSIC and RDC, and its ``CompressedFit``): built
in fixed chunks by fit and held in memory, or past the budget in a memory-mapped temporary file (``_Spill``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from descriptor_pipeline.dependence._base import Fit, Measure

# Columns whose random features are built together: small enough that the (columns, D, rows)
# temporaries stay a few MB (allocating and touching fresh pages dominated with whole blocks).
FEATURE_CHUNK = 8


class _Spill:
    """Compressed features written once to an unlinked temporary file (``tempfile``: $TMPDIR) and read
    back through a read-only memory map, for tables whose features pass fit's ``keep_bytes``: the page
    cache holds them while memory allows, and the kernel drops clean pages under pressure. The space is
    freed when the map is dropped. A failed write (a full disk) gives up the file: the features are
    then built again per block, as without it."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    @classmethod
    def open(cls, first: list) -> _Spill | None:
        try:
            spill = cls(tempfile.TemporaryFile(prefix="descriptor-pipeline-features-"))
        except OSError:
            return None
        return spill if spill.write(first) else None

    def write(self, arrays: list) -> bool:
        try:
            for a in arrays:
                self.handle.write(np.ascontiguousarray(a).data)
            return True
        except OSError:
            self.close()
            return False

    def close(self) -> None:
        """Close the file; a buffered tail that cannot be written (the disk is full) is dropped with it."""
        try:
            self.handle.close()
        except OSError:  # the buffer's flush failed again; the descriptor is closed all the same
            pass

    def map(self, dtype: np.dtype, rows: int) -> np.ndarray | None:
        """The (written rows, ``rows``) array read from the file; None when the last writes fail."""
        try:
            self.handle.flush()  # buffered writes meet a full disk here at the latest
            stack = np.memmap(self.handle, dtype=dtype, mode="r", shape=(self.handle.tell() // (dtype.itemsize * rows), rows))
        except OSError:
            stack = None
        self.close()  # the map keeps its own reference to the file
        return stack


@dataclass(frozen=True, kw_only=True, eq=False)
class CompressedFit(Fit):
    """A per-column measure's fit: each column's rank (its number of kept feature rows), the energy it
    leaves out, the squared norms of its kept rows and, where fit kept them, the features themselves."""

    ranks: np.ndarray  # (columns,) kept feature rows per column
    left_out: np.ndarray  # (columns,) the energy each column leaves out
    power: np.ndarray  # (columns, >= max rank) squared row norms of the kept features, descending, zero-padded
    stack: Any = None  # the kept features of every column, one (sum of ranks, rows) array (or memory map); None
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))  # column c: offsets[c]:offsets[c + 1]

    @property
    def holds_features(self) -> bool:
        return self.stack is not None

    def column(self, c: int) -> Any:
        """Column ``c``'s kept (rank, rows) features, a view of the stack."""
        return self.stack[int(self.offsets[c]) : int(self.offsets[c + 1]), :]

    @property
    def held(self) -> str:
        """Where fit put the compressed features."""
        if self.stack is None:
            return "rebuilt per block"
        return "temporary file" if isinstance(self.stack, np.memmap) else "memory"

    @property
    def truncated_energy(self) -> float:
        """The largest energy any column leaves out (0 without compression)."""
        return float(np.max(self.left_out)) if self.left_out.size else 0.0


class PerColumnRank(Measure):
    """A measure whose columns each keep their own number of feature rows (the ranks of its fit).

    Subclasses give ``_compress(fit, xp, X, cols, ranks=None) -> (rows per column, ranks, left_out, power)``:
    each column's (r, rows) features, its rank (``ranks`` when given), the energy it leaves out and the
    squared norms of its rows, descending (None where the measure has no use for them); ``fit`` is what
    the measure's fit learned before (e.g. HSIC's bandwidths). ``_fit_ranks`` runs it over every column
    in chunks of fixed size and keeps the features (as ``dtype``): in memory while they fit in
    ``keep_bytes``, beyond that (NumPy) in a temporary file read through a memory map (``_Spill``);
    ``features`` then only gathers them. Elsewhere, or if the file cannot be written, it builds them
    again per block with fit's ranks (the fit's ``held`` says which).
    """

    @property
    def compressed(self) -> bool:
        return True

    def _unfitted(self, p: int) -> dict:
        """The CompressedFit fields of ``p`` columns at full width, nothing kept (the uncompressed reference)."""
        full = np.full(p, self.width, dtype=np.int64)
        return {"widths": full, "ranks": full, "left_out": np.zeros(p), "power": np.zeros((p, 0))}

    def _chunk(self, xp: ModuleType, rows: int) -> int:
        return FEATURE_CHUNK if xp is np else max(1, 2**25 // max(1, self.width * rows))

    def _fit_ranks(self, fit: CompressedFit, X: np.ndarray, xp: ModuleType, pmap: Callable, dtype: Any, keep_bytes: int) -> dict:
        """The CompressedFit fields that compression sets (ranks, widths, left_out, power, stack, offsets)."""
        p = X.shape[0]
        chunk = self._chunk(xp, X.shape[1])
        itemsize = 4 if dtype == xp.float32 else 8
        kept: list | None = [] if dtype is not None and keep_bytes > 0 else None
        size = 0
        spill: _Spill | None = None
        ranks, left_out, power = [], [], []
        chunks = [slice(lo, min(lo + chunk, p)) for lo in range(0, p, chunk)]
        for W, r, e, s2 in pmap(lambda c: self._compress(fit, xp, xp.asarray(X[c]), c), chunks):
            ranks.append(r)
            left_out.append(e)
            power.append(s2)
            if kept is None:
                continue
            W = [xp.astype(w, dtype) for w in W]
            size += int(r.sum()) * X.shape[1] * itemsize
            if spill is None and size > keep_bytes:  # past keep_bytes: on to a temporary file (NumPy), or rebuilt
                spill = _Spill.open(kept) if xp is np else None
                kept = [] if spill is not None else None
            if spill is not None:
                if not spill.write(W):
                    kept, spill = None, None
            elif kept is not None:
                kept.extend(W)
        out: dict = {"ranks": np.concatenate(ranks), "left_out": np.concatenate(left_out)}
        out["widths"] = out["ranks"]
        width = int(out["ranks"].max())
        if all(s2 is not None for s2 in power):
            out["power"] = np.concatenate([np.pad(s2, ((0, 0), (0, width - s2.shape[1]))) for s2 in power])
        # One (sum of ranks, rows) array, in memory or mapped from the file: a block's features are a view of it.
        stack = None
        if spill is not None:  # something was written: the file holds at least one row (None: the last writes failed)
            stack = spill.map(np.dtype(dtype), X.shape[1])
        elif kept:
            stack = xp.concat(kept, axis=0)
        if stack is not None:
            out["stack"], out["offsets"] = stack, np.concatenate([[0], np.cumsum(out["ranks"])])
        return out

    def _compress(
        self, fit: CompressedFit, xp: ModuleType, X: Any, cols: slice, ranks: np.ndarray | None = None
    ) -> tuple[list, np.ndarray, np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _compressed_features(self, fit: CompressedFit, xp: ModuleType, X: Any, cols: slice) -> Any:
        if fit.stack is not None:
            return fit.stack[int(fit.offsets[cols.start]) : int(fit.offsets[cols.stop]), :]
        chunk = self._chunk(xp, X.shape[1])
        out = []
        for lo in range(0, X.shape[0], chunk):
            hi = min(lo + chunk, X.shape[0])
            part = slice(cols.start + lo, cols.start + hi)
            out.extend(self._compress(fit, xp, X[lo:hi, :], part, fit.ranks[part])[0])
        return xp.concat(out, axis=0)

    def _description(self, fit: CompressedFit, settings: dict) -> dict | None:
        """What fit chose, for the pass summary: ``settings`` (the measure's compression settings) first."""
        if not self.compressed or not fit.ranks.size:
            return None
        return {**settings, "rank_max": int(fit.ranks.max()), "rank_mean": round(float(fit.ranks.mean()), 3),
                "rank_median": float(np.median(fit.ranks)), "energy_left_out_max": fit.truncated_energy,
                "held": fit.held}
