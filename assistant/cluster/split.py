"""One index split into a sharded collection without embedding again: its articles, spans and
stored vectors handed to the collection's writer in passage order, so the collection numbers
the passages as the index did (for an index that never replaced or deleted an article, the
very same ids). The benchmark builds its collections this way.
"""
from __future__ import annotations

from contextlib import closing
from itertools import groupby
from pathlib import Path

import numpy as np

from ..storage.rows import Put, read_only
from ..storage.store import Store
from ..types import Article
from .ingest import Writer

BATCH = 1000  # articles an epoch


def split(index: str | Path, root: str | Path, settings) -> int:
    """Copy the index at `index` into the (empty) collection at `root`; returns passages."""
    index = Path(index)
    source = Store(index, settings, create=False)
    dense = source.view.dense
    writer = Writer(root, settings)
    copied = 0
    try:
        with closing(read_only(index)) as db, \
                writer.lock():
            rows = db.execute(
                'SELECT a.id, a.title, a.date, a.text, a.url, a.source, a.hash, p.id, p.start,'
                ' p."end" FROM passages p JOIN articles a ON a.id = p.article_id ORDER BY p.id')
            puts = []
            for _, group in groupby(rows, key=lambda r: r[0]):
                passages = list(group)
                ids = np.array([r[7] for r in passages], dtype=np.int64)
                assert dense is not None  # an index with passages holds their vectors
                puts.append(Put(Article(*passages[0][:6]), passages[0][6],
                                [(r[8], r[9]) for r in passages],
                                dense._index.reconstruct_batch(ids)))
                if len(puts) == BATCH:
                    copied += _apply(writer, puts)
                    puts = []
            copied += _apply(writer, puts)
    finally:
        writer.close()
        source.close()
    return copied


def _apply(writer: Writer, puts: list[Put]) -> int:
    if puts:
        writer.apply(puts)
    return sum(len(p.spans) for p in puts)
