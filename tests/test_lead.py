"""The lead scorer: answer types, sentence features, the shipped model and its confidence."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.answering.answer import compose
from assistant.answering.answer_type import expected_type, new_names, spans, type_match
from assistant.answering.lead import FEATURES, MODEL_FILE, features, load_lead_scorer, options
from assistant.search.fusion import recency_prior
from assistant.types import Passage


@pytest.mark.parametrize("question, kind", [
    ("How many people died in the Magnitogorsk collapse?", "number"),
    ("What percentage of voters backed the plan?", "number"),
    ("Who won the PDC world darts championship?", "person"),
    ("Which country hosted the climate summit?", "place"),
    ("Where did the storm make landfall?", "place"),
    ("Which company bought the chip maker?", "organisation"),
    ("When did the strike end?", "date"),
    ("What did the ministry say after the attack?", "other"),
])
def test_expected_type_reads_the_question(question, kind):
    assert expected_type(question) == kind


def test_spans_count_only_what_the_question_lacks():
    found = spans("A total of 39 are confirmed dead, officials in Magnitogorsk said.",
                  "How many people died in Magnitogorsk?")
    assert found["number"] == 1 and found["name"] == 0
    assert new_names("Rain fell on Oslo as Osei won.", "Who won in Oslo?") == ["Osei"]
    assert type_match("number", found) == 1.0
    assert type_match("person", found) == 0.0
    assert type_match("other", found) == 0.5


def test_features_one_row_a_sentence_of_the_top_passages():
    texts = ["The building collapsed on Monday. A total of 39 are confirmed dead.",
             "Rescue teams searched the rubble.", "Not read: beyond the depth."]
    found = options("How many died in the collapse?", texts, depth=2)
    assert [(r, texts[r][s:e]) for r, s, e in found] == [
        (0, "The building collapsed on Monday."), (0, "A total of 39 are confirmed dead."),
        (1, "Rescue teams searched the rubble.")]
    matrix = features("How many died in the collapse?", texts, found)
    assert matrix.shape == (3, len(FEATURES))
    col = {name: matrix[:, j] for j, name in enumerate(FEATURES)}
    assert list(col["rank"]) == [0, 0, 1] and list(col["position"]) == [0, 1, 0]
    assert list(col["type_match"]) == [0.0, 1.0, 0.0]  # only the second holds a number
    assert col["asks_number"].all()


def test_recency_prior_orders_within_the_cut_and_keeps_its_members():
    scores = {1: 1.0, 2: 0.9, 3: 0.5}
    days = {1: 10, 2: 40, 3: 44}
    anywhere = recency_prior(scores, days, 44, 1.0, 7)
    assert list(anywhere) == [2, 3, 1]  # the oldest, though fused first, comes last
    kept = recency_prior(scores, days, 44, 1.0, 7, within=2)
    assert list(kept) == [2, 1, 3] and kept[3] == 0.5  # reordered inside the top 2 only
    assert recency_prior(scores, days, 44, 0.0, 7) == scores


needs_model = pytest.mark.skipif(not MODEL_FILE.is_file(), reason="no lead model shipped")


@needs_model
def test_shipped_scorer_picks_the_sentence_with_the_number():
    """The bold lead of the issue's example: card [1] says the count two sentences on."""
    leads = load_lead_scorer()
    passage = Passage(text=("Rescuers ended the search at the apartment building in "
                            "Magnitogorsk on Friday. The building partly collapsed after a gas "
                            "explosion on New Year's Eve. A total of 39 are confirmed dead, "
                            "the emergencies ministry said."),
                      title="Magnitogorsk collapse", url="u", source="s", date="2019-01-04",
                      article_id="a")
    answer = compose("How many people died in the Magnitogorsk apartment building collapse?",
                     [passage], leads=leads)
    assert "39" in answer.lead.text
    assert 0.0 < answer.confidence < 1.0
    abstained = compose("How many people died in the Magnitogorsk apartment building collapse?",
                        [passage], as_of="2019-01-05", leads=leads, abstain_below=0.999)
    assert not abstained.answered and abstained.lead is None
    assert abstained.heading.startswith("No passage clearly answers that as of 2019-01-05")


@needs_model
def test_scorer_scores_every_row():
    leads = load_lead_scorer()
    texts = ["Osei won the chess open in Oslo on Sunday. Rain fell."]
    matrix = features("Who won the chess open?", texts, options("Who won the chess open?", texts))
    scores = leads(matrix)
    assert scores.shape == (2,) and np.isfinite(scores).all() and scores[0] > scores[1]
