"""Words and sentences as search, rankers and lead all read them: pure, on tiny inline texts."""
import pytest

from assistant.reading.words import plain, sentences, stems, tokenize, words


@pytest.mark.parametrize("text, expected", [
    ("", []),
    ("   ", []),
    ("One sentence without an end", ["One sentence without an end"]),
    ("Dr. Lund spoke. It rained.", ["Dr. Lund spoke.", "It rained."]),
    ("J. Smith won 7-4. Then he left!", ["J. Smith won 7-4.", "Then he left!"]),
    ('He said "stop." Nobody did.', ['He said "stop."', "Nobody did."]),
    ("Was it 3.5 percent? 12 people said so.", ["Was it 3.5 percent?", "12 people said so."]),
    ("first para\n\nsecond para", ["first para", "second para"]),
    ("lower case. after a stop", ["lower case. after a stop"]),
])
def test_sentences(text, expected):
    assert [text[s:e] for s, e in sentences(text)] == expected


def test_words_are_stemmed_and_skip_stopwords():
    assert [stem for _, _, stem in words("Who won the strikes in Harbourton?")] == \
        ["strike", "harbourton"]
    assert words("Who won the strikes?") == [(12, 19, "strike")]
    assert words("") == []


def test_stems_and_tokens_match_the_words():
    assert stems("The elections were held") == [(4, "elect"), (19, "held")]
    assert tokenize(["The elections were held"]) == [["elect", "held"]]


@pytest.mark.parametrize("text, expected", [
    ("Ferry <b>back</b> &amp; running <script>x</script>", "Ferry back & running x"),
    ('Won by <a href="https://ex.org/t">Spurs</a>?', "Won by Spurs?"),
    ("Is 3 < 5 and 7 > 4?", "Is 3 < 5 and 7 > 4?"),  # comparisons are no tags
    ("  two\n\nlines  ", "two lines"),
    ("<!-- note -->kept", "kept"),
])
def test_plain_keeps_what_a_reader_sees(text, expected):
    assert plain(text) == expected
