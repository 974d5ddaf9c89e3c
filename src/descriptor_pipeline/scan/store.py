"""The row sample as a column-major float64 matrix, in memory up to a budget and beyond it in a file.

At 20,000 sampled rows a table of 20,000 columns has a sample of 3.2 GB, more than the whole ingest job
should hold. Past ``memory_bytes`` the sample goes to an unlinked temporary file next to the outputs
(nothing is left behind, even by a killed job), written a block of columns at a time and read back the
same way, with ``pread``: page cache, not the job's resident memory. Which of the two holds it changes
no value.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

_ITEM = 8  # float64


class SampleStore:
    """A (rows x columns) float64 matrix, NaN for missing, filled and read a block of columns at a time.

    ``store[:, j]`` and ``store[:, lo:hi]`` read column j, or columns lo to hi, as NumPy arrays (the
    latter Fortran-ordered), whichever holds the values.
    """

    def __init__(self, rows: int, columns: int, memory_bytes: int, directory: str | None = None) -> None:
        self.shape = (int(rows), int(columns))
        self.spilled = rows * columns * _ITEM > memory_bytes
        self._array: np.ndarray | None = None
        self._fd: int | None = None
        if not self.spilled:
            self._array = np.full(self.shape, np.nan, order="F")
            return
        fd, path = tempfile.mkstemp(prefix=".sample.", suffix=".tmp", dir=directory)
        os.unlink(path)  # the file lives until the descriptor is closed, and never outlives the process
        os.ftruncate(fd, rows * columns * _ITEM)
        self._fd = fd

    def write(self, start: int, block: np.ndarray) -> None:
        """Columns ``start`` to ``start + block.shape[1]`` from a (rows x k) block."""
        rows = self.shape[0]
        if block.shape[0] != rows or start + block.shape[1] > self.shape[1]:
            raise ValueError(f"a block of shape {block.shape} does not fit at column {start} of {self.shape}")
        if self._array is not None:
            self._array[:, start : start + block.shape[1]] = block
            return
        data = np.asfortranarray(block, dtype=np.float64)  # a copy only when the block is not column-major
        offset = start * rows * _ITEM
        view = memoryview(data.T).cast("B")  # the transpose of a column-major array is C-contiguous: no copy
        while view:
            done = os.pwrite(self._fd, view, offset)
            view, offset = view[done:], offset + done

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """Columns lo to hi as a (rows x (hi - lo)) Fortran-ordered array."""
        rows = self.shape[0]
        lo, hi = max(0, lo), min(hi, self.shape[1])
        if self._array is not None:
            return self._array[:, lo:hi]
        data = self._read(lo * rows * _ITEM, max(0, hi - lo) * rows * _ITEM)
        return np.frombuffer(data, dtype=np.float64).reshape((hi - lo, rows)).T

    def rows(self, start: int, stop: int, column: int) -> np.ndarray:
        """Rows start to stop of one column."""
        if self._array is not None:
            return self._array[start:stop, column]
        data = self._read((column * self.shape[0] + start) * _ITEM, (stop - start) * _ITEM)
        return np.frombuffer(data, dtype=np.float64)

    def _read(self, offset: int, size: int) -> bytearray:
        """``size`` bytes of the file from ``offset`` (pread until all have come)."""
        buffer = bytearray(size)
        view, got = memoryview(buffer), 0
        while got < size:
            n = os.preadv(self._fd, [view[got:]], offset + got)
            if n <= 0:
                raise OSError(f"the sample file ended after {got} of {size} bytes")
            got += n
        return buffer

    def __getitem__(self, key: tuple) -> np.ndarray:
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)):
            raise TypeError("a SampleStore reads whole columns: store[:, j] or store[:, lo:hi]")
        col = key[1]
        if isinstance(col, slice):
            if col.step not in (None, 1):
                raise TypeError("a SampleStore reads consecutive columns")
            lo, hi, _ = col.indices(self.shape[1])
            return self.columns(lo, hi)
        j = int(col)
        return self.columns(j, j + 1)[:, 0]

    def to_array(self) -> np.ndarray:
        """The whole matrix in memory (tests and small tables)."""
        return np.asfortranarray(self.columns(0, self.shape[1]))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        array = self.to_array()
        return array if dtype is None else array.astype(dtype)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._array = None

    def __enter__(self) -> SampleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()
