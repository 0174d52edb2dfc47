"""The tests themselves: no test module imports another or conftest.py (fixtures come from
conftest.py through pytest, plain helpers from helpers.py), and the small embedder keeps the
promises the package's embedders make."""
import ast
from pathlib import Path

import numpy as np
from helpers import WordHashEmbedder

from assistant.embedding.embedder import Embedder

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the modules `path` imports, wherever the import stands."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_test_module_imports_conftest_or_another_test_module():
    modules = sorted(TESTS.glob("test_*.py"))
    assert len(modules) > 20
    wrong = {path.name: sorted(name for name in imported_modules(path)
                               if name == "conftest" or name.startswith("test_"))
             for path in modules}
    assert {name: found for name, found in wrong.items() if found} == {}


def test_the_check_sees_both_kinds_of_import(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text("import os\nfrom conftest import ROOT\n\ndef f():\n"
                      "    import test_api.x\n    from helpers import DEMO\n")
    assert imported_modules(sample) == {"os", "conftest", "test_api", "helpers"}


def test_the_small_embedder_gives_unit_float32_rows_the_same_everywhere():
    small = WordHashEmbedder(dim=64)
    assert isinstance(small, Embedder)
    rows = small.embed(["Chess open", "the CHESS open!", "", "Bakery wins prize"])
    assert rows.dtype == np.float32 and rows.shape == (4, 64)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-6)
    assert rows[0] @ rows[1] > 0.8 and rows[0] @ rows[3] < 0.3  # shared words are near
    np.testing.assert_array_equal(rows, WordHashEmbedder(dim=64).embed(
        ["Chess open", "the CHESS open!", "", "Bakery wins prize"]))
    assert small.embed([]).shape == (0, 64)
