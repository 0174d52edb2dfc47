"""The serving half of `bench --store-scale`, run as a fresh process (as a server opens an
index) so that the builder's heap does not blur its memory: open the index, answer the
generated questions through `Assistant.answer`, print one JSON line of figures.

    python -m assistant.tools.bench_serve INDEX QUESTIONS.pkl
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np

from ..search.stages import recording
from .measure import rss_anon_mb, rss_mb, timed


class StoryVectors:
    """An `Embedder` that costs what the real model costs on each question but answers with
    the vector of the story asked about: generated passages carry generated vectors, which
    the model's own would not find."""

    def __init__(self, model):
        self.model, self.dim, self.vector = model, model.dim, None

    def embed(self, texts: list[str]) -> np.ndarray:
        self.model.embed(texts)
        return np.repeat(self.vector[None].astype(np.float32), len(texts), axis=0)


def main(folder: str, questions: str) -> None:
    from ..assistant import Assistant
    from ..embedding.embedder import load_embedder
    from ..storage.store import settings_for_index

    settings = settings_for_index(folder)  # built by an earlier run, maybe on another CPU
    asked = pickle.loads(Path(questions).read_bytes())
    story = StoryVectors(load_embedder(settings.model, settings.embed_batch,
                                       settings.embed_backend))
    before = rss_anon_mb()
    with timed() as opening:
        assistant = Assistant(folder, settings, create=False, embedder=story)
    seconds, found, dense, stages = [], [], [], []
    for text, vector, as_of, number in asked:
        story.vector = vector
        with timed() as t, recording() as spent:
            answer = assistant.answer(text, k=10, as_of=as_of)
        seconds.append(t.s)
        stages.append(spent)
        found.append(any(p.title.startswith(f"Story {number} ") for p in answer.passages))
        view = assistant.store.view
        assert view.dense is not None
        # The dense stage's own top 10: of the candidates it gives fusion.
        dense.append(view.dense.search(vector, settings.candidates,
                                       view.allowed(as_of))[0][:10].tolist())
    own, resident = rss_anon_mb(), rss_mb()
    print(json.dumps({"open": opening.s, "anon": own - before, "own": own, "rss": resident,
                      "seconds": seconds, "found": found, "dense": dense,
                      "stages": stages}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
