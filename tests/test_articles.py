"""Reading articles: native files, JSON Lines (plain and .gz), folders, and every bad input."""
import gzip
import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from assistant.reading.articles import check_date, clean_text, content_id, read_articles
from assistant.reading.boilerplate import is_boilerplate
from assistant.reading.chunking import chunk
from assistant.types import Article, Problem

NATIVE = " date 2024-01-03 Humphries wins the world title\n\nLuke Humphries won.\n\nHe beat Littler.\n"


def read(*paths):
    items = list(read_articles(paths))
    return ([i for i in items if isinstance(i, Article)],
            [i for i in items if isinstance(i, Problem)])


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def good(**over):
    row = {"id": "x1", "url": "https://news.example/x1", "title": "Title", "date": "2024-01-02",
           "source": "news.example", "text": "Body one.\n\nBody two."}
    row.update(over)
    return row


def test_native_article(tmp_path):
    (tmp_path / "a.txt").write_text(NATIVE)
    [article], problems = read(tmp_path / "a.txt")
    assert problems == []
    assert article.title == "Humphries wins the world title"
    assert article.date == "2024-01-03"
    assert article.text == "Luke Humphries won.\n\nHe beat Littler."
    assert article.url == (tmp_path / "a.txt").resolve().as_uri()
    assert article.id == content_id(article.title, article.date, article.text)


def test_same_content_same_id_is_read_once_other_content_other_id(tmp_path):
    (tmp_path / "a.txt").write_text(NATIVE)
    (tmp_path / "b.txt").write_text(NATIVE)
    (tmp_path / "c.txt").write_text(NATIVE.replace("Littler", "Van Gerwen"))
    (first, other), [repeat] = read(tmp_path)
    assert first.id != other.id and first.url.endswith("a.txt")
    assert repeat.path == str(tmp_path / "b.txt")
    assert repeat.message == "repeats the article at a.txt: skipped"


def test_folder_is_read_recursively_and_skips_other_files(tmp_path):
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "a.txt").write_text(NATIVE)
    write_jsonl(tmp_path / "deep" / "b.jsonl", [good()])
    (tmp_path / "notes.md").write_text("not an article")
    articles, problems = read(tmp_path)
    assert sorted(a.title for a in articles) == ["Humphries wins the world title", "Title"]
    assert problems == []


def test_jsonl_gz_and_missing_optional_fields(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(json.dumps({"title": "T", "date": "2024-02-29", "text": "Leap day."}) + "\n")
    [article], problems = read(path)
    assert problems == [] and article.source == ""
    assert article.id.startswith("a-") and article.url.endswith("#L1")


@pytest.mark.parametrize("line, message", [
    ('{"title": "T", "date": "2024-01-01", "text": "x"', "malformed JSON"),
    ('["a list"]', "expected a JSON object"),
    (json.dumps(good(title="")), "missing field 'title'"),
    (json.dumps(good(text="  ")), "missing field 'text'"),
    (json.dumps(good(date="2024-02-30")), "not a real date"),
    (json.dumps(good(date="0000-00-00")), "not a real date"),
    (json.dumps(good(date="03/01/2024")), "YYYY-MM-DD"),
    (json.dumps(good(title=7)), "field 'title' must be a string"),
    (json.dumps(good(id="../etc/passwd")), "field 'id'"),
    ("[" * 100_000 + "]" * 100_000, "malformed JSON"),
])
def test_bad_lines_are_reported_with_file_and_line_and_the_rest_goes_in(tmp_path, line, message):
    path = write_jsonl(tmp_path / "mixed.jsonl", [good(id="first"), line, good(id="third")])
    articles, [problem] = read(path)
    assert [a.id for a in articles] == ["first", "third"]
    assert problem.path == str(path) and problem.line == 2
    assert message in problem.message
    assert f"{path}:2:" in str(problem)


def test_non_utf8_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(good()).encode() + b"\n" + '{"title": "caf\xe9"}'.encode("latin-1")
                     + b"\n")
    articles, [problem] = read(path)
    assert len(articles) == 1 and problem.line == 2 and "UTF-8" in problem.message


@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", b"", "empty file"),
    ("blank.jsonl", b"\n\n", "empty file"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    ("latin1.txt", " date 2024-01-01 Caf\xe9\n\nx".encode("latin-1"), "not UTF-8"),
    ("noheader.txt", b"Just text\n\nMore", "first line"),
    ("baddate.txt", b" date 2024-13-01 Title\n\nBody", "not a real date"),
    ("notitle.txt", b" date 2024-01-01 \n\nBody", "first line"),
    ("nobody.txt", b" date 2024-01-01 Title\n\n", "missing field 'text'"),
    ("broken.jsonl.gz", b"\x1f\x8b\x08\x00garbage", "cannot read"),
])
def test_bad_files_are_reported(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    articles, [problem] = read(tmp_path / name)
    assert articles == [] and message in problem.message and name in problem.path


def test_truncated_gzip_keeps_the_lines_before_the_break(tmp_path):
    data = gzip.compress(("\n".join(json.dumps(good(id=f"a{i}")) for i in range(50)) + "\n")
                         .encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) - 30])
    articles, problems = read(tmp_path / "cut.jsonl.gz")
    assert 0 < len(articles) < 50 and len(problems) == 1


def test_missing_path_is_a_problem(tmp_path):
    articles, [problem] = read(tmp_path / "nope")
    assert articles == [] and "no such file" in problem.message


def test_text_is_cleaned_of_control_characters_and_lone_surrogates(tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl",
                       ['{"title": "A\\u0007B", "date": "2024-01-01", "text": "x\\ud800y\\r\\nz"}'])
    [article], _ = read(path)
    assert article.title == "AB" and article.text == "x\ufffdy\nz"


def test_unicode_is_kept():
    assert clean_text("مرحبا \u200f e\u0301 🎯") == "مرحبا \u200f e\u0301 🎯"


def test_check_date_accepts_leap_day():
    assert check_date("2024-02-29", "date") == "2024-02-29"


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.text(min_size=1, max_size=80).filter(lambda t: t.strip()),
       body=st.text(max_size=2000))
def test_reader_property_any_native_file_reads_or_fails_cleanly(tmp_path, title, body):
    path = tmp_path / "prop.txt"
    path.write_bytes(f" date 2024-05-06 {title}\n\n{body}".encode("utf-8", "surrogatepass"))
    [item] = read_articles([path])
    if isinstance(item, Article):
        assert item.date == "2024-05-06" and item.title and item.text
        assert item.text == clean_text(item.text) == item.text.strip()
        spans = chunk(item.text, 1000, is_boilerplate)
        assert all(0 < e - s <= 1000 and item.text[s:e].strip() for s, e in spans)
    else:
        assert item.path == str(path) and item.message


def test_a_bom_at_the_start_of_a_jsonl_file_keeps_the_first_line(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(good(id="a")) + "\n"
                                        + json.dumps(good(id="b")) + "\n").encode())
    articles, problems = read(path)
    assert [a.id for a in articles] == ["a", "b"] and problems == []


def test_an_id_repeated_with_other_content_is_reported_and_the_later_copy_kept(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [good(text="Old."), good(id="y"), good(text="New.")])
    articles, [problem] = read(path)
    assert [(a.id, a.text) for a in articles] == [("x1", "Old."), ("y", "Body one.\n\nBody two."),
                                                  ("x1", "New.")]
    assert str(problem) == f"{path}:3: id 'x1' repeated (first at line 1), the later copy kept"


def test_repeats_across_files_and_in_a_list_of_articles(tmp_path):
    from assistant.reading.articles import first_copies

    one = write_jsonl(tmp_path / "one.jsonl", [good()])
    two = write_jsonl(tmp_path / "two.jsonl", ["", good()])  # a blank line moves it to line 2
    articles, [problem] = read(one, two)
    assert len(articles) == 1
    assert str(problem) == f"{two}:2: repeats the article at one.jsonl:1: skipped"
    a, b = Article("a", "T", "2024-01-01", "x"), Article("a", "T", "2024-01-01", "y")
    assert list(first_copies([a, a, b])) == [
        a, Problem("articles", 2, "repeats the article at line 1: skipped"),
        Problem("articles", 3, "id 'a' repeated (first at line 1), the later copy kept"), b]


def test_article_hash_is_what_the_article_is_not_where_it_was_read():
    from assistant.reading.articles import article_hash

    a = Article("a", "T", "2024-01-01", "x", url="file:///one/a.jsonl#L1")
    assert article_hash(a) == article_hash(replace(a, url="file:///two/a.jsonl#L7"))
    assert article_hash(a) != article_hash(replace(a, url="https://news.example/a"))
    assert article_hash(a) != article_hash(replace(a, text="y"))


@pytest.mark.parametrize("date, ok", [("1599-12-31", False), ("1600-01-01", True),
                                      ("2100-12-31", True), ("2101-01-01", False),
                                      ("9999-12-31", False)])
def test_dates_must_be_plausible(date, ok):
    from assistant.reading.articles import BadArticle

    if ok:
        assert check_date(date, "date") == date
    else:
        with pytest.raises(BadArticle, match="from 1600 to 2100"):
            check_date(date, "as_of")


def test_an_article_longer_than_the_limit_is_refused_with_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "long.jsonl", [good(id="short"), good(text="w " * 60)])
    txt = tmp_path / "long.txt"
    txt.write_text(" date 2024-01-03 Long\n\n" + "w " * 60)
    items = list(read_articles([path, txt], max_article_chars=100))
    assert [type(i).__name__ for i in items] == ["Article", "Problem", "Problem"]
    assert str(items[1]).startswith(f"{path}:2: field 'text' is 119 characters long; the limit "
                                    "is 100 (Settings.max_article_chars)")
    assert items[2].path == str(txt) and "the limit is 100" in items[2].message


def test_links_out_of_a_folder_are_not_followed_and_each_is_reported(tmp_path):
    outside, folder = tmp_path / "outside", tmp_path / "folder"
    (outside / "deep").mkdir(parents=True)
    folder.mkdir()
    write_jsonl(outside / "secret.jsonl", [good(id="secret")])
    write_jsonl(outside / "deep" / "also.jsonl", [good(id="also")])
    write_jsonl(folder / "mine.jsonl", [good(id="mine")])
    (folder / "file-link.jsonl").symlink_to(outside / "secret.jsonl")
    (folder / "dir-link").symlink_to(outside / "deep")
    (folder / "broken.jsonl").symlink_to(tmp_path / "gone.jsonl")
    articles, problems = read(folder)
    assert [a.id for a in articles] == ["mine"]
    assert sorted((p.path.rsplit("/", 1)[1], p.message.split(":")[0]) for p in problems) == [
        ("broken.jsonl", "broken symbolic link"),
        ("dir-link", f"symbolic link to a place outside {folder}"),
        ("file-link.jsonl", f"symbolic link to a place outside {folder}")]
    # A path given by name is read through its link: its owner asked for it.
    assert [a.id for a in read(folder / "file-link.jsonl")[0]] == ["secret"]


def test_links_inside_a_folder_are_followed_once_without_loops(tmp_path):
    (tmp_path / "sub").mkdir()
    write_jsonl(tmp_path / "sub" / "a.jsonl", [good(id="a")])
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)  # back to the top: a loop
    (tmp_path / "again").symlink_to(tmp_path / "sub")
    (tmp_path / "same.jsonl").symlink_to(tmp_path / "sub" / "a.jsonl")
    articles, problems = read(tmp_path)
    assert [a.id for a in articles] == ["a"] and problems == []
