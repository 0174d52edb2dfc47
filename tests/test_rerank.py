"""The learned ranker: trained by the repo's own command, loaded offline, never past as-of."""
from pathlib import Path

import lightgbm
import numpy as np
from helpers import make_eval_set, small_settings

from assistant import Assistant
from assistant.search.rerank import FEATURES, MODEL_FILE, Ranker, features, load_ranker
from assistant.search.retrieve import Query, candidates, search
from assistant.tools.train_ranker import train


def test_features_have_one_row_per_candidate(small_assistant):
    query = Query("Who won the chess championship on tiebreaks?", 5, "2026-03-01")
    found = candidates(small_assistant.store, small_assistant.embedder.embed, query,
                       small_assistant.settings)
    ids, matrix, _rows = features(small_assistant.store, query, found, depth=4)
    assert len(ids) == 4 and matrix.shape == (4, len(FEATURES))
    best = FEATURES.index("term_cover")
    assert matrix[0, best] == matrix[:, best].max() > 0  # the chess story covers the terms


def test_train_saves_a_model_that_loads_and_reranks(tmp_path):
    set_dir = make_eval_set(tmp_path / "tiny")
    out = tmp_path / "ranker.txt"
    report = train(set_dir, out, depth=5, rounds=5, settings=small_settings(),
                   index=tmp_path / "idx")
    assert out.is_file() and report["bytes"] == out.stat().st_size
    assert report["questions"] == 3 and report["with_answer_in_top"] >= 1
    assert set(report["held_out_metrics"]) == {"first_stage", "ranker"}
    ranker = Ranker(out, depth=5)
    a = Assistant(tmp_path / "idx", small_settings())
    query = Query("Who is the new ferry captain?", 3, "2024-03-05")
    passages = search(a.store, a.embedder.embed, query, a.settings, [ranker])
    assert passages and all(p.date <= "2024-03-05" for p in passages)


def test_shipped_model_loads_offline_when_present():
    ranker = load_ranker()
    if MODEL_FILE.is_file():
        assert isinstance(ranker.booster, lightgbm.Booster)
        assert ranker.booster.feature_name() == FEATURES
        assert ranker.booster.predict(np.zeros((1, len(FEATURES)))).shape == (1,)
    else:
        assert ranker is None
    assert load_ranker(str(Path("/nonexistent/ranker.txt"))) is None


def test_rerank_switch(small_index_dir):
    off = Assistant(small_index_dir, small_settings(rerank=False, cross_encoder=False))
    assert off.rerankers == []
    assert off.ask("marathon record", k=2)[0].title.startswith("Kenyan runner")


def test_best_sentence_cover():
    from assistant.search.rerank import best_sentence_cover

    assert best_sentence_cover({"chess", "open"}, "Rain fell. Osei won the chess open.") == 1.0
    assert best_sentence_cover({"chess", "open"}, "Chess is old. It is open to all.") == 0.5
    assert np.isnan(best_sentence_cover(set(), "anything"))
