"""Cached int8 exports are keyed by what the weights are, not by where they lie or how big."""
from __future__ import annotations

import shutil

from assistant.embedding.model_files import weights_stamp


def write_model(folder, weights: bytes):
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 4}')
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_weights_fine_tuned_in_place_get_a_new_stamp(tmp_path):
    """The same sizes, other numbers: an export of the old weights must not be reused."""
    model = write_model(tmp_path / "model", b"\x00" * 64)
    before = weights_stamp(model)
    (model / "model.safetensors").write_bytes(b"\x00" * 63 + b"\x01")
    assert weights_stamp(model) != before


def test_the_same_weights_elsewhere_share_a_stamp(tmp_path):
    model = write_model(tmp_path / "model", b"\x02" * 64)
    copy = shutil.copytree(model, tmp_path / "elsewhere")
    assert weights_stamp(copy) == weights_stamp(model)
