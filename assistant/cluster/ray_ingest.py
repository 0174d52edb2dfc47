"""Embedding on Ray: an actor pool, each actor loading the model once (embedding is nearly all
of an ingest's time). Files ingested with Ray run the whole pipeline (ray_pipeline.py);
articles handed over in memory (uploads, the API) are embedded by the same pool here.

Every stage asks for a fraction of a CPU: with Ray Data's default whole CPUs, an actor pool
takes every CPU of a small node and the pipeline waits forever for one to read with (a known
Ray issue). Rows keep their order, so vectors come back as a serial `Embedder.embed` gives
them.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import partial

import numpy as np

POOL = 2  # embedding actors
EMBED_CPUS = 0.25  # each
TEXTS = 64  # passages a row of RayEmbedding carries
ROWS = 4  # rows an actor embeds at a time


class Embed:
    """One pool actor: batch after batch of rows, each row's `texts` (a pickled list)
    embedded into its `vectors` (a pickled array); the model loaded once, when there is a
    first text (an ingest of unchanged articles loads none)."""

    def __init__(self, make_embedder):
        self.make_embedder, self.embedder = make_embedder, None

    def __call__(self, batch: dict) -> dict:
        batch = dict(batch)
        texts = [pickle.loads(t) for t in batch.pop("texts")]
        flat = [t for some in texts for t in some]
        if flat and self.embedder is None:
            self.embedder = self.make_embedder()
        unique = {t: i for i, t in enumerate(dict.fromkeys(flat))}  # a wire copy's: once
        vectors = (self.embedder.embed(list(unique))[[unique[t] for t in flat]] if flat
                   else np.zeros((0, 1), dtype=np.float32))
        ends = np.cumsum([len(some) for some in texts])[:-1]
        batch["vectors"] = np.array([pickle.dumps(v) for v in np.split(vectors, ends)]
                                    if texts else [], dtype=object)
        return batch


def embedded(ds, make_embedder, pool: int, rows: int):
    """`ds` with each row's `texts` replaced by their `vectors`, computed by the pool."""
    from ray.data import ActorPoolStrategy

    return ds.map_batches(Embed, fn_constructor_args=(make_embedder,), batch_format="numpy",
                          batch_size=rows, num_cpus=EMBED_CPUS,
                          compute=ActorPoolStrategy(size=pool))


@dataclass
class RayEmbedding:
    """What `ClusterAssistant` embeds articles given in memory with when Ray is on:
    `embed(texts)` gives the rows a serial `Embedder.embed` gives, computed by the pool."""

    make_embedder: object  # a picklable callable giving an Embedder, run in each actor
    pool: int = POOL

    def embed(self, texts: list[str], bar=None) -> np.ndarray:
        """bar: a progress bar, ticked as the pool's batches come back."""
        import ray.data

        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        rows = [{"texts": pickle.dumps(texts[i:i + TEXTS])} for i in range(0, len(texts), TEXTS)]
        ds = embedded(ray.data.from_items(rows, override_num_blocks=min(len(rows), 64)),
                      self.make_embedder, self.pool, ROWS)
        out = []
        for row in ds.iter_rows():
            out.append(pickle.loads(row["vectors"]))
            if bar is not None:
                bar.update(len(out[-1]))
        return np.vstack(out)


def model_loader(settings):
    """The settings' model, loaded where it is called (in each pool actor)."""
    return partial(load_model, settings.model, settings.embed_batch, settings.embed_backend,
                   settings.embed_stall_s, settings.embed_max_tokens)


def load_model(model: str, batch: int, backend: str, stall_s: float, max_tokens: int = 0):
    """`embedder.load_embedder`, looked up where it runs: what travels to an actor is this
    function's name, never the loader of the process that sent it."""
    from ..embedding import embedder

    return embedder.load_embedder(model, batch, backend, stall_s=stall_s, max_tokens=max_tokens)
