"""The index's generation folders: FAISS and BM25 files written whole, fsynced and swapped in,
the manifest beside them, the write lock, and the clean-up of old generations.

Each folder also keeps its layout (view.py): the dates and outlets by passage id that the
database decided when it was written.

A generation folder is written under a `.partial` name and renamed once every file is on disk;
it is in force only once the database names it (see `store.Store`), so a crash at any point
leaves the previous one in force. Nothing here reads or writes the database.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import IndexBusy
from .dense import FILE as DENSE_FILE, DenseIndex
from .faults import crash_point
from .keyword import KeywordIndex
from .view import EMPTY_LAYOUT, Layout, load_layout, save_layout

MANIFEST = "manifest.json"
LOCK = ".lock"
# What the manifest says of the index's contents, beside the build settings.
STATE = ("dim", "generation", "articles", "passages", "oldest", "newest", "sources")
EMPTY = dict.fromkeys(STATE, 0) | {"oldest": None, "newest": None}  # a new index's state


class Generations:
    """The generation folders, manifest and lock of the index at `folder`."""

    def __init__(self, folder: Path):
        self.folder = folder

    @contextmanager
    def lock(self):
        """Hold the index's write lock; a second writer is refused, never interleaved."""
        with open(self.folder / LOCK, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexBusy(f"{self.folder} is being written by another process; "
                                "try again when it has finished") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def path(self, generation: int) -> Path:
        return self.folder / f"gen-{generation:06d}"

    def load(self, generation: int, dim: int, with_dense: bool = True
             ) -> tuple[DenseIndex | None, KeywordIndex, Layout | None]:
        """The search indexes of `generation` (0: none yet) and its layout (None where the
        folder predates saved layouts); the dense index only if asked for and there is one.
        Raises FileNotFoundError where its folder or files are gone."""
        if not generation:
            return None, KeywordIndex([]), EMPTY_LAYOUT
        folder = self.path(generation)
        if not folder.is_dir():
            raise FileNotFoundError(f"generation folder {folder.name} is missing")
        dense = (DenseIndex.load(folder, dim)
                 if with_dense and (folder / DENSE_FILE).exists() else None)
        return dense, KeywordIndex.load(folder), load_layout(folder)

    def write(self, generation: int, dense: DenseIndex | None, keyword: KeywordIndex,
              layout: Layout) -> None:
        """Put the files of `generation` on disk whole: written aside, fsynced, renamed."""
        final = self.path(generation)
        partial = final.with_name(final.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)  # left by a crash after its rename
        partial.mkdir()
        if dense is not None:
            dense.save(partial)
        keyword.save(partial)
        save_layout(partial, layout)
        _fsync_tree(partial)
        crash_point("generation")
        os.replace(partial, final)

    def clean_up(self, generation: int) -> None:
        """Remove what `generation` replaced, keeping the one before it for readers mid-load,
        and any partial folder a crash left."""
        for old in self.folder.glob("gen-*"):
            number = int(old.name[4:].split(".")[0])
            if number < generation - 1 or old.name.endswith(".partial"):
                shutil.rmtree(old, ignore_errors=True)

    def write_manifest(self, fingerprint: dict, state: dict, point: str = "manifest") -> None:
        """Replace manifest.json whole (a reader finds the old one or the new one): a readable
        copy of the build settings and what the index holds. `point` names the crash point
        between writing it aside and putting it in place."""
        manifest = {**fingerprint, **{key: state[key] for key in STATE},
                    "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        tmp = self.folder / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        crash_point(point)
        os.replace(tmp, self.folder / MANIFEST)

    def read_manifest(self) -> dict:
        """The manifest as written; raises OSError or ValueError where it is unreadable."""
        return json.loads((self.folder / MANIFEST).read_text())

    def bytes(self) -> int:
        return folder_bytes(self.folder)


def folder_bytes(folder: Path) -> int:
    """Bytes under `folder`; what a writer removes meanwhile (an old generation) just does not
    count, so stats never fail during an ingest."""
    total = 0
    for root, _, files in os.walk(folder):  # os.walk skips folders that vanish under it
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
