"""Run code in a fresh Python process that can reach no model hub: how the tests prove that
a model loads strictly offline, from the package and the cache named, and nothing else."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assistant.embedding.model_files import CACHE_ENV

ROOT = Path(__file__).resolve().parents[1]


def run_offline(code: str, cache: Path, home: Path | None = None, timeout: int = 600) -> str:
    """The last line `code` prints, run with `cache` as the model cache (and `home` as the home
    folder, where given); fails the test, with the child's errors, when it exits non-zero."""
    env = {**os.environ, CACHE_ENV: str(cache), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9",
           **({"HOME": str(home)} if home is not None else {})}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]
