"""What a search reads of one index generation, as one immutable value."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
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

    def allowed(self, as_of: str | None = None, since: str | None = None,
                sources: list[str] | None = None) -> np.ndarray:
        """A mask by passage id: True where a passage may be shown for these filters."""
        mask = self.days >= 0
        if as_of:
            mask &= self.days <= day(as_of)
        if since:
            mask &= self.days >= day(since)
        if sources:
            codes = [self.source_names.index(s) for s in sources if s in self.source_names]
            mask &= np.isin(self.source_code, codes)
        return mask


def build_view(generation: int, dense, keyword, runs: list[tuple[int, int, str, str]]) -> View:
    """runs: (first passage id, last, article date, article source), covering every passage."""
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
    return View(generation, dense, keyword, days, source_code, names)
