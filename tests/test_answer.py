"""The lead sentence and highlighting: pure functions on tiny inline texts."""
from dataclasses import replace

import pytest

from assistant.answering.answer import (
    LEAD_SENTENCES,
    Lead,
    best_sentence,
    compose,
    find_lead,
    highlight,
    resolve_days,
)
from assistant.types import Passage


def passage(text: str, title: str = "T") -> Passage:
    return Passage(text=text, title=title, url="https://example.org/a", source="ex",
                   date="2024-01-03", article_id="a")


def test_best_sentence_covers_most_question_terms():
    text = "Rain fell on the chess hall. Osei won the chess open."
    start, end, share = best_sentence("Who won the chess open?", text)
    assert text[start:end] == "Osei won the chess open." and share == 1.0
    assert best_sentence("darts", text) is None
    assert best_sentence("", text) is None


def test_find_lead_prefers_the_top_passage_unless_another_covers_clearly_more():
    first = passage("Humphries beat Littler in the darts final.")
    second = passage("Luke Humphries beat Luke Littler 7-4 in the world darts final.")
    lead = find_lead("Who won the world darts final?", [first, second])
    text = "Luke Humphries beat Luke Littler 7-4 in the world darts final."
    assert lead == Lead(text, 2, 0, 62, text)
    assert str(lead).endswith("final. [2]")
    assert find_lead("Who won the darts final?", [first, second]).number == 1


def test_find_lead_is_none_when_nothing_shares_a_term():
    assert find_lead("Who won the darts final?", [passage("It rained all week.")]) is None
    assert find_lead("Who won?", []) is None


def test_compose_to_dict_carries_lead_and_citations():
    answer = compose("Who won the chess open?", [passage("Osei won the chess open.")],
                     "2024-01-05", read_as="Who won the chess open?")
    out = answer.to_dict()
    assert out["as_of"] == "2024-01-05"
    assert out["lead"] == {"text": "Osei won the chess open.", "passage": 1, "start": 0,
                           "end": 24, "cited": "Osei won the chess open. [1]",
                           "dated": "Osei won the chess open."}
    assert out["passages"][0]["citation"] == "T (ex, 2024-01-03) https://example.org/a"


@pytest.mark.parametrize("text, question, span, expected", [
    ("", "anything", None, ""),
    ("Osei won.", "", None, "Osei won."),
    ("Osei <i>won</i>.", "Osei?", None, "<b>Osei</b> &lt;i&gt;won&lt;/i&gt;."),
    ("Rain. Osei won chess", "chess Osei", (6, 20),
     "Rain. <mark><b>Osei</b> won <b>chess</b></mark>"),
    ('<script>alert("x")</script> strikes', "strike", None,
     "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <b>strikes</b>"),
])
def test_highlight_escapes_everything_and_marks_terms_and_span(text, question, span, expected):
    assert highlight(text, question, span) == expected


@pytest.mark.parametrize("text, published, expected", [
    ("Osei won on Sunday and spoke yesterday.", "2025-03-04",
     "Osei won on Sunday [2025-03-02] and spoke yesterday [2025-03-03]."),
    ("The vote is today; results tomorrow.", "2024-01-03",
     "The vote is today [2024-01-03]; results tomorrow [2024-01-04]."),
    ("It happened last night.", "2024-01-01", "It happened last night [2023-12-31]."),
    ("Talks ended on Tuesday", "2025-03-04", "Talks ended on Tuesday [2025-03-04]"),
    ("Monday [2025-03-03] already dated", "2025-03-04", "Monday [2025-03-03] already dated"),
    ("No relative days here.", "2025-03-04", "No relative days here."),
    ("Yesterday's storm", "not a date", "Yesterday's storm"),
])
def test_resolve_days(text, published, expected):
    assert resolve_days(text, published) == expected


def test_lead_is_the_sentence_the_scorer_prefers_and_its_days_are_resolved():
    passages = [passage("The chess open drew crowds. Osei won the chess open on Sunday.")]
    lead = find_lead("Who won the chess open?", passages,
                     scorer=lambda q, found: [float("Osei" in p.text) for p in found])
    assert lead.text == "Osei won the chess open on Sunday." and lead.number == 1
    assert str(lead) == "Osei won the chess open on Sunday [2023-12-31]. [1]"
    assert find_lead("zebra?", passages, scorer=lambda q, texts: [1.0] * len(texts)) is None


def test_the_scorer_reads_only_the_sentences_sharing_most_of_the_question():
    text = " ".join(["The chess season went on."] * 6
                    + ["Osei won the chess open final.", "The chess open final was long."])
    seen = []

    def scorer(question, found):
        seen.extend(p.text for p in found)
        return [float("Osei" in p.text) for p in found]

    lead = find_lead("Who won the chess open final?", [passage(text)], scorer=scorer)
    assert lead.text == "Osei won the chess open final."
    assert len(seen) == LEAD_SENTENCES
    assert seen[:2] == ["Osei won the chess open final.", "The chess open final was long."]


def test_compose_abstains_below_the_threshold_and_says_so():
    scorer = lambda q, texts: [0.5] * len(texts)
    sure = replace(passage("Osei won the chess open."), score=0.9)
    unsure = replace(sure, score=0.2)
    answered = compose("Who won the chess open?", [sure], "2024-02-01", scorer=scorer,
                       abstain_below=0.5)
    assert answered.answered and answered.lead and answered.heading == ""
    abstained = compose("Who won the chess open?", [unsure], "2024-02-01", scorer=scorer,
                        abstain_below=0.5)
    assert not abstained.answered and abstained.lead is None and abstained.passages
    assert abstained.heading.startswith("No passage clearly answers that as of 2024-02-01")
    assert abstained.to_dict()["answered"] is False and abstained.to_dict()["confidence"] == 0.2
    assert not compose("q", [], None).answered
