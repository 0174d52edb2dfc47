"""What re-ingesting updated articles costs: a live blog's new entry, a correction. Ingests the
first N articles of a set, then each again with one paragraph added, into copies of that index
in turns: once as `Assistant` does it (the passages an update keeps keep their vectors), once
with every passage of the updated articles embedded again, as the release before did.

    python scripts/update_trial.py ../shared/eval/rtqa-2025 WORK [N=150] [ROUNDS=2]

Prints seconds and passages/s of each re-ingest, and the ratio. With --ray, the same through
`ingest --ray` on a local Ray into a 2-shard collection: the updated articles' ingest timed
against the first ingest of the same articles, in the same run (an update embedded every
passage again before the pipeline kept vectors, as a first ingest does).
"""
from __future__ import annotations

import shutil
import sys
import time
from dataclasses import replace
from itertools import islice
from pathlib import Path

from assistant import Assistant
from assistant.reading.articles import read_articles
from assistant.types import Article

ADDED = ("\n\nUpdate: officials confirmed the figures later in the day and said that a fuller "
         "statement would follow.")


class EmbedAgain:
    """The store of an index, less what an update can reuse: the release before's ingest."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def known_vectors(self, article_ids: list[str]) -> dict:
        return {}


def reingest(base: Path, work: Path, updated: list[Article], again: bool) -> float:
    index = work / "run"
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(base, index)
    assistant = Assistant(index)
    assistant.embedder.embed(["warm"])
    if again:
        assistant.store = EmbedAgain(assistant.store)  # type: ignore[assignment]
    started = time.perf_counter()
    report = assistant.ingest_articles(updated)
    seconds = time.perf_counter() - started
    assert report.updated == len(updated), report
    assistant.close()
    return seconds


def on_ray(articles: list[Article], work: Path) -> None:
    import json

    from assistant.cluster import catalog, connect
    from assistant.config import Settings

    root = work / "collection"
    shutil.rmtree(root, ignore_errors=True)
    catalog.create(root, 2, Settings())
    files = {}
    for name, some in (("first", articles),
                       ("updated", [replace(a, text=a.text + ADDED) for a in articles])):
        files[name] = work / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps(a.__dict__) + "\n" for a in some))
    collection = connect(root, ray="local")
    collection.ingest([files["first"]])  # Ray up, the pool's model loaded: not timed
    collection.collection.shards.stop()  # actors named after the folder: none over the old one
    shutil.rmtree(root)
    catalog.create(root, 2, Settings())
    collection = connect(root, ray="local")
    for name, path in files.items():
        started = time.perf_counter()
        report = collection.ingest([path])
        seconds = time.perf_counter() - started
        print(f"{name}: {seconds:.1f} s, {report.summary()}")
    collection.collection.shards.stop()


def main() -> None:
    set_dir, work = Path(sys.argv[1]), Path(sys.argv[2])
    numbers = [a for a in sys.argv[3:] if a != "--ray"]
    n = int(numbers[0]) if numbers else 150
    rounds = int(numbers[1]) if len(numbers) > 1 else 2
    articles = [a for a in islice(read_articles([set_dir / "corpus.jsonl.gz"]), n)
                if isinstance(a, Article)]
    if "--ray" in sys.argv:
        return on_ray(articles, work)
    base = work / "base"
    shutil.rmtree(base, ignore_errors=True)
    first = Assistant(base)
    passages = first.ingest_articles(articles).passages
    first.close()
    updated = [replace(a, text=a.text + ADDED) for a in articles]
    times: dict[str, list[float]] = {"embedding every passage again": [], "reusing vectors": []}
    for _ in range(rounds):
        for name, seconds in times.items():
            seconds.append(reingest(base, work, updated, name.startswith("embedding")))
    print(f"{len(articles)} articles, {passages:,} passages, each updated with one paragraph")
    for name, seconds in times.items():
        print(f"{name}: " + ", ".join(f"{s:.1f} s ({passages / s:,.1f} passages/s)"
                                      for s in seconds))
    before, after = (min(s) for s in times.values())
    print(f"ratio (best of each): {before / after:.1f}x")


if __name__ == "__main__":
    main()
