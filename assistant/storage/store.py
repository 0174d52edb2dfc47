"""The index folder: its rows (`rows.py`, SQLite) and its generations (`generations.py`, FAISS
and BM25 files), joined: a write changes rows, the `Change` it returns makes the next
generation, and one SQLite commit makes both visible.

A batch becomes visible in one step, the SQLite commit that names its generation folder: a
crash before it leaves the previous generation in force; after it, the new one is complete.
An index comes into being in one step too: its database appears under its name only once the
manifest beside it records the build settings.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..config import Settings
from ..errors import BadSettings, IndexDamaged, NoIndex
from ..types import Passage
from .bm25_segment import Segment
from .dense import DenseIndex
from .faults import crash_point
from .generations import EMPTY, MANIFEST, Generations, folder_bytes  # noqa: F401 (re-exported)
from .keyword import KeywordIndex
from .postings import by_id
from .rows import (
    DB_FILE,
    FORMAT,
    Change,
    Put,
    Rows,
    build_aside,
    indexed_text,
    read_fingerprint,
)
from .vector_file import FILE as VECTOR_FILE, VectorFile
from .view import EMPTY_LAYOUT, build_view, layout_after, layout_of_runs


def settings_for_index(folder: str | Path) -> Settings:
    """The default settings, except the build settings the index at `folder` records in its
    database (read without writing): an index made before a default changed keeps opening as
    it was made. The defaults where there is no index; IndexDamaged where the index cannot
    say what it was built with."""
    fingerprint = read_fingerprint(folder)
    if fingerprint is None:
        return Settings()
    try:
        recorded = {k: fingerprint[k] for k in Settings().index_fingerprint()
                    if k != "embed_max_tokens"}  # absent from indexes made before it existed
        return Settings(**recorded, embed_max_tokens=fingerprint.get("embed_max_tokens", 0))
    except (KeyError, TypeError, BadSettings) as e:
        raise IndexDamaged(f"{folder}: its recorded build settings are unusable ({e}); "
                           f"run: assistant check --index {folder}") from None


class Store:
    """Opens (or, with `create`, creates) an index folder; reads are cheap, writes go through
    `apply`. A folder without an index raises NoIndex unless `create` is set.

    Many threads may read through one Store; a writer needs a Store of its own, since `apply`
    changes the dense index of its view in place before committing. `view` is the generation
    in force, one immutable value a search holds whole.
    """

    def __init__(self, folder: str | Path, settings: Settings, create: bool = True):
        self.folder = Path(folder)
        self.settings = settings
        self.generations = Generations(self.folder)
        if not (self.folder / DB_FILE).is_file():
            if not create:
                raise NoIndex(self.folder)
            self._create()
        self.rows = Rows(self.folder, self._fingerprint())
        self._refreshing = threading.Lock()
        self.view = build_view(-1, None, KeywordIndex([]), EMPTY_LAYOUT)
        self.refresh()

    # -- reading ---------------------------------------------------------------------------

    def refresh(self, force: bool = False, dense: DenseIndex | None = None) -> None:
        """Load the generation in force if another process (or we) committed a newer one.

        The generation number and the passage rows are read in one SQLite snapshot, so a
        reader sees the old state or the new one, never a mix. A writer that has just
        committed passes the dense index it wrote, sparing a re-read of the whole file.
        """
        with self._refreshing:
            for attempt in range(3):
                try:
                    with self.rows.snapshot():
                        generation = int(self.rows.meta("generation", "0"))
                        if generation == self.view.generation and not force:
                            return
                        loaded, keyword, saved = self.generations.load(
                            generation, int(self.rows.meta("dim", "0")), dense is None)
                        # None: written before generations kept their layout
                        layout = saved or layout_of_runs(self.rows.view_rows())
                    dense = loaded if dense is None else dense  # an empty index is falsy
                    break
                except FileNotFoundError as e:
                    if attempt == 2:  # not a writer's clean-up racing us: the files are gone
                        raise IndexDamaged(f"{self.folder}: {e}; run: assistant check --repair "
                                           f"--index {self.folder}") from None
            self.view = build_view(generation, dense, keyword, layout)

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        """The passages with these ids, text cut from the stored article."""
        return self.rows.passages(ids)

    def hashes(self, ids: list[str]) -> dict[str, str]:
        """The content hash of each stored article among `ids`."""
        return self.rows.hashes(ids)

    def indexed_text(self, title: str, text: str) -> str:
        """What the models see of a passage: its title gives it context."""
        return indexed_text(title, text, self.settings.title_context)

    def known_vectors(self, article_ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vector of each passage of these articles, by indexed text: an updated
        article (a live blog, a correction) embeds only the passages whose text changed."""
        texts, dense = self.rows.indexed_texts("a.id", article_ids), self.view.dense
        if not texts or dense is None:
            return {}
        return dict(zip(texts.values(), dense.vectors_of(np.fromiter(texts, np.int64))))

    def stats(self) -> dict:
        view = self.view
        return {**self.rows.counts(), "model": self.settings.model,
                "dim": int(self.rows.meta("dim", "0")), "sources": len(view.source_names),
                "generation": view.generation, "keyword_tombstones": self.tombstones(),
                "keyword_segments": len(view.keyword.segments),
                "index_bytes": self.generations.bytes(), "index": str(self.folder.resolve())}

    def tombstones(self) -> int:
        """Deleted passages still in the BM25 files (masked at search; `compact` drops them)."""
        ids = self.view.keyword.ids
        return int(len(ids) - self._live(ids).sum())

    def _live(self, ids: np.ndarray) -> np.ndarray:
        """True where a passage id is stored in the generation in force."""
        return by_id(self.view.days, ids, -1) >= 0

    # -- writing ---------------------------------------------------------------------------

    def lock(self):
        """Hold the index's write lock; a second writer is refused, never interleaved."""
        return self.generations.lock()

    def apply(self, puts: list[Put], deletes: Sequence[str] = (), progress: bool = False) -> int:
        """Store `puts` (replacing their old passages) and drop `deletes`, all or nothing.

        Returns the number of articles deleted. Call it with the lock held. progress: bars
        for the BM25 merges this batch may set off (minutes at millions of passages).
        """
        self.refresh()
        with self._transaction():
            change = self.rows.write(puts, deletes)
            generation, dense = self._write(change, progress)
        self._published(generation, dense)
        return change.deleted

    def compact(self, progress: bool = False, force: bool = False) -> int:
        """Rebuild the BM25 index without tombstones, as a new generation; returns how many
        were dropped. Call it with the lock held. force: rebuild even without tombstones
        (BM25 files written before passages' token counts were kept)."""
        self.refresh()
        dropped = self.tombstones()
        if dropped or force:
            with self._transaction():
                generation, dense = self._write(Change(compact=True), progress)
            self._published(generation, dense)
        return dropped

    @contextmanager
    def _transaction(self):
        """One SQLite transaction for a write's row edits and the generation they need: its
        commit makes both visible, or neither."""
        try:
            with self.rows.transaction():
                yield
                crash_point("commit")
        except BaseException:
            self.refresh(force=True)  # the in-memory dense index may have changed: reload it
            raise
        crash_point("after-commit")

    def _published(self, generation: int, dense: DenseIndex | None) -> None:
        """After a commit: read it in, drop what it replaced, rewrite the manifest."""
        self.refresh(dense=dense)
        self.generations.clean_up(generation)
        self.write_manifest()

    def _write(self, change: Change, progress: bool) -> tuple[int, DenseIndex | None]:
        """Write the generation that follows `change` and name it in the transaction."""
        generation = int(self.rows.meta("generation", "0")) + 1
        dense = self.view.dense
        if change.vectors is not None:
            if dense is None:
                dense = DenseIndex(change.vectors.shape[1], vectors=VectorFile(
                    self.folder / VECTOR_FILE, change.vectors.shape[1]))
                self.rows.set_meta("dim", change.vectors.shape[1])
            dense.add(np.asarray(change.added), change.vectors)
        if dense is not None:
            dense.remove(list(change.removed))
        layout = layout_after(self.view.layout, change.removed, change.added, change.dates,
                              change.sources)
        self.generations.write(generation, dense, self._keyword(change, generation, progress),
                               layout)
        self.rows.set_meta("generation", generation)
        return generation, dense

    def _keyword(self, change: Change, generation: int, progress: bool) -> KeywordIndex:
        """The BM25 index after `change`: its new passages as a segment, full tiers merged;
        deleted passages stay in their segments as tombstones until a compaction."""
        keyword, texts = self.view.keyword, self.rows.keyword_texts
        if change.compact:
            return keyword.compacted(self._live, texts, f"s{generation:06d}c", progress)
        if change.added:
            keyword = keyword.added(Segment.build(f"s{generation:06d}", list(change.added),
                                                  texts(change.added)))
        new, gone = np.asarray(change.added, np.int64), np.asarray(change.removed, np.int64)
        return keyword.merged(
            lambda ids: (self._live(ids) | np.isin(ids, new)) & ~np.isin(ids, gone),
            texts, f"s{generation:06d}m", progress)

    def write_manifest(self) -> None:
        """Rewrite manifest.json, the readable copy of the build settings and the contents."""
        self.generations.write_manifest(self._fingerprint(), self.stats())

    def _create(self) -> None:
        """Make an empty index, in one step as far as anyone can see: the database is built
        aside, the manifest is put in place, and only then is the database renamed to its
        name. A process killed at any point leaves no index or an empty, complete one, which
        `check` passes; the folder's first commit can be minutes away, behind the model's
        loading and a batch's embedding."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.lock():  # of two processes creating it at once, the second is refused
            if (self.folder / DB_FILE).is_file():
                return
            aside = build_aside(self.folder, self._fingerprint())
            self.generations.write_manifest(self._fingerprint(), EMPTY, "create")
            os.replace(aside, self.folder / DB_FILE)

    def _fingerprint(self) -> dict:
        return {"format": FORMAT, **self.settings.index_fingerprint()}

    def close(self) -> None:
        self.rows.close()
