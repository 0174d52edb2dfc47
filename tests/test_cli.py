"""The command line, run as a user runs it: a real process on a real index."""
import json
import os
import subprocess
import sys
import time

import pytest
from helpers import DEMO, ROOT


def run(*args, index=None, check=True):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "assistant", *args]
    if index is not None:
        cmd += ["--index", str(index)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_help_is_fast_and_loads_no_model():
    started = time.perf_counter()
    result = run("--help")
    assert "ingest" in result.stdout and "ask" in result.stdout
    code = ("import sys, assistant.cli.main; assistant.cli.main.build_parser(); "
            "print('torch' in sys.modules, 'faiss' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=False).stdout
    assert out.split() == ["False", "False"]
    assert time.perf_counter() - started < 60


@pytest.mark.slow
def test_ingest_ask_stats_delete(tmp_path):
    index = tmp_path / "idx"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "broken"\n')
    result = run("ingest", str(DEMO), str(bad), "--quiet", index=index)
    assert "added 8" in result.stdout and "skipped 1" in result.stdout
    assert f"{bad}:1: malformed JSON" in result.stderr

    answer = json.loads(run("ask", "Who won the Valemouth marathon?", "--k", "2", "--json",
                            index=index).stdout)
    asked = answer["passages"]
    assert len(asked) == 2 and "Kiprono" in asked[0]["text"]
    assert {"text", "title", "url", "source", "date", "article_id", "score", "more",
            "citation"} <= set(asked[0])
    assert {"answered", "confidence", "heading", "lead"} <= set(answer)

    old = json.loads(run("ask", "marathon", "--as-of", "2025-07-01", "--k", "20", "--json",
                         index=index).stdout)["passages"]
    assert old and all(p["date"] <= "2025-07-01" for p in old)

    stats = json.loads(run("stats", "--json", index=index).stdout)
    assert stats["articles"] == 8 and stats["passages"] >= 8

    gone = run("delete", asked[0]["article_id"], index=index)
    assert "deleted 1 of 1" in gone.stdout
    assert json.loads(run("stats", "--json", index=index).stdout)["articles"] == 7
    assert run("delete", "no-such-id", index=index, check=False).returncode == 1


def test_errors_are_messages_with_nonzero_exit(tmp_path):
    index = tmp_path / "idx"
    nothing = run("ingest", str(tmp_path / "missing.txt"), "--quiet", index=index, check=False)
    assert nothing.returncode == 1 and "no such file" in nothing.stderr
    bad_date = run("ask", "q", "--as-of", "2024-02-30", index=index, check=False)
    assert bad_date.returncode == 2 and "not a real date" in bad_date.stderr
    assert "Traceback" not in bad_date.stderr


@pytest.mark.slow
def test_interactive_prompt(demo_index_dir):
    index = demo_index_dir  # the session's: ingest as a command is test_ingest_ask_stats_delete's
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "assistant", "ask", "--index", str(index)],
                            input="Who won the chess championship?\n\n", capture_output=True,
                            text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0 and "Amara Osei" in result.stdout
    filtered = subprocess.run([sys.executable, "-m", "assistant", "ask", "--index", str(index),
                               "--as-of", "2025-01-01", "--json"],
                              input="Who won the chess championship?\n\n", capture_output=True,
                              text=True, env=env, timeout=300, check=False)
    assert filtered.returncode == 0 and '"passages": []' in filtered.stdout
    assert "Amara Osei" not in filtered.stdout  # the prompt keeps the command line's filters
    misspelt = run("ask", "--source", "Nowhere Gazette", index=index, check=False)
    assert misspelt.returncode == 2 and "'Nowhere Gazette'" in misspelt.stderr
    assert "the outlets are" in misspelt.stderr and "Traceback" not in misspelt.stderr


@pytest.mark.parametrize("command", [["stats"], ["ask", "Who won the marathon?"], ["check"],
                                     ["check", "--repair"], ["delete", "d1"], ["compact"]])
def test_a_folder_without_an_index_is_named_and_left_alone(tmp_path, command):
    """Only ingest (and serve) create an index: a mistyped folder is an error, not a new index."""
    missing = tmp_path / "nowhere"
    result = run(*command, index=missing, check=False)
    assert result.returncode == 2, result.stderr
    assert f"there is no index at {missing}; create one with: assistant ingest FILES " \
           f"--index {missing}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not missing.exists()


def test_a_folder_that_holds_other_things_is_no_index_either(tmp_path):
    """Like the repo's own index/ before `make run`: a README, no index; nothing is written."""
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "README.md").write_text("the default index store\n")
    result = run("stats", index=folder, check=False)
    assert result.returncode == 2 and "there is no index at" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["README.md"]
