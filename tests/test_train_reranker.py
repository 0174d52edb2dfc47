"""`assistant train-reranker`'s path on a tiny written set: mining with labels, a few steps
of training on the packaged weights, a checkpoint that a second run resumes from, and an
int8 export that the question-time `CrossEncoder` loads and scores with."""
from __future__ import annotations

import gzip
import json

import pytest

from assistant.search.cross_encoder import CrossEncoder, pair_text
from assistant.tools.reranker_data import NEGATIVES, mine

TOPICS = ["chess", "rowing", "opera", "volcano", "satellite", "harvest", "election", "museum",
          "ferry", "glacier", "bakery", "marathon"]


def write_set(folder):
    """Twelve topics, each with one article naming a winner and one without; a question
    each, asked a day after its articles."""
    articles, questions = [], []
    for n, topic in enumerate(TOPICS):
        winner = f"Person{n}name"
        articles.append({"id": f"{topic}-1", "title": f"The {topic} prize decided",
                         "date": "2024-03-10", "source": "Test", "url": "",
                         "text": f"{winner} won the {topic} prize on Saturday, the jury said."})
        articles.append({"id": f"{topic}-2", "title": f"The {topic} season opens",
                         "date": "2024-03-09", "source": "Test", "url": "",
                         "text": f"The {topic} season opened with crowds and rain."})
        questions.append({"question": f"Who won the {topic} prize this week?",
                          "date": "2024-03-11", "answers": [winner],
                          "choices": [winner, "Nobody"]})
    folder.mkdir()
    with gzip.open(folder / "corpus.jsonl.gz", "wt") as out:
        out.writelines(json.dumps(a) + "\n" for a in articles)
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    return folder


def test_mining_keeps_the_answering_passage_as_positive_and_answerless_ones_as_negatives(
        tmp_path):
    groups = mine(write_set(tmp_path / "set"), dated=False)
    assert len(groups) == len(TOPICS)
    for group in groups:
        topic = group.question.split()[3]
        winner = f"Person{TOPICS.index(topic)}name"
        assert winner in group.positive and topic in group.positive
        assert len(group.negatives) == NEGATIVES
        assert not any(winner in text for text in group.negatives)


@pytest.mark.slow
def test_training_checkpoints_resumes_and_exports_a_model_that_scores(tmp_path):
    from assistant.tools.train_reranker import train

    train_set, work, out = write_set(tmp_path / "set"), tmp_path / "work", tmp_path / "model"
    logged = []
    first = train([train_set], work, out, max_steps=2, groups_per_step=2, dated=False,
                  log=logged.append)
    assert first["steps"] == 2 and (work / "checkpoint.pt").is_file()
    assert not any("resumed" in line for line in logged)
    second = train([train_set], work, out, max_steps=4, groups_per_step=2, dated=False,
                   log=logged.append)
    assert "resumed at step 2 of 4" in logged
    assert second["bytes"] < 25_000_000  # int8: what ships must stay small
    info = json.loads((out / "info.json").read_text())
    assert info["steps"] == 4 and info["trained_on"] == ["set"] and info["dated"] is False
    model = CrossEncoder(out)
    logits = model.score("Who won the chess prize?",
                         [pair_text("The chess prize decided", "Person0name won the chess prize.",
                                    "Who won the chess prize?"),
                          pair_text("The ferry season opens", "The ferry season opened.",
                                    "Who won the chess prize?")])
    assert logits.shape == (2,) and all(abs(x) < 1e3 for x in logits)
