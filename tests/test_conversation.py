"""Follow-up questions read with the previous turn: a table of written conversation pairs (the
previous question, lead and top title; the new question; the exact reading), then one
conversation through `Assistant.answer(previous=...)` on a tiny index written here."""
import time
from types import SimpleNamespace

import pytest
from helpers import small_settings

from assistant.answering.conversation import MAX_CARRIED, Turn, follow_up, with_context

DARTS = Turn("Who won the PDC world darts championship?",
             "Luke Humphries beat Luke Littler 7-4 in the final at Alexandra Palace.",
             "Humphries crowned world darts champion")
NOTRE = Turn("What caused the Notre Dame fire?",
             "The fire started in the roof of Notre-Dame cathedral on Monday evening, the Paris "
             "fire brigade said.", "Fire engulfs Notre-Dame cathedral in Paris")
# "coronavirus" typed after NOTRE: a new topic, so its turn is the bare word, nothing carried.
CORONA = Turn("coronavirus", "Italy reported 1,200 new coronavirus cases on Tuesday.",
              "Coronavirus cases rise in Italy")
GAZA = Turn("How many people died in the Gaza war this week?")
FLOODS = Turn("How many people died in the London floods?")
STRIKE = Turn("Why are rail workers striking?", "The RMT union called the strike over pay.",
              "Rail strike halts trains across Britain")
CABINET = Turn("Who resigned from the cabinet this week?")
TIDAL = Turn("What happened at the Harbourton tidal station?",
             "Harbourton's tidal power station began sending electricity to the grid on Sunday.",
             "Harbourton switches on the first tidal power station on the north coast")
CHESS = Turn("Who won the Northern Open chess championship?",
             "Amara Osei, a 19-year-old student from Leeds, won the Northern Open on Saturday.",
             "Amara Osei wins the Northern Open chess championship on tiebreaks")
# Turns that were follow-ups themselves: their question is the one they were read as.
ABOUT_HIM = Turn("Who is he? PDC world darts championship Luke Humphries",
                 "Luke Humphries, 29, lives in Newport Pagnell.", "Humphries at home")
UKRAINE = Turn("what about Ukraine? many people died this week")
TITLED = Turn("What happened today?", "", "Storm Ciara Closes Schools Across Wales")

ROWS = [
    # Stands alone: its own names or key words, no pronoun left hanging; never rewritten.
    (NOTRE, "Who won the PDC world darts championship?", ""),
    (NOTRE, "coronavirus", ""),  # a bare topic is a new topic (was 'coronavirus Notre Dame fire')
    (CORONA, "Brexit", ""),
    (NOTRE, "Notre Dame fire", ""),
    (DARTS, "How much did the Valemouth library renovation cost?", ""),
    (GAZA, "What is the inflation rate in the eurozone?", ""),  # key words, no capitals
    (DARTS, "Is it true that Biden won?", ""),  # "it" with nothing to refer to
    (DARTS, "Did Luke Littler say he would retire?", ""),  # "he" after a name
    (STRIKE, "Did the strikers say they would return?", ""),  # "they" after a group
    (NOTRE, "Who said that the strike was over?", ""),  # "that" as a conjunction
    (DARTS, "What happened in Paris this week?", ""),  # "this week" is a time, not a reference
    (DARTS, "And who won the darts?", ""),  # "and" before a question of its own
    # Goes on with the last topic: no topic of its own; the title's names come along.
    (NOTRE, "what happened next?", "what happened next? Notre Dame fire Paris"),
    (DARTS, "What happened next?", "What happened next? PDC world darts championship"),
    (NOTRE, "how many died?", "how many died? Notre Dame fire Paris"),
    (FLOODS, "How many people were injured?", "How many people were injured? London floods"),
    (NOTRE, "Tell me more", "Tell me more Notre Dame fire Paris"),
    (NOTRE, "What did the police say?", "What did the police say? Notre Dame fire Paris"),
    (NOTRE, "What happened last week?", "What happened last week? Notre Dame fire Paris"),
    (GAZA, "Who won this week?", "Who won this week? Gaza war"),  # its own time, not the old one
    (DARTS, "and then?", "and then? PDC world darts championship"),
    # A bare "why?" asks the whole question again, its verb and time too.
    (CABINET, "Why?", "Why? resigned cabinet this week"),
    (DARTS, "When?", "When? PDC world darts championship"),
    # A pronoun without a referent: the topic, and for a person the lead's first name.
    (DARTS, "Who is he?", "Who is he? PDC world darts championship Luke Humphries"),
    (CHESS, "How old is she?", "How old is she? Northern Open chess championship Amara Osei"),
    (CHESS, "Where is she from?", "Where is she from? Northern Open chess championship Amara Osei"),
    (DARTS, "What about his brother?",
     "What about his brother? PDC world darts championship Luke Humphries"),
    (STRIKE, "What did they demand?", "What did they demand? rail workers striking RMT Britain"),
    (TIDAL, "How much power will it make?", "How much power will it make? Harbourton tidal station"),
    (TIDAL, "What happened there?", "What happened there? Harbourton tidal station"),
    (NOTRE, "Why did that happen?", "Why did that happen? Notre Dame fire Paris"),
    (NOTRE, "Is that true?", "Is that true? Notre Dame fire Paris"),
    (DARTS, "What did this cost?", "What did this cost? PDC world darts championship"),
    # ... and only the referent when the question names something of its own.
    (DARTS, "Did he win the Ballon d'Or?", "Did he win the Ballon d'Or? Luke Humphries"),
    (NOTRE, "What did Macron say about it?", "What did Macron say about it? Notre Dame fire"),
    # What about X: the last question again, X in place of its topic (never the old topic).
    (CORONA, "What about Brexit?", ""),  # was read with 'coronavirus fire'
    (NOTRE, "What about Brexit?", "What about Brexit? caused"),
    (NOTRE, "How about coronavirus?", "How about coronavirus? caused"),
    (GAZA, "what about Ukraine?", "what about Ukraine? many people died this week"),
    (GAZA, "And Ukraine?", "And Ukraine? many people died this week"),
    (CABINET, "What about the shadow cabinet?", "What about the shadow cabinet? resigned this week"),
    (GAZA, "what about last month?", "what about last month? many people died Gaza war"),
    (FLOODS, "what about the injured?", "what about the injured? London floods"),
    # ... and in X: a setting for the same story, so X replaces only its own kind.
    (FLOODS, "And in Paris?", "And in Paris? many people died floods"),
    # Chains: a turn read as a follow-up carries its context on, but only its own topic.
    (ABOUT_HIM, "How old is he?", "How old is he? PDC world darts championship Luke Humphries"),
    (UKRAINE, "And Russia?", "And Russia? many people died this week"),  # no Gaza, no Ukraine
    (CORONA, "what happened next?", "what happened next? coronavirus Italy"),  # no Notre Dame
    # A Title Cased title's capitals are style: its words come as key words.
    (TITLED, "What happened next?", "What happened next? Storm Ciara Closes Schools Across Wales today"),
]


@pytest.mark.parametrize("previous, question, expected", ROWS)
def test_reading(previous, question, expected):
    assert with_context(question, previous) == (expected or question)


def test_the_table_is_big_and_each_row_tells():
    """40+ pairs; a row expecting the question as typed could pass with no rule at all, so
    at least half the rows must expect a rewriting."""
    assert len(ROWS) >= 40
    assert sum(bool(expected) for *_, expected in ROWS) >= len(ROWS) / 2


@pytest.mark.parametrize("question, kind", [
    ("Who won the PDC world darts championship?", ""), ("Brexit", ""), ("coronavirus?", ""),
    ("what happened next?", "more"), ("Why?", "more"), ("how many died?", "more"),
    ("And in Paris?", "in"), ("What about Brexit?", "about"), ("and yesterday?", "about"),
    ("Who is he?", "person"), ("What did their leader say?", "person"),
    ("How much power will it make?", "thing"), ("What happened there?", "thing"),
])
def test_follow_up_is_decided_by_the_question_alone(question, kind):
    assert follow_up(question) == kind


@pytest.mark.parametrize("question", ["Who is he?", "what happened next?", ""])
def test_without_a_previous_turn_nothing_changes(question):
    assert with_context(question, None) == question
    assert with_context("", DARTS) == ""  # a blank question stays blank, for the caller to refuse


def test_carried_words_are_capped():
    long_turn = Turn(" ".join(f"topic{i}" for i in range(40)))
    assert len(with_context("Why?", long_turn).split()) == 1 + MAX_CARRIED


def test_a_turn_keeps_the_title_only_of_an_answered_question():
    top = SimpleNamespace(title="Fire engulfs Notre-Dame cathedral in Paris")
    lead = SimpleNamespace(text="The fire started in the roof.")
    answered = SimpleNamespace(question="What caused it?", read_as="What caused it? Notre Dame",
                               lead=lead, passages=(top,), answered=True)
    assert Turn.after(answered) == Turn("What caused it? Notre Dame",
                                        "The fire started in the roof.", top.title)
    nearest = SimpleNamespace(question="coronavirus", read_as="", lead=None, passages=(top,),
                              answered=False)
    assert Turn.after(nearest) == Turn("coronavirus", "", "")
    assert Turn.after(None) is None


def test_reading_is_fast():
    """Every chat message goes through it: the whole table well under a second."""
    with_context("What happened yesterday?", NOTRE)  # loads the stemmer and the date parser
    started = time.perf_counter()
    for previous, question, _ in ROWS:
        with_context(question, previous)
    assert (time.perf_counter() - started) / len(ROWS) < 0.01


ARTICLES = {
    "fire": ("2019-04-15", "Fire engulfs Notre-Dame cathedral in Paris",
             ("A fire broke out in the roof of Notre-Dame cathedral in Paris on Monday evening. "
              "The spire collapsed as firefighters fought the blaze for hours.")),
    "pledges": ("2019-04-17", "Billionaires pledge a fortune to rebuild Notre-Dame",
                ("Donors pledged almost a billion euros to rebuild Notre-Dame cathedral in Paris "
                 "after the fire, and the president promised to rebuild within five years.")),
    "hospitals": ("2020-04-20", "Governments pledge money to rebuild hospitals",
                  ("Governments pledged money to rebuild hospitals; how much money each gets "
                   "will be decided next month.")),
    "corona": ("2020-03-10", "Coronavirus cases rise in Italy",
               ("Italy reported more coronavirus cases on Tuesday as the coronavirus outbreak "
                "spread across the north.")),
    "brexit": ("2020-02-01", "Brexit: the United Kingdom leaves the European Union",
               ("Brexit took effect at midnight as the United Kingdom left the European Union. "
                "Questions about what Brexit means for trade remain.")),
}


@pytest.fixture()
def news(tmp_path):
    """A tiny index of the five articles above, embedded by the stand-in embedder; without
    the recency boost, which would put the newest article first whatever was asked."""
    from assistant import Assistant

    folder = tmp_path / "articles"
    folder.mkdir()
    for name, (day, title, text) in ARTICLES.items():
        (folder / f"{name}.txt").write_text(f"date {day} {title}\n\n{text}\n", encoding="utf-8")
    assistant = Assistant(tmp_path / "index", small_settings(recency_boost=0.0))
    assert assistant.ingest([folder]).added == len(ARTICLES)
    yield assistant
    assistant.close()


def top(answer) -> str:
    return answer.passages[0].title


def test_a_conversation_follows_and_changes_topic(news):
    first = news.answer("What caused the Notre Dame fire?", k=2)
    assert first.read_as == "" and top(first) == ARTICLES["fire"][1]
    # Alone, the follow-up finds the other pledges; read with the fire, the cathedral's.
    alone = news.answer("How much money was pledged to rebuild it?", k=2)
    assert top(alone) == ARTICLES["hospitals"][1]
    follow = news.answer("How much money was pledged to rebuild it?", k=2, previous=first)
    assert "Notre Dame" in follow.read_as and top(follow) == ARTICLES["pledges"][1]
    # A bare topic is a new one: nothing of the fire comes along, and its turn carries none.
    corona = news.answer("coronavirus", k=2, previous=follow)
    assert corona.read_as == "" and top(corona) == ARTICLES["corona"][1]
    brexit = news.answer("What about Brexit?", k=2, previous=corona)
    assert brexit.read_as == "" and top(brexit) == ARTICLES["brexit"][1]
    assert "Notre" not in top(brexit) and "coronavirus" not in brexit.read_as
    assert brexit.to_dict()["read_as"] == "What about Brexit?"
    # ... while "what happened next?" stays on the conversation's topic.
    after = news.answer("what happened next?", k=2, previous=corona)
    assert after.read_as.startswith("what happened next? coronavirus")
    assert top(after) == ARTICLES["corona"][1]


def test_the_cli_prompt_reads_a_follow_up_with_its_last_answer(news, monkeypatch, capsys):
    """`assistant ask` without a question is a conversation too, as the chat is."""
    import json

    from assistant.cli.main import _prompt

    typed = iter(["What caused the Notre Dame fire?", "what happened next?", "coronavirus", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    args = SimpleNamespace(k=1, as_of=None, since=None, source=[], json=True)
    assert _prompt(news, args) == 0
    out, answers, decoder = capsys.readouterr().out, [], json.JSONDecoder()
    at = out.find("{")
    while at >= 0:  # the answers, one JSON object each, after the prompt's greeting
        answer, end = decoder.raw_decode(out, at)
        answers.append(answer)
        at = out.find("{", end)
    assert [a["read_as"] for a in answers] == [
        "What caused the Notre Dame fire?", "what happened next? Notre Dame fire Paris",
        "coronavirus"]
