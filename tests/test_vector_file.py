"""The float16 vectors an approximate index re-scores with: on disk beside the generations,
written only for new ids, found again by a reader, filled in for an index made before them."""
from __future__ import annotations

import faiss
import numpy as np
import pytest

from assistant.storage.dense import FILE, DenseIndex
from assistant.storage.vector_file import FILE as VECTOR_FILE, VectorFile
from assistant.tools.synthetic import centres, near


def test_rows_by_id_on_disk_and_in_memory(tmp_path):
    rows = np.eye(3, 4, dtype=np.float32)
    for store in (VectorFile(tmp_path / VECTOR_FILE, 4), VectorFile(None, 4)):
        store.write(np.array([2, 5, 9]), rows)
        store.write(np.array([10]), rows[:1] * 0.5)
        got, held = store.read(np.array([5, 10, 3, 11]))
        assert held.tolist() == [True, True, True, False] and len(store) == 11
        assert np.allclose(got[:2], [rows[1], rows[0] * 0.5]) and not got[2:].any()
    assert (tmp_path / VECTOR_FILE).stat().st_size == 11 * 4 * 2
    again, _ = VectorFile(tmp_path / VECTOR_FILE, 4).read(np.array([9]))
    assert np.allclose(again, rows[2])


@pytest.mark.slow  # trains IVF-PQ codes
def test_an_approximate_index_rescores_from_the_file_a_reader_finds(tmp_path):
    generation = tmp_path / "gen-000001"
    generation.mkdir()
    vectors = near(centres(3000), 3000, 0)
    index = DenseIndex(384, exact_limit=500, vectors=VectorFile(tmp_path / VECTOR_FILE, 384))
    index.add(np.arange(3000), vectors)
    index.save(generation)
    reader = DenseIndex.load(generation, 384, exact_limit=500)
    assert reader.approximate and len(reader.vectors) == 3000
    ids, scores = reader.search(vectors[7], 5)
    assert ids[0] == 7 and abs(scores[0] - 1.0) < 1e-3  # the exact cosine, not the code's


def test_an_index_older_than_its_file_fills_it_at_its_first_write(tmp_path):
    generation = tmp_path / "gen-000001"
    generation.mkdir()
    vectors = near(centres(1000), 30, 0)
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(384))
    flat.add_with_ids(vectors[:20], np.arange(20, dtype=np.int64))
    faiss.write_index(flat, str(generation / FILE))  # as a release before the file wrote it
    old = DenseIndex.load(generation, 384)
    assert not old.vectors.exists
    old.add(np.arange(20, 30), vectors[20:])
    got, held = VectorFile(tmp_path / VECTOR_FILE, 384).read(np.arange(30))
    assert held.all() and np.allclose(got, vectors, atol=1e-3)
