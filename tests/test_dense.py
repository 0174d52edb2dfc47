"""Dense search with real FAISS: exact while small, approximate past the limit, same contract."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.storage.dense import DenseIndex
from assistant.tools.synthetic import centres as synthetic_centres, near as synthetic

CENTRES = synthetic_centres(6000)  # a topic a hundred passages, as in the bench's scale runs


def clustered(n: int, seed: int = 0) -> np.ndarray:
    return synthetic(CENTRES, n, seed)


def exact_top(vectors, ids, query, k, allowed=None):
    scores = vectors @ query
    if allowed is not None:
        scores = np.where(allowed[ids], scores, -np.inf)
    return set(ids[np.argsort(-scores)[:k]][np.isfinite(np.sort(-scores)[:k])])


@pytest.fixture(scope="module")
def data():
    vectors = clustered(6000)
    return np.arange(1, 6001, dtype=np.int64) * 3, vectors  # ids: sparse, not positions


# Tests that train IVF-PQ codes are slow: 6 s for the module on a quiet machine, 25 s beside
# another test (FAISS trains on OpenMP threads).
@pytest.fixture(scope="module")
def approximate(data):
    ids, vectors = data
    index = DenseIndex(384, exact_limit=1000)
    for start in range(0, len(ids), 1500):
        index.add(ids[start:start + 1500], vectors[start:start + 1500])
    return index


def test_small_index_is_exact_and_filtered():
    ids, vectors = np.array([5, 9, 12]), np.eye(3, 4, dtype=np.float32)
    index = DenseIndex(4)
    index.add(ids, vectors)
    allowed = np.zeros(13, dtype=bool)
    allowed[[9, 12]] = True
    assert not index.approximate
    assert index.search(vectors[0], 2)[0].tolist()[0] == 5
    assert 5 not in index.search(vectors[0], 3, allowed)[0].tolist()
    assert index.search(vectors[0], 0)[0].size == 0


def test_empty_index_finds_nothing():
    assert DenseIndex(4).search(np.ones(4, dtype=np.float32), 5)[0].size == 0


@pytest.mark.slow
def test_switches_to_approximate_past_the_limit(approximate, data):
    assert approximate.approximate and len(approximate) == len(data[0])
    assert sorted(approximate.ids().tolist()) == data[0].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("share", [1.0, 0.3, 0.05])
def test_approximate_recall_at_10_under_as_of_masks(approximate, data, share):
    ids, vectors = data
    allowed = np.zeros(ids.max() + 1, dtype=bool)
    allowed[ids[: int(len(ids) * share)]] = True  # older passages first, as an as-of date does
    mask = None if share == 1.0 else allowed
    recalls = []
    for query in clustered(50, seed=1):
        found, _ = approximate.search(query, 10, mask)
        assert allowed[found].all()
        recalls.append(len(set(found.tolist()) & exact_top(vectors, ids, query, 10, mask)) / 10)
    assert np.mean(recalls) >= 0.95


@pytest.mark.slow
def test_approximate_removes_in_place_and_survives_save(approximate, data, tmp_path):
    ids, vectors = data
    index = DenseIndex.load(_saved(approximate, tmp_path), 384, exact_limit=1000)
    assert index.approximate
    index.remove([int(ids[0])])
    assert len(index) == len(ids) - 1 and int(ids[0]) not in index.ids()
    assert int(ids[0]) not in index.search(vectors[0], 10)[0].tolist()


@pytest.mark.slow
def test_refits_its_lists_when_the_collection_doubles(data):
    ids, vectors = data
    index = DenseIndex(384, exact_limit=1000)
    index.add(ids[:1100], vectors[:1100])
    first = index._index.nlist
    index.add(ids[1100:], vectors[1100:])
    assert index._index.nlist > first and len(index) == len(ids)


def _saved(index: DenseIndex, folder):
    index.save(folder)
    return folder


def test_probe_share_grows_past_a_million_vectors_up_to_its_cap():
    from assistant.storage.dense import MAX_PROBE_SHARE, PROBE_SHARE, probe_share_for

    assert probe_share_for(10_000) == probe_share_for(1_000_000) == PROBE_SHARE
    shares = [probe_share_for(n) for n in (2_000_000, 5_000_000, 10_000_000, 200_000_000)]
    assert shares == sorted(shares) and shares[0] > PROBE_SHARE
    assert shares[-1] == MAX_PROBE_SHARE
