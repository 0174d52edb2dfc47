"""Collection-wide BM25: passages' token counts make any split (segments, shards) score as
one index; an index written before they were kept is found by `check` and repaired."""
import numpy as np
import pytest
from helpers import small_settings

from assistant import Assistant
from assistant.reading.words import stemmer, stopwords, tokenize
from assistant.storage.bm25_segment import LENGTHS_FILE, Segment
from assistant.storage.check import Kind, check, repair
from assistant.storage.keyword import KeywordIndex, Totals

# Passages of unequal lengths: each segment's own average differs from the collection's.
DOCS = [
    "harbour ferry strike ends after a long strike at the harbour", "ferry captain named",
    "bakery prize for sourdough bread, bread and more bread from the ferry town",
    "council budget vote delayed by the harbour ferry ferry ferry council", "ferry fares rise",
    "storm closes harbour road", "the council names a new ferry captain for the harbour",
]
IDS = np.arange(10, 10 + len(DOCS))
QUESTION = "ferry harbour captain strike"


def split(sizes: list[int]) -> list[KeywordIndex]:
    """One KeywordIndex a part, as shards hold them."""
    parts, start = [], 0
    for n, size in enumerate(sizes):
        parts.append(KeywordIndex([Segment.build(f"s{n}", IDS[start:start + size],
                                                 DOCS[start:start + size])]))
        start += size
    return parts


def test_one_index_scores_as_bm25s_does_with_unequal_lengths():
    import bm25s

    plain = bm25s.BM25()
    plain.index(bm25s.tokenize(DOCS, stopwords=stopwords(), stemmer=stemmer(),
                               show_progress=False), show_progress=False)
    expected = plain.get_scores(tokenize([QUESTION])[0])
    ids, scores = KeywordIndex.build(IDS, DOCS).search(QUESTION, k=20)
    found = dict(zip(ids.tolist(), scores.tolist()))
    assert len(found) == int((expected > 0).sum()) >= 5
    for position, score in enumerate(expected):
        assert found.get(int(IDS[position]), 0.0) == pytest.approx(score, rel=1e-6)


@pytest.mark.parametrize("sizes", [[7], [3, 4], [1, 2, 4], [2, 2, 2, 1]])
def test_parts_scored_with_summed_totals_merge_to_one_index(sizes):
    whole = KeywordIndex.build(IDS, DOCS).search(QUESTION, k=20)
    parts = split(sizes)
    totals = sum((p.totals(QUESTION) for p in parts[1:]), parts[0].totals(QUESTION))
    assert isinstance(totals, Totals) and totals.docs == len(DOCS)
    found = [p.search(QUESTION, 20, totals=totals) for p in parts]
    ids, scores = np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])
    order = np.lexsort((ids, -scores))
    np.testing.assert_array_equal(ids[order], whole[0])
    np.testing.assert_array_equal(scores[order], whole[1])  # bit for bit


def test_segments_of_one_index_score_as_one_segment():
    segmented = KeywordIndex([s for part in split([2, 5]) for s in part.segments])
    for got, want in zip(segmented.search(QUESTION, 20), KeywordIndex.build(IDS, DOCS)
                         .search(QUESTION, 20)):
        np.testing.assert_array_equal(got, want)


def test_an_index_without_token_counts_is_found_and_repaired(small_copy):
    a = Assistant(small_copy, small_settings())
    before = [p.text for p in a.ask("rail strike union", k=5)]
    a.close()
    removed = list(small_copy.glob(f"gen-*/keyword/*/{LENGTHS_FILE}"))
    assert removed
    for path in removed:
        path.unlink()
    [problem] = check(small_copy, small_settings())
    assert problem.kind is Kind.TOKEN_COUNTS and "--repair" in problem.message
    assert repair(small_copy, small_settings()) == [
        "rebuilt the keyword index with its passages' token counts"]
    assert check(small_copy, small_settings()) == []
    a = Assistant(small_copy, small_settings())
    assert a.store.view.keyword.exact
    assert [p.text for p in a.ask("rail strike union", k=5)] == before
    a.close()
