"""Hostile input: each case gets a clear message and leaves the index as it was."""
import gzip
import json

import pytest

from assistant import Assistant, Settings
from assistant.articles import MAX_LINE_BYTES, MAX_PROBLEMS_PER_FILE, read_articles
from assistant.check import check
from assistant.types import Problem


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
    with gzip.open(path, "wb", compresslevel=9) as f:
        chunk = b"\0" * (1 << 20)
        for _ in range(100):  # 100 MB of NULs in a file of about 100 KB
            f.write(chunk)
    assert path.stat().st_size < 1 << 20
    [*problems] = problems_of(path)
    assert problems and all("longer than" in p.message or "NUL" in p.message for p in problems)


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
    a = Assistant(tmp_path / "idx")
    assert a.ingest([path]).added == len(ODD)
    for text in ODD:
        returned = {p.text for p in a.ask(text, k=len(ODD))}
        assert text in returned
    assert check(tmp_path / "idx", Settings()) == []


BAD = {
    "truncated.jsonl": b'{"title": "T", "date": "2024-01-01", "te',
    "nested.jsonl": b"[" * 200_000 + b"]" * 200_000 + b"\n",
    "binary.txt": bytes(range(256)) * 10,
    "nul.jsonl": b'{"title": "T\x00", "date": "2024-01-01", "text": "x"}\n',
    "surrogate.jsonl": b'{"title": "T", "date": "2024-02-30", "text": "\\ud800"}\n',
    "zero-date.txt": b" date 0000-00-00 Title\n\nBody",
    "slash-id.jsonl": b'{"id": "a/b", "title": "T", "date": "2024-01-01", "text": "x"}\n',
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_leave_the_index_unchanged(demo_copy, tmp_path, name):
    (tmp_path / name).write_bytes(BAD[name])
    a = Assistant(demo_copy)
    before = a.stats()
    report = a.ingest([tmp_path / name])
    assert report.read == 0 and len(report.skipped) == 1
    assert name in str(report.skipped[0])
    after = a.stats()
    assert {k: after[k] for k in ("articles", "passages", "generation")} == \
           {k: before[k] for k in ("articles", "passages", "generation")}
    assert check(demo_copy, Settings()) == []
