"""Shared fixtures: a small real index (real model, FAISS, SQLite, bm25s) built once a session."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def demo_index_dir(tmp_path_factory) -> Path:
    """An index of the repo's demo articles; tests that write must copy it (`demo_copy`)."""
    from assistant import Assistant

    folder = tmp_path_factory.mktemp("demo-index")
    report = Assistant(folder).ingest([DEMO])
    assert report.added == len(list(DEMO.glob("*.txt")))
    return folder


@pytest.fixture()
def demo_copy(demo_index_dir, tmp_path) -> Path:
    """A private, writable copy of the demo index."""
    target = tmp_path / "index"
    shutil.copytree(demo_index_dir, target)
    return target


@pytest.fixture()
def demo_assistant(demo_index_dir):
    from assistant import Assistant

    return Assistant(demo_index_dir)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip saying why when this clone has none (a user's)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here: ../shared exists only on the project's machines")
    return path


def make_eval_set(folder: Path) -> Path:
    """A three-article, three-question set in the RealTime-QA layout."""
    folder.mkdir()
    corpus = [
        {"id": "n1", "url": "https://ex/1", "title": "Ferry service resumes", "date": "2024-03-01",
         "source": "ex.com", "text": "The island ferry resumed on Friday after the storm."},
        {"id": "n2", "url": "https://ex/2", "title": "Ferry operator picks new captain",
         "date": "2024-03-08", "source": "ex.com",
         "text": "The ferry operator named Ada Lovell as its new captain."},
        {"id": "n3", "url": "https://ex/3", "title": "Bakery wins prize", "date": "2024-03-02",
         "source": "ex.org", "text": "A bakery in Portside won the national sourdough prize."},
    ]
    with gzip.open(folder / "corpus.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(a) + "\n" for a in corpus)
    questions = [
        {"id": "q1", "question": "Who is the ferry operator's new captain?", "date": "2024-03-09",
         "choices": ["Ada Lovell", "Bob Ray"], "answers": ["Ada Lovell"], "google_ranked_ids": []},
        {"id": "q2", "question": "Which town's bakery won the sourdough prize?",
         "date": "2024-03-05", "choices": ["Portside", "Hull"], "answers": ["Portside"],
         "google_ranked_ids": []},
        {"id": "q3", "question": "Who is the new ferry captain?", "date": "2024-03-05",
         "choices": ["Ada Lovell", "Bob Ray"], "answers": ["Ada Lovell"], "google_ranked_ids": []},
    ]
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    return folder
