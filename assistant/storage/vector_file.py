"""The passages' vectors in float16, row = passage id, in one file beside the generations:
what an approximate index re-scores its candidates with. Read through a memory map, ten
million of them (7.7 GB) cost the page cache what the questions touch, not the process's
own memory.

A writer adds rows only for new ids, past every id a committed generation names (SQLite
never reuses a passage id: AUTOINCREMENT), so it can extend the file while readers map it,
and a crash leaves at worst rows that no generation names. Without a path (an index not kept
on disk) the rows are held in memory.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

FILE = "vectors.f16"


class VectorFile:
    def __init__(self, path: Path | None, dim: int):
        self.path, self.dim = path, dim
        self._rows: np.ndarray = np.zeros((0, dim), np.float16)
        self._size = 0  # rows in use; an in-memory array holds spare rows past it
        self._map()

    def __len__(self) -> int:
        """Rows held: ids below it have one."""
        return self._size

    @property
    def exists(self) -> bool:
        return self.path is None or self.path.is_file()

    def _map(self) -> None:
        if self.path is not None and self.path.is_file():
            self._size = self.path.stat().st_size // (2 * self.dim)
            self._rows = (np.memmap(self.path, np.float16, "r", shape=(self._size, self.dim))
                          if self._size else np.zeros((0, self.dim), np.float16))

    def __getitem__(self, rows: slice) -> np.ndarray:
        """Rows by position, as stored (float16): for reading the file in slices."""
        return self._rows[:self._size][rows]

    def write(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        size = max(self._size, int(ids.max()) + 1)
        if self.path is None:
            if size > len(self._rows):  # doubling: appends cost amortised constant time
                grown = np.zeros((max(size, 2 * len(self._rows)), self.dim), np.float16)
                grown[:self._size] = self._rows[:self._size]
                self._rows = grown
            self._rows[ids] = vectors
            self._size = size
            return
        with open(self.path, "ab") as handle:
            handle.truncate(size * 2 * self.dim)  # grows it (with zeros) where it must
        rows = np.memmap(self.path, np.float16, "r+", shape=(size, self.dim))
        rows[ids] = vectors
        rows.flush()
        del rows
        self._map()

    def read(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(vectors as float32, True where the id has a row) for these ids."""
        ids = np.asarray(ids, dtype=np.int64)
        held = (ids >= 0) & (ids < self._size)
        out = np.zeros((len(ids), self.dim), np.float32)
        out[held] = self._rows[ids[held]]
        return out, held

    def sync(self) -> None:
        """On disk before a generation that needs these rows is committed."""
        if self.path is not None and self.path.is_file():
            with open(self.path, "rb") as handle:
                os.fsync(handle.fileno())
