"""Training the lead scorer: which sentences become examples, and the confidence curve."""
from __future__ import annotations

import numpy as np

from assistant.answering.lead import FEATURES
from assistant.tools.train_lead import examples, platt

QUESTIONS = [
    {"question": "Who won the chess open?", "answers": ["Osei"], "date": "2025-06-14"},
    {"question": "Who won the darts title?", "answers": ["Lund"], "date": "2025-06-15"},
    {"question": "Where did the storm land?", "answers": ["Harbourton"], "date": "2025-06-16"},
]
TOPS = {
    0: ["Rain fell in Leeds. Osei won the chess open on Saturday.", "The open drew 90 players."],
    1: ["The darts title went to the favourite. Crowds cheered."],  # no answer: no group
    2: ["Storm Ada reached the coast at Harbourton. Roads closed."],
}


def top(n, q):
    return TOPS[n]


def test_examples_keep_answered_questions_with_one_row_a_sentence():
    matrix, labels, groups, owners = examples(QUESTIONS, top)
    assert owners == [0, 2] and groups == [3, 2]
    assert matrix.shape == (5, len(FEATURES))
    assert labels.tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]  # the answer-holding sentences


def test_examples_for_calibration_keep_every_question():
    _, labels, groups, owners = examples(QUESTIONS, top, answered_only=False)
    assert owners == [0, 1, 2] and groups == [3, 2, 2] and labels.sum() == 2


def test_platt_curve_rises_with_the_score():
    x = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
    a, b = platt(x, np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0]))
    assert a > 0 and 1 / (1 + np.exp(-(a * 2 + b))) > 0.5 > 1 / (1 + np.exp(-(a * -2 + b)))
