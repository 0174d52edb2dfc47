"""Hostile input: each case gets a clear message and leaves the index as it was."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import gzip_repeated, small_settings

from assistant import Assistant
from assistant.reading.articles import MAX_LINE_BYTES, MAX_PROBLEMS_PER_FILE, read_articles
from assistant.reading.read_apart import read_apart
from assistant.storage.check import check
from assistant.types import Article, Problem


def problems_of(path):
    return [p for p in read_articles([path]) if isinstance(p, Problem)]


def test_a_line_longer_than_the_limit_is_skipped_without_loading_it(tmp_path):
    path = tmp_path / "huge.jsonl"
    with open(path, "w") as f:
        f.write(json.dumps({"title": "ok", "date": "2024-01-01", "text": "fine"}) + "\n")
        f.write('{"title": "' + "x" * (MAX_LINE_BYTES + 10) + '"}\n')
        f.write(json.dumps({"title": "also ok", "date": "2024-01-01", "text": "fine"}) + "\n")
    items = list(read_articles([path]))
    assert [type(i).__name__ for i in items] == ["Article", "Problem", "Article"]
    assert items[1].line == 2 and "longer than" in items[1].message


def test_zip_bomb_is_refused_line_by_line_not_loaded(tmp_path):
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip_repeated(b"\0" * (1 << 20), 100))  # 100 MB of NULs in about 100 KB
    assert path.stat().st_size < 1 << 20
    [problem] = problems_of(path)  # stopped at the first 20 MB of it: JSON has no NUL byte
    assert "binary data" in problem.message


def test_a_gzip_of_blank_lines_stops_at_once(tmp_path):
    path = tmp_path / "blank.jsonl.gz"
    path.write_bytes(gzip_repeated(b"\n" * 1_000_000, 50))  # 50 MB of blank lines in 50 KB
    started = time.perf_counter()
    [problem] = problems_of(path)
    assert time.perf_counter() - started < 5
    assert problem.line == MAX_PROBLEMS_PER_FILE
    assert "bad, blank or repeated lines" in problem.message


def test_blank_lines_between_real_articles_are_fine(tmp_path):
    row = {"title": "T", "date": "2024-01-01"}
    path = tmp_path / "spaced.jsonl"
    path.write_text("".join(json.dumps({**row, "text": f"Story {i}."}) + "\n\n"
                            for i in range(MAX_PROBLEMS_PER_FILE + 200)))
    items = list(read_articles([path]))
    assert len(items) == MAX_PROBLEMS_PER_FILE + 200 and all(isinstance(i, Article) for i in items)


def test_a_gzip_of_one_line_repeated_is_one_article(tmp_path):
    line = json.dumps({"title": "T", "date": "2024-01-01", "text": "Same."}) + "\n"
    path = tmp_path / "same.jsonl.gz"
    path.write_bytes(gzip_repeated(line.encode() * 10_000, 100))
    first, *repeats, stop = read_articles([path])
    assert isinstance(first, Article) and len(repeats) == MAX_PROBLEMS_PER_FILE
    assert all("repeats the article at" in p.message for p in repeats)
    assert "stopped reading" in stop.message


def test_a_file_stops_at_the_byte_limit(tmp_path):
    line = json.dumps({"title": "T", "date": "2024-01-01", "text": "x"})
    path = tmp_path / "big.jsonl"
    path.write_text("".join(line.replace('"x"', f'"story {i}"') + "\n" for i in range(100)))
    ten_lines = sum(map(len, path.read_bytes().splitlines(keepends=True)[:10]))
    *articles, problem = read_articles([path], max_file_bytes=ten_lines)
    assert len(articles) == 10 and problem.line == 11
    assert "stopped after" in problem.message and "Settings.max_file_bytes" in problem.message
    bomb = tmp_path / "bomb.jsonl.gz"
    bomb.write_bytes(gzip_repeated(b"x" * 1_000_000, 100))  # one 100 MB line
    [problem] = read_articles([bomb], max_file_bytes=30_000_000)
    assert problem.line == 1 and "stopped after 30,000,000 bytes" in problem.message


def test_a_huge_txt_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text(" date 2024-01-01 Title\n\nBody.\n")
    os.truncate(path, 2 << 30)  # 2 GB, sparse: no disk used
    started = time.perf_counter()
    [problem] = read_articles([path])
    assert time.perf_counter() - started < 2 and "a .txt file is one article" in problem.message


def children() -> list[int]:
    """The ids of this process's live children (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_reading_apart_gives_what_reading_here_gives_and_stops_its_child(tmp_path):
    line = json.dumps({"title": "T", "date": "2024-01-01", "text": "x"})
    path = tmp_path / "a.jsonl"
    path.write_text("".join(line.replace('"x"', f'"story {i}"') + "\n" for i in range(300))
                    + "not json\n")
    assert list(read_apart([path])) == list(read_articles([path]))
    items = read_apart([path])
    assert isinstance(next(items), Article) and len(children()) == 1
    items.close()  # an ingest that stops early ends its reader
    assert children() == []


def test_a_script_without_a_main_guard_ingests_once(tmp_path):
    """multiprocessing's spawn and forkserver would run this script again in the child."""
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "T", "date": "2024-01-01",
                                                  "text": "x"}) + "\n")
    script = tmp_path / "script.py"
    script.write_text("from assistant.reading.read_apart import read_apart\n"
                      "print(len(list(read_apart(['a.jsonl']))))\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "1\n", "")


def test_a_flood_of_bad_lines_stops_with_a_message(tmp_path):
    path = tmp_path / "noise.jsonl"
    path.write_text("not json\n" * (MAX_PROBLEMS_PER_FILE + 500))
    problems = problems_of(path)
    assert len(problems) == MAX_PROBLEMS_PER_FILE + 1
    assert "stopped reading" in problems[-1].message


ODD = [
    "\u05e9\u05dc\u05d5\u05dd \u200f RTL mark and Hebrew",
    "combining e\u0301\u0301\u0301 marks",
    "emoji 🎯🇺🇦👩‍👩‍👧",
    "<script>alert('x')</script> <b>bold</b> &amp;",
    "zero\u200bwidth and \ufeffBOM",
]


def test_unicode_oddities_and_html_are_stored_and_returned_verbatim(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_text("".join(json.dumps({"id": f"o{i}", "title": text[:40], "date": "2024-01-01",
                                        "source": "odd.example", "text": text}) + "\n"
                            for i, text in enumerate(ODD)))
    a = Assistant(tmp_path / "idx", small_settings())
    assert a.ingest([path]).added == len(ODD)
    for text in ODD:
        returned = {p.text for p in a.ask(text, k=len(ODD))}
        assert text in returned
    assert check(tmp_path / "idx", small_settings()) == []


BAD = {
    "truncated.jsonl": b'{"title": "T", "date": "2024-01-01", "te',
    "nested.jsonl": b"[" * 200_000 + b"]" * 200_000 + b"\n",
    "binary.txt": bytes(range(256)) * 10,
    "nul.jsonl": b'{"title": "T\x00", "date": "2024-01-01", "text": "x"}\n',
    "surrogate.jsonl": b'{"title": "T", "date": "2024-02-30", "text": "\\ud800"}\n',
    "zero-date.txt": b" date 0000-00-00 Title\n\nBody",
    "slash-id.jsonl": b'{"id": "a/b", "title": "T", "date": "2024-01-01", "text": "x"}\n',
    "blank.jsonl.gz": gzip_repeated(b"\n" * 1_000_000, 10),
    "nul-bomb.jsonl.gz": gzip_repeated(b"\0" * 1_000_000, 30),
    "long.jsonl": json.dumps({"title": "T", "date": "2024-01-01",
                              "text": "Words and more words. " * 100_000}).encode() + b"\n",
    "long.txt": b" date 2024-01-01 T\n\n" + b"Words and more words. " * 100_000,
    "far-future.jsonl": b'{"title": "T", "date": "9999-12-31", "text": "x"}\n',
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_leave_the_index_unchanged(small_copy, tmp_path, name):
    (tmp_path / name).write_bytes(BAD[name])
    a = Assistant(small_copy, small_settings())
    before = a.stats()
    report = a.ingest([tmp_path / name])
    assert report.read == 0 and len(report.skipped) == 1
    assert name in str(report.skipped[0])
    after = a.stats()
    assert {k: after[k] for k in ("articles", "passages", "generation")} == \
           {k: before[k] for k in ("articles", "passages", "generation")}
    assert check(small_copy, small_settings()) == []


def test_a_reader_that_dies_is_a_clear_error(tmp_path):
    from assistant.reading.read_apart import ReaderFailed

    line = json.dumps({"title": "T", "date": "2024-01-01", "text": "x"})
    path = tmp_path / "a.jsonl"  # far more than the pipe holds: the child is still at work
    path.write_text("".join(line.replace('"x"', f'"story {i}"') + "\n" for i in range(50_000)))
    items = read_apart([path])
    next(items)
    [child] = children()
    os.kill(child, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    with pytest.raises(ReaderFailed, match="stopped"):
        list(items)
