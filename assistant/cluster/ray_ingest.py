"""Ray Data for a collection's ingest: each batch's passages embedded across the cluster by
an actor pool, each actor loading the model once (embedding is nearly all of an ingest's
time; reading, hashing, skipping unchanged articles and chunking stay in the one writer).

Every stage asks for a fraction of a CPU: with Ray Data's default whole CPUs, an actor pool
takes every CPU of a small node and the pipeline waits forever for one to read with (a known
Ray issue). Results come back in passage order, so the writer numbers and stores them as a
serial ingest does: same ids, same vectors, same counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

POOL = 2  # embedding actors
EMBED_CPUS = 0.25  # each
BATCH = 256  # passages an actor embeds at a time


class Embed:
    """One pool actor: the model loaded once, then batch after batch of passages."""

    def __init__(self, make_embedder):
        self.embedder = make_embedder()

    def __call__(self, batch: dict) -> dict:
        return {"i": batch["i"], "vector": self.embedder.embed(list(batch["text"]))}


@dataclass
class RayEmbedding:
    """What `ClusterAssistant` embeds an ingest batch with when Ray is on: `embed(texts)`
    gives the rows a serial `Embedder.embed` gives, computed by the pool."""

    make_embedder: object  # a picklable callable giving an Embedder, run in each actor
    pool: int = POOL

    def embed(self, texts: list[str], bar=None) -> np.ndarray:
        """bar: a progress bar, ticked as the pool's batches come back."""
        import ray.data

        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        ds = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)],
                                 override_num_blocks=min(len(texts),
                                                         max(self.pool, len(texts) // BATCH), 64))
        ds = ds.map_batches(Embed, fn_constructor_args=(self.make_embedder,),
                            batch_size=BATCH, batch_format="numpy", num_cpus=EMBED_CPUS,
                            concurrency=self.pool)
        order, rows = [], []
        for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
            order.append(batch["i"])
            rows.append(batch["vector"])
            if bar is not None:
                bar.update(len(batch["i"]))
        return np.vstack(rows)[np.argsort(np.concatenate(order), kind="stable")]


def model_loader(settings):
    """The settings' model, loaded where it is called (in each pool actor)."""
    from ..embedding import load_embedder

    return partial(load_embedder, settings.model, settings.embed_batch,
                   settings.embed_backend, stall_s=settings.embed_stall_s)
