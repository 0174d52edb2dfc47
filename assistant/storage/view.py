"""What a search reads of one index generation, as one immutable value."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the view holds the indexes; they never import it
    from .dense import DenseIndex
    from .keyword import KeywordIndex


def day(iso: str) -> int:
    return Date.fromisoformat(iso).toordinal()


@dataclass(frozen=True)
class View:
    """One generation of the search indexes with its date and outlet arrays, swapped whole:
    a search that holds a view never sees parts of two generations."""

    generation: int
    dense: DenseIndex | None
    keyword: KeywordIndex
    days: np.ndarray  # by passage id: the article's day ordinal; -1 where no passage
    source_code: np.ndarray  # by passage id: index into source_names; -1 where no passage
    source_names: list[str]

    @property
    def layout(self) -> Layout:
        return self.days, self.source_code, self.source_names

    def allowed(self, as_of: str | None = None, since: str | None = None,
                sources: list[str] | None = None) -> np.ndarray:
        """A mask by passage id: True where a passage may be shown for these filters."""
        # One pass over the days, not three (10 ms a question at ten million passages): as
        # unsigned numbers, first <= day <= last is day - first <= last - first, and a missing
        # passage's -1 wraps round to past any day.
        first = day(since) if since else 0
        last = day(as_of) if as_of else np.iinfo(np.int32).max
        if last < first:
            return np.zeros(len(self.days), dtype=bool)
        offset = np.asarray(self.days, dtype=np.int32).view(np.uint32)  # int32 days: no copy
        if first:
            offset = offset - np.uint32(first)
        mask = offset <= np.uint32(last - first)
        if sources:
            codes = [self.source_names.index(s) for s in sources if s in self.source_names]
            mask &= np.isin(self.source_code, codes)
        return mask


# (days, source codes, source names) by passage id: the part of a view SQLite decides. Each
# generation folder keeps its own, so opening an index reads three small files instead of
# grouping every passage row (22 of 24 s at 10M passages), and a write updates the arrays
# instead of re-reading them.
Layout = tuple[np.ndarray, np.ndarray, list[str]]
LAYOUT_FILES = ("days.npy", "sources.npy", "sources.json")
EMPTY_LAYOUT: Layout = (np.zeros(0, np.int32), np.zeros(0, np.int32), [])


def build_view(generation: int, dense, keyword, layout: Layout) -> View:
    return View(generation, dense, keyword, *layout)


def layout_of_runs(runs: list[tuple[int, int, str, str]]) -> Layout:
    """runs: (first passage id, last, article date, article source), covering every passage
    (rows.view_rows): what an index written before layouts were saved is opened with."""
    size = max((r[1] for r in runs), default=0) + 1
    days = np.full(size, -1, dtype=np.int32)
    names = sorted({r[3] for r in runs})
    codes = {name: i for i, name in enumerate(names)}
    source_code = np.full(size, -1, dtype=np.int32)
    if runs:
        first = np.fromiter((r[0] for r in runs), dtype=np.int64, count=len(runs))
        count = np.fromiter((r[1] for r in runs), dtype=np.int64, count=len(runs)) - first + 1
        ordinals = {iso: day(iso) for iso in {r[2] for r in runs}}  # dates repeat: parse once
        ids = np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())
        days[ids] = np.repeat(np.fromiter((ordinals[r[2]] for r in runs), np.int32, len(runs)),
                              count)
        source_code[ids] = np.repeat(np.fromiter((codes[r[3]] for r in runs), np.int32,
                                                 len(runs)), count)
    return days, source_code, names


def layout_after(layout: Layout, removed, added, dates, sources) -> Layout:
    """`layout` once the passages `removed` are gone and `added` arrived, the i-th of them
    from an article dated `dates[i]` of outlet `sources[i]`. Outlet names stay sorted and
    only those with a passage stay, as `layout_of_runs` reads them from the rows."""
    old_days, old_codes, old_names = layout
    size = max(len(old_days), max(added, default=-1) + 1)
    days = np.full(size, -1, dtype=np.int32)
    codes = np.full(size, -1, dtype=np.int32)
    days[:len(old_days)], codes[:len(old_codes)] = old_days, old_codes
    removed, added = np.asarray(removed, np.int64), np.asarray(added, np.int64)
    days[removed] = codes[removed] = -1
    names = sorted(set(old_names) | set(sources))
    codes = recoded(codes, old_names, names)
    ordinals = {iso: day(iso) for iso in set(dates)}
    days[added] = np.fromiter((ordinals[d] for d in dates), np.int32, len(added))
    position = {name: i for i, name in enumerate(names)}
    codes[added] = np.fromiter((position[s] for s in sources), np.int32, len(added))
    used = np.bincount(codes[codes >= 0], minlength=len(names)) > 0
    if not used.all():
        kept = [name for name, use in zip(names, used) if use]
        codes, names = recoded(codes, names, kept), kept
    return days, codes, names


def recoded(codes: np.ndarray, old: list[str], new: list[str]) -> np.ndarray:
    """Source codes into `old` as codes into `new` (-1 stays -1, as does a name `new` lacks)."""
    position = {name: i for i, name in enumerate(new)}
    remap = np.array([position.get(name, -1) for name in old] + [-1], dtype=np.int32)
    return remap[codes]  # code -1 reads the last entry


def save_layout(folder: Path, layout: Layout) -> None:
    days, codes, names = layout
    np.save(folder / LAYOUT_FILES[0], days, allow_pickle=False)
    np.save(folder / LAYOUT_FILES[1], codes, allow_pickle=False)
    (folder / LAYOUT_FILES[2]).write_text(json.dumps(names))


def load_layout(folder: Path) -> Layout | None:
    """The layout saved with a generation; None for a folder written before layouts were."""
    if not (folder / LAYOUT_FILES[2]).exists():
        return None
    days = np.load(folder / LAYOUT_FILES[0], allow_pickle=False)
    codes = np.load(folder / LAYOUT_FILES[1], allow_pickle=False)
    return days, codes, json.loads((folder / LAYOUT_FILES[2]).read_text())
