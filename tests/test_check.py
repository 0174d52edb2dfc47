"""`assistant check` finds damage in an index; `--repair` rebuilds it from the stored articles."""
import json
import shutil

import numpy as np
import pytest
from helpers import SMALL_MODEL, small_settings

from assistant import Assistant, Settings
from assistant.errors import NoIndex
from assistant.storage.check import Kind, check, repair
from assistant.storage.store import MANIFEST, Store, settings_for_index
from assistant.storage.vector_file import FILE as VECTOR_FILE
from assistant.storage.view import LAYOUT_FILES


def test_a_fresh_index_is_healthy(small_copy):
    assert check(small_copy, small_settings()) == []


def test_stale_manifest_is_found_and_rewritten(small_copy):
    manifest = json.loads((small_copy / MANIFEST).read_text())
    (small_copy / MANIFEST).write_text(json.dumps({**manifest, "articles": 99}))
    [problem] = check(small_copy, small_settings())
    assert problem.kind is Kind.MANIFEST and "stale" in problem.message
    assert repair(small_copy, small_settings()) == ["rewrote the manifest"]
    assert check(small_copy, small_settings()) == []


def test_a_manifest_behind_the_last_commit_is_no_damage(small_copy):
    """What a crash between a commit and the manifest's rewrite leaves: the next write
    rewrites it; `check` after the crash passes."""
    manifest = json.loads((small_copy / MANIFEST).read_text())
    (small_copy / MANIFEST).write_text(json.dumps({**manifest, "articles": 5,
                                                   "generation": manifest["generation"] - 1}))
    assert check(small_copy, small_settings()) == []


def test_an_index_never_committed_is_healthy_and_records_its_settings(tmp_path):
    """What an ingest killed before its first commit leaves: an empty index, healthy as it
    stands, whose manifest already gives the next opener its build settings."""
    built = Settings(model=SMALL_MODEL, max_chars=500)
    Store(tmp_path / "idx", built).close()
    assert check(tmp_path / "idx", built) == []
    assert settings_for_index(tmp_path / "idx") == built
    assert Assistant(tmp_path / "idx", create=False).stats()["articles"] == 0


def test_missing_search_files_are_rebuilt_from_the_articles(small_copy):
    for folder in small_copy.glob("gen-*"):
        shutil.rmtree(folder)
    problems = check(small_copy, small_settings())
    assert problems[0].kind is Kind.SEARCH_FILES and "check --repair" in problems[0].message
    [action] = repair(small_copy, small_settings())
    assert "rebuilt the index from 8 stored articles" in action
    assert check(small_copy, small_settings()) == []
    assert Assistant(small_copy).ask("chess championship", k=1)[0].title.startswith("Amara")


def test_vectors_out_of_step_with_passages_are_found(small_copy):
    view = Assistant(small_copy).store.view
    view.dense.remove([int(view.dense.ids()[0])])
    view.dense.save(small_copy / f"gen-{view.generation:06d}")
    assert "1 passages missing" in " ".join(map(str, check(small_copy, small_settings())))


def test_a_cut_vector_file_is_found_and_rebuilt(small_copy):
    vectors = small_copy / VECTOR_FILE
    with open(vectors, "r+b") as handle:  # the last passage's row gone
        handle.truncate(vectors.stat().st_size - 1)
    [problem] = check(small_copy, small_settings())
    assert problem.kind is Kind.SEARCH_FILES and "1 of " in problem.message
    repair(small_copy, small_settings())
    assert check(small_copy, small_settings()) == []


def test_a_layout_that_misdates_passages_is_found_and_rebuilt(small_copy):
    """The generation's saved dates decide the as-of rule: one out of step with the rows
    would show a passage after its as-of date."""
    generation = Assistant(small_copy).store.view.generation
    days_file = small_copy / f"gen-{generation:06d}" / LAYOUT_FILES[0]
    days = np.load(days_file)
    days[np.flatnonzero(days >= 0)[:2]] -= 400
    np.save(days_file, days)
    [problem] = check(small_copy, small_settings())
    assert problem.kind is Kind.SEARCH_FILES and "layout: 2 passages" in problem.message
    repair(small_copy, small_settings())
    assert check(small_copy, small_settings()) == []


def test_a_folder_that_is_no_index(tmp_path):
    with pytest.raises(NoIndex, match=f"no index at {tmp_path}"):
        check(tmp_path, Settings())
    with pytest.raises(NoIndex):
        repair(tmp_path, Settings())
    assert list(tmp_path.iterdir()) == []


def test_repair_rebuilds_with_the_index_s_own_settings(tmp_path):
    """Asked with other settings (or none), repair keeps what the index was built with."""
    from assistant.types import Article

    built = Settings(model=SMALL_MODEL, max_chars=500, title_context=False)
    Assistant(tmp_path / "idx", built).ingest_articles([Article(
        "r1", "Tide tables", "2024-01-01", "The tide turns at noon. " * 40, "https://ex/1",
        "ex.com")])
    assert check(tmp_path / "idx", Settings()) == []  # read with its own build settings
    for folder in (tmp_path / "idx").glob("gen-*"):
        shutil.rmtree(folder)
    assert {p.kind for p in check(tmp_path / "idx")} == {Kind.SEARCH_FILES}
    [action] = repair(tmp_path / "idx", Settings())
    assert "rebuilt the index from 1 stored articles" in action
    assert settings_for_index(tmp_path / "idx") == built
    assert check(tmp_path / "idx") == []


def test_damaged_articles_or_settings_are_reported_by_kind_and_not_rebuilt(small_copy):
    import sqlite3

    from assistant.errors import IndexDamaged

    with sqlite3.connect(small_copy / "assistant.sqlite") as db:
        db.execute("UPDATE meta SET value='{broken' WHERE key='fingerprint'")
    [problem] = check(small_copy)
    assert problem.kind is Kind.SETTINGS and "built with" in problem.message
    with pytest.raises(IndexDamaged, match="nothing here can rebuild them"):
        repair(small_copy)
    (small_copy / "assistant.sqlite").write_bytes(b"\0garbage" * 4096)
    for name in ("assistant.sqlite-wal", "assistant.sqlite-shm"):
        (small_copy / name).unlink(missing_ok=True)
    assert [p.kind for p in check(small_copy)] == [Kind.DATABASE]
    with pytest.raises(IndexDamaged, match="restore it from a backup"):
        repair(small_copy)
    assert not list(small_copy.parent.glob("*.repairing"))


def test_the_cli_reports_problems_and_repairs_with_the_index_s_settings(small_copy, capsys):
    from assistant.cli.main import main

    (small_copy / MANIFEST).unlink()
    assert main(["check", "--index", str(small_copy)]) == 1
    assert "problem:" in capsys.readouterr().out and "missing or unreadable" in str(
        check(small_copy)[0])
    assert main(["check", "--repair", "--index", str(small_copy)]) == 0
    assert "rewrote the manifest" in capsys.readouterr().out
