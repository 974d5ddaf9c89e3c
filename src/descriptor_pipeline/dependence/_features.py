"""Per-column compressed features (``PerColumnRank``, the base of HSIC and RDC): built in fixed chunks by
fit and held in memory, or past the budget in a memory-mapped temporary file (``_Spill``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from descriptor_pipeline.dependence._base import Measure

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


class PerColumnRank(Measure):
    """A measure whose columns each keep their own number of feature rows (``ranks``, set by fit).

    Subclasses give ``_compress(xp, X, cols, ranks=None) -> (rows per column, ranks, left_out, power)``:
    each column's (r, rows) features, its rank (``ranks`` when given), the energy it leaves out and the
    squared norms of its rows, descending (None where the measure has no use for them). fit runs it over
    every column in chunks of fixed size and keeps the features (as ``dtype``): in memory while they fit
    in ``keep_bytes``, beyond that (NumPy) in a temporary file read through a memory map (``_Spill``);
    ``features`` then only gathers them. Elsewhere, or if the file cannot be written, it builds them
    again per block with fit's ranks (``describe()["held"]`` says which).
    """

    ranks: np.ndarray
    left_out: np.ndarray
    power: np.ndarray  # (columns, width) squared row norms of the kept features, descending, zero-padded
    _stack: Any  # the kept features of every column, one (sum of ranks, rows) array (or memory map); None
    _offsets: np.ndarray  # column c's rows of _stack: _offsets[c] to _offsets[c + 1]

    @property
    def compressed(self) -> bool:
        return True

    def _reset(self, p: int, width: int) -> None:
        self.ranks = np.full(p, width, dtype=np.int64)
        self.left_out = np.zeros(p)
        self.power = np.zeros((p, 0))
        self.width = width
        self._stack, self._offsets = None, np.zeros(p + 1, dtype=np.int64)

    @property
    def column_widths(self) -> np.ndarray | None:
        return self.ranks if self.compressed else None

    @property
    def holds_features(self) -> bool:
        return self._stack is not None

    def _column(self, c: int) -> Any:
        """Column ``c``'s kept (rank, rows) features, a view of the stack."""
        return self._stack[int(self._offsets[c]) : int(self._offsets[c + 1]), :]

    def _chunk(self, xp: ModuleType, rows: int) -> int:
        return FEATURE_CHUNK if xp is np else max(1, 2**25 // max(1, self.width * rows))

    def _fit_ranks(self, X: np.ndarray, xp: ModuleType, pmap: Callable, dtype: Any, keep_bytes: int) -> None:
        p = X.shape[0]
        chunk = self._chunk(xp, X.shape[1])
        itemsize = 4 if dtype == xp.float32 else 8
        kept: list | None = [] if dtype is not None and keep_bytes > 0 else None
        size = 0
        spill: _Spill | None = None
        ranks, left_out, power = [], [], []
        chunks = [slice(lo, min(lo + chunk, p)) for lo in range(0, p, chunk)]
        for W, r, e, s2 in pmap(lambda c: self._compress(xp, xp.asarray(X[c]), c), chunks):
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
        self.ranks, self.left_out = np.concatenate(ranks), np.concatenate(left_out)
        self.width = int(self.ranks.max())
        if all(s2 is not None for s2 in power):
            self.power = np.concatenate([np.pad(s2, ((0, 0), (0, self.width - s2.shape[1]))) for s2 in power])
        # One (sum of ranks, rows) array, in memory or mapped from the file: a block's features are a view of it.
        if spill is not None:  # something was written: the file holds at least one row (None: the last writes failed)
            self._stack = spill.map(np.dtype(dtype), X.shape[1])
        elif kept:
            self._stack = xp.concat(kept, axis=0)
        if self._stack is not None:
            self._offsets = np.concatenate([[0], np.cumsum(self.ranks)])

    def _compress(
        self, xp: ModuleType, X: Any, cols: slice, ranks: np.ndarray | None = None
    ) -> tuple[list, np.ndarray, np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _compressed_features(self, xp: ModuleType, X: Any, cols: slice) -> Any:
        if self._stack is not None:
            return self._stack[int(self._offsets[cols.start]) : int(self._offsets[cols.stop]), :]
        chunk = self._chunk(xp, X.shape[1])
        out = []
        for lo in range(0, X.shape[0], chunk):
            hi = min(lo + chunk, X.shape[0])
            part = slice(cols.start + lo, cols.start + hi)
            out.extend(self._compress(xp, X[lo:hi, :], part, self.ranks[part])[0])
        return xp.concat(out, axis=0)

    def _settings(self) -> dict:
        """The measure's compression settings, first in ``describe``."""
        return {}

    def describe(self) -> dict | None:
        if not self.compressed or not self.ranks.size:
            return None
        return {**self._settings(), "rank_max": int(self.ranks.max()), "rank_mean": round(float(self.ranks.mean()), 3),
                "rank_median": float(np.median(self.ranks)), "energy_left_out_max": self.truncated_energy,
                "held": self.held}

    @property
    def held(self) -> str:
        """Where fit put the compressed features."""
        if self._stack is None:
            return "rebuilt per block"
        return "temporary file" if isinstance(self._stack, np.memmap) else "memory"

    @property
    def truncated_energy(self) -> float:
        """The largest energy any column leaves out (0 without compression)."""
        return float(np.max(self.left_out)) if self.left_out.size else 0.0
