"""The cross-encoder: what it reads of a passage, how training labels are chosen, and the
shipped model loaded offline and run on a real index."""
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.search.cross_encoder import (
    MODEL_DIR,
    WINDOW_CHARS,
    CrossEncoder,
    load_cross_encoder,
    pair_text,
    window,
)
from assistant.storage.store import settings_for_index
from assistant.tools.reranker_data import label

FILLER = "The weather stayed mild across the region for most of the week. " * 12


def test_window_holds_the_sentence_with_the_questions_words():
    text = FILLER + "Osei won the chess open in Harbourton on Sunday. " + FILLER
    start, end = window("Who won the chess open?", text)
    assert "Osei won the chess open" in text[start:end]
    assert end - start <= WINDOW_CHARS and text[start - 1] == " "


def test_window_of_a_short_text_is_all_of_it_and_without_a_match_the_start():
    assert window("anything", "Short text.") == (0, 11)
    start, end = window("zebra crossing", FILLER * 2)
    assert start == 0 and end <= WINDOW_CHARS


def test_pair_text_puts_the_title_first():
    assert pair_text("Chess", "Osei won.", "who won") == "Chess. Osei won."
    assert pair_text("  ", "Osei won.", "who won") == "Osei won."


@pytest.mark.parametrize("answers, title, text, age, expected", [
    (["Osei"], "Chess open", "Osei won the chess open.", 2, 1),
    (["Osei"], "Chess open", "Osei won the chess open.", 400, None),  # too old to trust
    (["Lund"], "Chess open", "Osei won the chess open.", 2, 0),  # no answer: a negative
    (["Osei"], "Weather", "Osei said rain would fall.", 2, None),  # answer without the topic
    (["Osei"], "Chess", FILLER + "Osei won the chess open. " + FILLER + "Osei spoke.", 2, 1),
    (["China"], "Trade", FILLER + "It rained. " * 40 + "China grew.", 2, None),  # off window
])
def test_label(answers, title, text, age, expected):
    assert label("Who won the chess open?", answers, title, text, age) == expected


needs_model = pytest.mark.skipif(not (MODEL_DIR / "model.onnx").is_file(),
                                 reason="no trained cross-encoder in the package")


@needs_model
def test_shipped_cross_encoder_ranks_the_answering_passage_first():
    model = load_cross_encoder()
    assert (MODEL_DIR / "model.onnx").stat().st_size < 25 * 2**20
    question = "Who won the Northern Open chess championship?"
    texts = [pair_text("Rail strike called off", "Unions called off the rail strike after "
                       "talks with the operator ended in a deal on pay.", question),
             pair_text("Osei takes chess title", "Grandmaster Ama Osei won the Northern Open "
                       "chess championship on Sunday, beating the defending champion.",
                       question)]
    logits = model.score(question, texts)
    assert logits.shape == (2,) and logits[1] > logits[0]
    probability = model.calibrated(logits)
    assert np.all((0 < probability) & (probability < 1)) and probability[1] > probability[0]
    assert model.score(question, []).shape == (0,)


@needs_model
@pytest.mark.slow
def test_answer_through_the_cross_encoder_on_a_real_index(demo_index_dir):
    """The cross-encoder is opt-in (Settings.cross_encoder): turned on, it orders the cards and
    its calibrated probability becomes the answer's confidence."""
    settings = replace(settings_for_index(demo_index_dir), cross_encoder=True)
    answer = Assistant(demo_index_dir, settings, create=False).answer(
        "Who won the Northern Open chess championship?", k=3, as_of="2025-12-31")
    assert answer.passages[0].title.lower().count("chess") and answer.confidence is not None
    assert 0 < answer.confidence < 1 and answer.passages[0].score == answer.confidence
    per_article = Counter(p.article_id for p in answer.passages)
    assert max(per_article.values()) <= settings.per_article
    assert answer.lead is not None and answer.lead.number <= 3


def test_missing_model_folder_loads_nothing(tmp_path):
    assert load_cross_encoder(str(tmp_path)) is None
    assert load_cross_encoder(str(Path("/nonexistent"))) is None


def test_platt_fits_a_rising_curve_and_stays_finite_on_separable_data():
    from assistant.tools.train_reranker import platt

    a, b = platt([-2, -1, 1, 2], [0, 0, 1, 1])
    assert a > 1 and abs(b) < 1e-6 and np.isfinite(a)
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    y = rng.random(2000) < 1 / (1 + np.exp(-(2 * x - 1)))
    a, b = platt(x, y)
    assert a == pytest.approx(2, abs=0.3) and b == pytest.approx(-1, abs=0.3)


def test_a_missing_model_folder_named_directly_says_how_to_make_one(tmp_path):
    from assistant.embedding.model_files import ModelNotFound

    with pytest.raises(ModelNotFound, match="assistant train-reranker"):
        CrossEncoder(tmp_path)
