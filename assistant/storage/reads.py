"""An index read without writing anything: what a Ray Data task asks of a shard while the
collection's writer may hold it (the hashes it compares with, the vectors an update keeps),
and what a rebuild re-ingests, each through `rows.read_only`."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np

from ..types import Article
from .rows import article_hashes, indexed_texts, read_only
from .vector_file import FILE as VECTOR_FILE, VectorFile


def stored_hashes(folder: Path, ids: list[str]) -> dict[str, str]:
    """The content hash of each stored article among `ids` (a Ray task comparing before it
    embeds)."""
    with closing(read_only(folder)) as db:
        return article_hashes(db, ids)


def stored_articles(folder: Path) -> Iterator[Article]:
    """Every stored article (what a rebuild re-ingests)."""
    with closing(read_only(folder)) as db:
        for row in db.execute("SELECT id, title, date, text, url, source FROM articles"):
            yield Article(*row)


def stored_vectors(folder: Path, article_ids: list[str], title_context: bool
                   ) -> dict[str, np.ndarray]:
    """{indexed text: stored vector} of these articles' passages, as `Store.known_vectors`
    gives them, from the vector file; a passage whose row the file lacks is left out (and
    embedded again), never guessed."""
    with closing(read_only(folder)) as db:
        texts = indexed_texts(db, "a.id", article_ids, title_context)
        row = db.execute("SELECT value FROM meta WHERE key='dim'").fetchone()
    if not texts or row is None or not int(row[0]):
        return {}
    vectors, held = VectorFile(Path(folder) / VECTOR_FILE, int(row[0])).read(
        np.fromiter(texts, np.int64, len(texts)))
    return {text: vector for text, vector, ok in zip(texts.values(), vectors, held) if ok}
