"""Does running the keyword search beside the dense one pay, one question at a time? Asks the
`bench --store-scale` questions of a built scale index both ways in turn, in one process.

    python scripts/overlap_trial.py 10000000 WORK/store-10000000

The index is one `assistant bench --no-ingest --store-scale N --work WORK` built (or reused).
"Inline" swaps retrieve.BESIDE for a pool that runs the keyword search at once, in the asking
thread, as the release before did. Prints p50 / p95 / p99 and each stage's median for both.
"""
from __future__ import annotations

import sys
import time
from concurrent.futures import Future

from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.embedding.embedder import load_embedder
from assistant.search import retrieve
from assistant.search.stages import recording
from assistant.tools import synthetic
from assistant.tools.bench_scale import stage_medians
from assistant.tools.bench_serve import StoryVectors
from assistant.tools.measure import percentiles


class Inline:
    """A pool whose `submit` runs the call before it returns."""

    def submit(self, fn, *args) -> Future:
        done: Future = Future()
        done.set_result(fn(*args))
        return done


def main(size: int, folder: str) -> None:
    settings = Settings()
    asked = synthetic.Collection(size).questions(200)
    story = StoryVectors(load_embedder(settings.model, settings.embed_batch,
                                       settings.embed_backend))
    started = time.perf_counter()
    assistant = Assistant(folder, settings, create=False, embedder=story)
    print(f"open {time.perf_counter() - started:.1f} s")
    pools = {"beside": retrieve.BESIDE, "inline": Inline()}
    seconds: dict[str, list[float]] = {mode: [] for mode in pools}
    stages: dict[str, list[dict]] = {mode: [] for mode in pools}
    for n, (text, vector, as_of, _) in enumerate(asked):
        story.vector = vector
        for mode in sorted(pools, reverse=n % 2 == 1):  # each way first on half the questions
            retrieve.BESIDE = pools[mode]
            with recording() as spent:
                began = time.perf_counter()
                assistant.answer(text, k=10, as_of=as_of)
                seconds[mode].append(time.perf_counter() - began)
            stages[mode].append(spent)
    retrieve.BESIDE = pools["beside"]
    for mode in pools:
        print(f"{mode}: p50 / p95 / p99 {percentiles(seconds[mode])} ms; stage medians: "
              f"{stage_medians(stages[mode])}")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
