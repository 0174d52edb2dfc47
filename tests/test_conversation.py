"""Follow-up questions read with the previous turn: a pure rule on tiny inline questions."""
import pytest

from assistant.conversation import Turn, with_context

DARTS = Turn("Who won the darts world championship?",
             "Luke Humphries beat Luke Littler 7-4 in the final.")
GAZA = Turn("How many people died in the Gaza war this week?")


@pytest.mark.parametrize("question, previous, expected", [
    # A first question, or a question that stands on its own, is left as typed.
    ("Who won the darts world championship?", None, "Who won the darts world championship?"),
    ("How much did the Valemouth library renovation cost?", DARTS,
     "How much did the Valemouth library renovation cost?"),
    # A pronoun: the previous key words, and the names from its lead (who "he" likely is).
    ("Who is he?", DARTS, "Who is he? darts world championship Luke Humphries Littler"),
    # Too short to stand alone.
    ("Why?", DARTS, "Why? darts world championship"),
    ("", DARTS, ""),
    # "What about X" with a new name: X takes the place of the previous names.
    ("what about Ukraine?", GAZA, "what about Ukraine? many people died war this week"),
    ("And Ukraine?", GAZA, "And Ukraine? many people died war this week"),
    # "What about x" without a name keeps everything (a time word too, without its "this").
    ("what about last month?", GAZA, "what about last month? many people died Gaza war"),
    # Words the question already has (by stem) are not repeated.
    ("What about the Gaza deaths?", GAZA, "What about the Gaza deaths? many people died war this week"),
])
def test_with_context(question, previous, expected):
    assert with_context(question, previous) == expected


def test_carried_words_are_capped():
    long_turn = Turn(" ".join(f"word{i}" for i in range(40)))
    assert len(with_context("Why?", long_turn).split()) == 1 + 12


def test_answer_reads_a_follow_up_with_the_previous_answer(small_assistant):
    first = small_assistant.answer("Who won the chess championship?", k=3)
    assert first.read_as == ""  # nothing before it: read as typed
    follow = small_assistant.answer("Who is he?", k=3, previous=first)
    assert follow.question == "Who is he?"
    assert follow.read_as.startswith("Who is he? ") and "chess" in follow.read_as
    assert follow.to_dict()["read_as"] == follow.read_as
    alone = small_assistant.answer("Who is he?", k=3)
    assert alone.read_as == "" and alone.to_dict()["read_as"] == "Who is he?"
