"""The int8 gate: an export whose vectors stray from its fp32 graph is refused, naming the
model and the backends to use instead (tiny inline graphs stand for the two runs; the real
MiniLM's exports pass it in test_embedding.py, which exports both backends)."""
import numpy as np
import pytest

from assistant.embedding.int8_check import MIN_COSINE, Int8Strays, agreement, check_int8


def test_agreement_is_the_mean_cosine_of_paired_rows():
    assert agreement(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[2.0, 0.0], [1.0, 0.0]])) == 0.5
    rows = np.random.default_rng(0).normal(size=(5, 8))
    assert agreement(rows, 3 * rows) == pytest.approx(1.0)
    assert agreement(rows, -rows) == pytest.approx(-1.0)


def embed(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A stand-in graph: each token id picks a direction; the text is their masked mean."""
    table = np.random.default_rng(1).normal(size=(50, 16))
    return (table[ids] * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)


ENCODED = [[1, 5, 7, 2], [1, 9, 2], [1, 3, 3, 4, 8, 2]]


def test_a_faithful_int8_graph_passes_with_its_score():
    close = lambda ids, mask: embed(ids, mask) + 0.01  # rounding error
    assert MIN_COSINE < check_int8("m", "onnx-int8", ENCODED, embed, close) <= 1.0


def test_a_straying_int8_graph_is_refused_naming_the_model_and_what_works():
    stray = lambda ids, mask: embed(ids[:, ::-1] % 7, mask)  # other vectors
    with pytest.raises(Int8Strays, match=r"mpnet: its onnx-int8 graph strays .* use "
                                         r"embed_backend='torch' or 'openvino-int8'"):
        check_int8("mpnet", "onnx-int8", ENCODED, embed, stray)
    with pytest.raises(Int8Strays, match=r"use embed_backend='torch' for this model"):
        check_int8("mpnet", "openvino-int8", ENCODED, embed, stray)
