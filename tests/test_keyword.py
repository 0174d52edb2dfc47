"""The segmented BM25 index: the same ranking as one index, merges, tombstones, files."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.reading.words import stemmer, stopwords, tokenize
from assistant.storage.bm25_segment import Segment
from assistant.storage.keyword import MERGE_FACTOR, KeywordIndex, _tier
from assistant.storage.postings import by_id

# Every document has four indexed words, so all segments share one average length and a
# segmented index must score exactly as one index over all of them.
DOCS = [
    "harbour ferry strike ends", "ferry captain named today", "bakery prize sourdough bread",
    "council budget vote delayed", "ferry fares rise sharply", "storm closes harbour road",
    "bread prices rise sharply", "council names new captain", "harbour storm damage assessed",
    "sourdough contest judges named",
]
IDS = np.arange(100, 100 + len(DOCS))


def segmented(sizes: list[int]) -> KeywordIndex:
    segments, start = [], 0
    for n, size in enumerate(sizes):
        segments.append(Segment.build(f"s{n}", IDS[start:start + size], DOCS[start:start + size]))
        start += size
    return KeywordIndex(segments)


def bm25s_index(texts: list[str]):
    """A plain bm25s index, tokenised as the assistant tokenises."""
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenize(texts, stopwords=stopwords(), stemmer=stemmer(),
                              show_progress=False), show_progress=False)
    return bm25


def as_dict(found) -> dict[int, float]:
    ids, scores = found
    return {int(i): round(float(s), 4) for i, s in zip(ids, scores)}


def test_one_segment_scores_as_bm25s_does():
    index = KeywordIndex.build(IDS, DOCS)
    plain = bm25s_index(DOCS)
    expected = plain.get_scores(tokenize(["ferry harbour"])[0])
    found = as_dict(index.search("ferry harbour", k=20))
    assert found == {int(IDS[i]): round(float(s), 4) for i, s in enumerate(expected) if s > 0}


@pytest.mark.parametrize("sizes", [[5, 5], [3, 3, 4], [1, 2, 3, 4]])
def test_segments_rank_and_score_as_one_index(sizes):
    whole = as_dict(KeywordIndex.build(IDS, DOCS).search("harbour ferry captain", k=20))
    split = as_dict(segmented(sizes).search("harbour ferry captain", k=20))
    assert split == whole and len(whole) >= 5


def test_search_masks_what_is_not_allowed_and_tombstones_past_the_mask():
    index = segmented([5, 5])
    allowed = np.zeros(105, dtype=bool)  # ids 105..109 lie past the mask: tombstones
    allowed[[100, 104]] = True
    ids, _ = index.search("ferry", k=20, allowed=allowed)
    assert sorted(ids.tolist()) == [100, 104]
    assert index.search("ferry", k=1)[0].tolist() and not index.search("zebra", k=5)[0].size


def texts_of(ids) -> list[str]:
    return [DOCS[int(i) - 100] for i in ids]


def test_merge_policy_joins_a_full_tier_and_rewrites_mostly_dead_segments():
    assert [_tier(n) for n in (1, 1000, 3999, 4000, 16000)] == [0, 0, 0, 1, 2]
    everyone = lambda ids: np.ones(len(ids), dtype=bool)
    short = segmented([2] * (MERGE_FACTOR - 1))
    assert len(short.merged(everyone, texts_of, "m").segments) == MERGE_FACTOR - 1
    index = segmented([2] * MERGE_FACTOR + [2])  # five small segments: one tier, past the factor
    merged = index.merged(everyone, texts_of, "m")
    assert len(merged.segments) == 1 and sorted(merged.ids.tolist()) == IDS.tolist()
    assert as_dict(merged.search("bread council", 20)) == as_dict(index.search("bread council", 20))
    capped = pytest.MonkeyPatch.context()
    with capped as patch:  # a merge that would pass the cap waits (for ever: the tier is full)
        patch.setattr("assistant.storage.keyword.MAX_MERGED", 2 * MERGE_FACTOR - 1)
        assert len(index.merged(everyone, texts_of, "m").segments) == MERGE_FACTOR + 1

    few = segmented([4, 6])
    dead = {100, 101, 102, 103, 104}  # all of the first segment, one of the second
    alive = lambda ids: ~np.isin(ids, list(dead))
    kept = few.merged(alive, texts_of, "m")
    assert [len(s) for s in kept.segments] == [6]  # the dead segment is gone, unrebuilt
    dead |= {105, 106, 107}
    rewritten = few.merged(alive, texts_of, "m")
    assert rewritten.ids.tolist() == [108, 109] and rewritten.segments[0].name.startswith("m-")
    assert few.compacted(alive, texts_of, "c").ids.tolist() == [108, 109]


def test_saved_segments_are_linked_not_rewritten_and_load_back(tmp_path):
    first = segmented([4, 6])
    first.save(tmp_path / "gen-1")
    loaded = KeywordIndex.load(tmp_path / "gen-1")
    assert as_dict(loaded.search("ferry storm", 20)) == as_dict(first.search("ferry storm", 20))
    grown = loaded.added(Segment.build("s2", [200], ["ferry storm warning issued"]))
    grown.save(tmp_path / "gen-2")
    old, new = (tmp_path / "gen-1" / "keyword" / "s0"), (tmp_path / "gen-2" / "keyword" / "s0")
    assert sorted(p.name for p in old.iterdir()) == sorted(p.name for p in new.iterdir())
    assert all((old / p.name).stat().st_ino == p.stat().st_ino for p in new.iterdir())
    again = KeywordIndex.load(tmp_path / "gen-2")
    assert [s.name for s in again.segments] == ["s0", "s1", "s2"]
    assert again.search("warning", 5)[0].tolist() == [200]


def test_an_index_written_as_one_bm25s_folder_still_loads(tmp_path):
    """Format 1 indexes (one bm25s index straight in keyword/) open without a rebuild."""
    folder = tmp_path / "gen-1" / "keyword"
    folder.mkdir(parents=True)
    bm25 = bm25s_index(DOCS)
    bm25.save(str(folder), show_progress=False)
    np.save(folder / "ids.npy", IDS)
    legacy = KeywordIndex.load(tmp_path / "gen-1")
    assert len(legacy.segments) == 1
    assert as_dict(legacy.search("bread", 5)) == as_dict(KeywordIndex.build(IDS, DOCS).search("bread", 5))


def test_by_id_reads_past_the_end_as_missing():
    assert by_id(np.array([5, 6]), np.array([1, 3, 0]), -1).tolist() == [6, -1, 5]
    assert by_id(np.array([True]), np.array([0, 9]), False).tolist() == [True, False]


def brute_bm25(docs: list[list[str]], question: list[str], k1=1.5, b=0.75) -> dict[int, float]:
    """BM25 (Lucene's idf) of every document, by counting: what pruning must reproduce."""
    import math

    average = sum(map(len, docs)) / len(docs)
    out = {}
    for n, doc in enumerate(docs):
        score = 0.0
        for token in question:
            tf = doc.count(token)
            if tf:
                df = sum(token in d for d in docs)
                idf = math.log1p((len(docs) - df + 0.5) / (df + 0.5))
                score += idf * tf / (tf + k1 * (1 - b + b * len(doc) / average))
        if score > 0:
            out[n] = round(score, 4)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_pruned_top_k_is_the_top_k_of_every_posting_read(seed, monkeypatch):
    """Common words (in most documents) with rare ones (in few): the search reads the rare
    ones' postings and only looks the common ones up, yet finds the same top k, same scores."""
    from assistant.storage import keyword

    monkeypatch.setattr(keyword, "SHORT_LIST", 0)  # prune even lists this short
    rng = np.random.default_rng(seed)
    common = ["ferry", "harbour", "council", "bread", "storm"]
    rare = ["zanzibar", "quokka", "tiramisu", "obelisk"]
    words = common * 20 + rare
    docs = [list(rng.choice(words, rng.integers(3, 12))) for _ in range(300)]
    texts = [" ".join(d) for d in docs]
    tokenized = tokenize(texts)  # stemmed, as the index stores them
    index = KeywordIndex([Segment.build(f"s{n}", np.arange(a, b), texts[a:b])
                          for n, (a, b) in enumerate([(0, 120), (120, 250), (250, 300)])])
    allowed = rng.random(300) < 0.7
    lookups = []
    read = Segment.token_scores
    monkeypatch.setattr(Segment, "token_scores", lambda self, column, *args: lookups.append(
        len(args) == 3) or read(self, column, *args))
    for question in ("zanzibar ferry harbour", "quokka obelisk storm bread council",
                     "tiramisu ferry"):
        want = brute_bm25(tokenized, tokenize([question])[0])
        want = {i: s for i, s in want.items() if allowed[i]}
        for k in (3, 10):
            ids, scores = index.search(question, k, allowed)
            best = sorted(want.items(), key=lambda item: (-item[1], item[0]))[:k]
            assert [round(float(s), 4) for s in scores] == [s for _, s in best]
            assert set(ids.tolist()) <= set(want)
    assert any(lookups) and not all(lookups)  # some postings were only looked up


@pytest.mark.parametrize("seed", range(3))
def test_common_words_only_score_the_passages_rarer_words_found(seed, monkeypatch):
    """Past the `common` share, a word adds to the passages its rarer words found and finds
    none itself; when every word is that common, the search is the exact one."""
    from assistant.storage import keyword

    monkeypatch.setattr(keyword, "SHORT_LIST", 0)  # lists this short count as long ones
    rng = np.random.default_rng(seed)
    words = ["ferry", "harbour", "council"] * 30 + ["zanzibar", "quokka"]
    docs = [list(rng.choice(words, rng.integers(3, 12))) for _ in range(300)]
    texts = [" ".join(d) for d in docs]
    tokenized = tokenize(texts)
    index = KeywordIndex([Segment.build(f"s{n}", np.arange(a, b), texts[a:b])
                          for n, (a, b) in enumerate([(0, 140), (140, 300)])])

    def check(question: str, k: int, common: float, want: dict[int, float]) -> None:
        ids, scores = index.search(question, k, common=common)
        best = sorted(want.values(), reverse=True)[:k]  # ties may break either way by 1e-9
        assert [round(float(s), 4) for s in scores] == best
        assert set(ids.tolist()) <= set(want)

    everything = brute_bm25(tokenized, tokenize(["zanzibar ferry harbour"])[0])
    rare = [n for n, doc in enumerate(tokenized) if "zanzibar" in doc]
    assert 0 < len(rare) < 40  # fewer than k: the exact search would add ferry-only passages
    check("zanzibar ferry harbour", 40, 0.2, {n: everything[n] for n in rare})
    check("zanzibar ferry harbour", 40, 0.0, everything)
    check("ferry harbour", 40, 0.2, brute_bm25(tokenized, tokenize(["ferry harbour"])[0]))
    monkeypatch.setattr(keyword, "SHORT_LIST", 1000)  # no list is long enough to skip
    check("zanzibar ferry harbour", 40, 0.2, everything)


def test_few_postings_sum_as_a_segment_wide_accumulator_sums_them():
    """Few postings are summed over the positions held, many over the whole segment: the
    same positions and the same sums, to the last bit."""
    from assistant.storage.postings import summed

    rng = np.random.default_rng(0)
    parts = {t: (np.sort(rng.choice(500, n, replace=False)), rng.random(n))
             for t, n in ((0, 40), (2, 7), (3, 60))}
    dense = summed(parts, 4, 500)  # 107 postings: not few for 500 passages
    sparse = summed(parts, 4, 10_000)  # but few for 10,000
    assert dense[0].tolist() == sparse[0].tolist() and len(dense[0]) > 60
    assert dense[1].tobytes() == sparse[1].tobytes()
