"""The README's quickstart runs as written, in a fresh folder with the demo articles."""
import re
import shutil
import subprocess
import sys

import pytest
from helpers import DEMO, ROOT


@pytest.mark.slow
def test_readme_python_quickstart_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    shutil.copytree(DEMO, tmp_path / "demo")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={"PYTHONPATH": str(ROOT),
                                                         "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "added 8" in result.stdout
    assert "Amara Osei" in result.stdout
    assert (tmp_path / "index" / "manifest.json").is_file()


def test_readme_names_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
