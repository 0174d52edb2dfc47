"""`Settings` refuses values no field can mean, and reads an index's build settings from its
database (manifest.json is only a readable copy)."""
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from assistant import Settings
from assistant.config import cpu_flags, host_backend
from assistant.errors import AssistantError, BadSettings, IndexDamaged, IndexMismatch
from assistant.storage.store import Store, settings_for_index


@pytest.mark.parametrize("field, value, message", [
    ("fusion", "rff", "one of blend, rrf"),
    ("embed_backend", "cuda", "one of"),
    ("model", "  ", "package name or a folder"),
    ("candidates", 0, "positive"),
    ("rrf_k", -60, "positive"),
    ("rerank_depth", 0, "positive"),
    ("cross_depth", 0, "positive"),
    ("max_k", 0, "positive"),
    ("max_chars", 0, "positive"),
    ("batch_articles", 0, "positive"),
    ("embed_stall_s", 0.0, "positive"),
    ("dense_weight", -0.5, "0 or more"),
    ("keyword_weight", float("nan"), "0 or more"),
    ("recency_boost", -1.0, "0 or more"),
    ("cross_prior", -1.0, "0 or more"),
    ("per_article", -1, "0 or more"),
    ("abstain_below", 1.5, "probability"),
    ("rrf_k", "60", "int"),
    ("max_k", True, "int"),
    ("title_context", "yes", "bool"),
])
def test_a_value_no_field_can_mean_is_refused_naming_the_field(field, value, message):
    with pytest.raises(BadSettings, match=f"Settings.{field} must be.*{message}"):
        Settings(**{field: value})
    with pytest.raises(BadSettings, match=f"Settings.{field}"):
        Settings().with_(**{field: value})  # a changed copy is checked too


def test_the_defaults_and_what_eval_and_tune_vary_are_valid():
    from assistant.tools.evaluate import stages
    from assistant.tools.tune import GRID

    assert isinstance(BadSettings("x"), AssistantError) and isinstance(BadSettings("x"), ValueError)
    for variant in stages(Settings()).values():
        assert variant.fusion in ("blend", "rrf")
    for field, values in GRID.items():
        for value in values:
            Settings().with_(**{field: value})
    assert Settings(rrf_k=np.int64(30), dense_weight=np.float32(0.5), recency_days=0,
                    recency_boost=0, embed_batch=0, per_article=0).rrf_k == 30


@pytest.mark.parametrize("flags, backend", [
    ({"sse4_2", "avx2", "fma"}, "onnx-int8"),  # Zen 3, Haswell: no int8 dot products
    ({"avx2", "avx512f", "avx512_vnni"}, "openvino-int8"),  # Cascade Lake, Zen 4
    ({"avx2", "avx_vnni"}, "openvino-int8"),  # Alder Lake
    ({"avx512f", "amx_int8", "amx_tile"}, "openvino-int8"),  # Sapphire Rapids
    (set(), "onnx-int8"),  # no /proc/cpuinfo
])
def test_a_new_index_takes_the_int8_backend_its_cpu_runs_fastest(flags, backend):
    assert host_backend(frozenset(flags)) == backend


def test_the_default_backend_is_this_cpus_and_an_index_keeps_its_own(tmp_path):
    assert Settings().embed_backend == host_backend(cpu_flags())
    assert ("avx2" in cpu_flags()) == ("avx2" in Path("/proc/cpuinfo").read_text())
    other = next(b for b in ("onnx-int8", "openvino-int8") if b != Settings().embed_backend)
    Store(tmp_path / "idx", Settings(embed_backend=other)).close()  # built on another CPU
    assert settings_for_index(tmp_path / "idx").embed_backend == other


def test_build_settings_come_from_the_database_not_the_manifest(tmp_path):
    built = Settings(max_chars=700, title_context=False)
    Store(tmp_path / "idx", built).close()
    manifest = tmp_path / "idx" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "max_chars": 123}))
    assert settings_for_index(tmp_path / "idx") == built
    manifest.unlink()
    assert settings_for_index(tmp_path / "idx") == built


def test_a_token_limit_is_recorded_and_an_index_from_before_it_reads_none(tmp_path):
    built = Settings(embed_max_tokens=128)
    assert "embed_max_tokens" not in Settings().index_fingerprint()
    Store(tmp_path / "idx", built).close()
    assert settings_for_index(tmp_path / "idx") == built
    with pytest.raises(IndexMismatch, match="embed_max_tokens"):
        Store(tmp_path / "idx", Settings(), create=False)
    Store(tmp_path / "before", Settings()).close()  # its fingerprint has no such key
    assert settings_for_index(tmp_path / "before").embed_max_tokens == 0


def test_no_index_means_the_defaults_and_creates_nothing(tmp_path):
    assert settings_for_index(tmp_path / "nothing-here") == Settings()
    assert not (tmp_path / "nothing-here").exists()


@pytest.mark.parametrize("fingerprint", ["{not json", json.dumps({"format": 1}),
                                         json.dumps({"format": 1, "model": "m",
                                                     "embed_backend": "cuda", "max_chars": 1000,
                                                     "title_context": True})])
def test_an_index_that_cannot_say_how_it_was_built_is_an_error(tmp_path, fingerprint):
    Store(tmp_path / "idx", Settings()).close()
    with sqlite3.connect(tmp_path / "idx" / "assistant.sqlite") as db:
        db.execute("UPDATE meta SET value=? WHERE key='fingerprint'", (fingerprint,))
    with pytest.raises(IndexDamaged, match="assistant check") as raised:
        settings_for_index(tmp_path / "idx")
    assert raised.value.http_status == 500


def test_an_unreadable_database_is_an_error_not_the_defaults(tmp_path):
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "assistant.sqlite").write_bytes(b"this is no database" * 100)
    with pytest.raises(IndexDamaged, match="cannot read the settings it was built with"):
        settings_for_index(tmp_path / "idx")
