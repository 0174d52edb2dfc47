"""Chunking: passages are exact spans of the article, within the bound, on natural breaks."""
import pytest
from hypothesis import given, settings, strategies as st

from assistant.reading.chunking import chunk, pack, paragraphs, split_long


@pytest.mark.parametrize("text, limit, expected", [
    ("", 10, []),
    ("   \n\n  ", 10, []),
    ("One.", 10, [(0, 4)]),
    ("One.\n\nTwo.", 10, [(0, 10)]),
    ("One.\n\nTwo.", 8, [(0, 4), (6, 10)]),
    ("One. Two. Three.", 10, [(0, 9), (10, 16)]),
    ("abcdefghij klm", 5, [(0, 5), (5, 10), (11, 14)]),
])
def test_chunk(text, limit, expected):
    assert chunk(text, limit) == expected


def test_dropped_paragraph_is_left_out_and_never_bridged():
    text = "Real news.\n\nSign up now\n\nMore news."
    spans = chunk(text, 1000, drop=lambda p: p.startswith("Sign up"))
    assert [text[s:e] for s, e in spans] == ["Real news.", "More news."]


def test_paragraphs_and_pack():
    assert paragraphs("a\n\n b \n \n\nc") == [(0, 1), (4, 5), (10, 11)]
    assert pack([(0, 4), (6, 10), (12, 20)], 10) == [(0, 10), (12, 20)]


def test_long_paragraph_splits_on_sentences_not_mid_word():
    text = " ".join(f"Sentence number {i} says something." for i in range(100))
    spans = split_long(text, 0, len(text), 200)
    assert all(text[s:e].startswith("Sentence") and text[s:e].endswith(".") for s, e in spans)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n\t\u00e9🎯")), max_size=3000),
       st.integers(min_value=1, max_value=400))
def test_any_text_gives_exact_bounded_ordered_spans_covering_every_word(text, limit):
    spans = chunk(text, limit)
    covered = [False] * len(text)
    last_end = 0
    for s, e in spans:
        assert 0 < e - s <= limit
        assert s >= last_end
        assert not text[s].isspace() and not text[e - 1].isspace()
        last_end = e
        covered[s:e] = [True] * (e - s)
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
