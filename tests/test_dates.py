"""Time phrases are read against a fixed as-of date, never past it."""
import pytest

from assistant.search.dates import time_window

AS_OF = "2024-01-05"  # a Friday


@pytest.mark.parametrize("question, start, end", [
    ("Who won the darts final this week?", "2023-12-30", "2024-01-05"),
    ("What happened yesterday in Gaza?", "2024-01-04", "2024-01-05"),
    ("Which company announced layoffs last month?", "2023-12-01", "2023-12-31"),
    ("Who won the election in 2023?", "2023-01-01", "2023-12-31"),
    ("What did the ministry say three days ago?", "2024-01-02", "2024-01-04"),
    ("What was agreed in March 2023?", "2023-03-01", "2023-03-31"),
])
def test_phrases(question, start, end):
    window = time_window(question, AS_OF)
    assert (window.start, window.end) == (start, end)


@pytest.mark.parametrize("question", ["Who won the darts?", "What did May say to the Commons?"])
def test_no_time_phrase(question):
    assert time_window(question, AS_OF) is None


def test_time_phrase_whatever_the_date():
    from assistant.search.dates import time_phrase

    assert time_phrase("How many died in the war this week?") == "this week"
    assert time_phrase("What about Ukraine?") is None


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "0001-01-03"])
@pytest.mark.parametrize("question", ["What happened yesterday?", "Who won this week?",
                                      "What was said last month?", "What happened in 2023?"])
def test_phrases_at_the_edges_of_the_calendar_never_overflow(question, as_of):
    window = time_window(question, as_of)
    assert window is None or window.start <= window.end <= as_of
