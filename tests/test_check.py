"""`assistant check` finds damage in an index; `--repair` rebuilds it from the stored articles."""
import json
import shutil

import pytest

from assistant import Assistant, Settings
from assistant.check import check, repair
from assistant.errors import NoIndex
from assistant.store import MANIFEST, Store


def test_a_fresh_index_is_healthy(demo_copy):
    assert check(demo_copy, Settings()) == []


def test_stale_manifest_is_found_and_rewritten(demo_copy):
    manifest = json.loads((demo_copy / MANIFEST).read_text())
    (demo_copy / MANIFEST).write_text(json.dumps({**manifest, "articles": 99}))
    assert "stale" in check(demo_copy, Settings())[0]
    assert repair(demo_copy, Settings()) == ["rewrote the manifest"]
    assert check(demo_copy, Settings()) == []


def test_a_manifest_behind_the_last_commit_is_no_damage(demo_copy):
    """What a crash between a commit and the manifest's rewrite leaves: the next write
    rewrites it; `check` after the crash passes."""
    manifest = json.loads((demo_copy / MANIFEST).read_text())
    (demo_copy / MANIFEST).write_text(json.dumps({**manifest, "articles": 5,
                                                  "generation": manifest["generation"] - 1}))
    assert check(demo_copy, Settings()) == []


def test_an_index_never_committed_is_healthy_and_records_its_settings(tmp_path):
    """What an ingest killed before its first commit leaves: an empty index, healthy as it
    stands, whose manifest already gives the next opener its build settings."""
    built = Settings(max_chars=500)
    Store(tmp_path / "idx", built).close()
    assert check(tmp_path / "idx", built) == []
    assert Settings.for_index(tmp_path / "idx") == built
    assert Assistant(tmp_path / "idx", create=False).stats()["articles"] == 0


def test_missing_search_files_are_rebuilt_from_the_articles(demo_copy):
    for folder in demo_copy.glob("gen-*"):
        shutil.rmtree(folder)
    problems = check(demo_copy, Settings())
    assert problems and "check --repair" in problems[0]
    [action] = repair(demo_copy, Settings())
    assert "rebuilt the index from 8 stored articles" in action
    assert check(demo_copy, Settings()) == []
    assert Assistant(demo_copy).ask("chess championship", k=1)[0].title.startswith("Amara")


def test_vectors_out_of_step_with_passages_are_found(demo_copy):
    a = Assistant(demo_copy)
    a.store.dense.remove([int(a.store.dense.ids()[0])])
    a.store.dense.save(a.store._gen_dir(a.store.generation))
    assert "1 passages missing" in " ".join(check(demo_copy, Settings()))


def test_a_folder_that_is_no_index(tmp_path):
    with pytest.raises(NoIndex, match=f"no index at {tmp_path}"):
        check(tmp_path, Settings())
    with pytest.raises(NoIndex):
        repair(tmp_path, Settings())
    assert list(tmp_path.iterdir()) == []
