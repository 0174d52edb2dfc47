"""`--max-tokens` builds a new index (a collection: at `cluster init`) that embeds fewer
tokens of each passage, and an index built otherwise refuses it instead of mixing vectors."""
import json

import pytest
from helpers import DEMO

from assistant.cli.main import main
from assistant.cluster import catalog as catalogs
from assistant.storage.store import settings_for_index

ARTICLE = DEMO / "2025-06-14-chess.txt"


@pytest.mark.slow  # the real model embeds: these are the CLI's own settings
def test_a_new_index_records_the_limit_and_one_built_otherwise_refuses_another(tmp_path, capsys):
    plain, other = tmp_path / "plain", tmp_path / "other"
    assert main(["ingest", str(ARTICLE), "--quiet", "--max-tokens", "128", "--index", str(plain)]) == 0
    assert settings_for_index(plain).embed_max_tokens == 128
    assert json.loads((plain / "manifest.json").read_text())["embed_max_tokens"] == 128
    for again in ([], ["--max-tokens", "128"]):  # without it, the index keeps its own
        assert main(["ingest", str(ARTICLE), "--quiet", *again, "--index", str(plain)]) == 0
        assert "unchanged 1" in capsys.readouterr().out

    assert main(["ingest", str(ARTICLE), "--quiet", "--index", str(other)]) == 0
    capsys.readouterr()
    assert main(["ingest", str(ARTICLE), "--quiet", "--max-tokens", "128", "--index", str(other)]) == 2
    assert "embed_max_tokens" in capsys.readouterr().err
    assert settings_for_index(other).embed_max_tokens == 0


@pytest.mark.slow
def test_a_collection_takes_the_limit_at_init(tmp_path, capsys):
    root = tmp_path / "collection"
    assert main(["cluster", "init", "--shards", "2", "--max-tokens", "96", "--index", str(root)]) == 0
    assert catalogs.read(root).fingerprint["embed_max_tokens"] == 96
    assert main(["ingest", str(ARTICLE), "--quiet", "--index", str(root)]) == 0
    assert main(["ingest", str(ARTICLE), "--quiet", "--max-tokens", "128", "--index", str(root)]) == 2
    assert "cluster init" in capsys.readouterr().err
