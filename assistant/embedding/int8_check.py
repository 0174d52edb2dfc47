"""An int8 export is kept only if it agrees with the fp32 graph it came from.

Quantisation can fail without a sound: onnxruntime's dynamic int8 on a CPU without VNNI
(AVX2 alone) saturates on all-mpnet-base-v2, whose vectors then had a cosine of 0.01-0.11 to
fp32, while MiniLM's kept 0.99. An index embedded that way answers with noise and says
nothing, so the export fails instead, naming the model and the backends that work.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .model_parts import ModelNotFound

MIN_COSINE = 0.95  # MiniLM's int8 graphs keep 0.99 on every CPU measured
SAMPLE = 12  # texts compared: a second or two for MiniLM, a few for mpnet

Run = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (ids, mask) -> one vector a row


class Int8Strays(ModelNotFound):
    """The int8 graph's vectors are not the model's: this backend cannot run this model here."""


def agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean cosine of paired rows.

    Example: agreement(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[2.0, 0.0], [1.0, 0.0]]))
    -> 0.5
    """
    a = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    b = candidate / np.linalg.norm(candidate, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).mean())


def check_int8(model: str, backend: str, encoded: Sequence[Sequence[int]], fp32: Run,
               int8: Run) -> float:
    """The agreement of `int8` with `fp32` over the token ids `encoded` (one text a run, so
    no padding enters); Int8Strays below MIN_COSINE."""
    reference, candidate = [], []
    for ids in encoded[:SAMPLE]:
        row = np.array([ids], dtype=np.int64)
        mask = np.ones_like(row)
        reference.append(fp32(row, mask)[0])
        candidate.append(int8(row, mask)[0])
    score = agreement(np.array(reference), np.array(candidate))
    if score < MIN_COSINE:
        others = "embed_backend='torch'" + (" or 'openvino-int8'" if backend == "onnx-int8" else "")
        raise Int8Strays(f"{model}: its {backend} graph strays from the model (mean cosine "
                         f"{score:.2f} to fp32, under {MIN_COSINE}), so it is not used; "
                         f"use {others} for this model on this CPU")
    return score
