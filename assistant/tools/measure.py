"""Timers, percentiles, progress bars and memory figures the benchmarks share."""
from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def percentiles(seconds, points=(50, 95, 99)) -> str:
    """Example: [0.001, 0.002, 0.003] -> '2.0 / 2.9 / 3.0' (milliseconds)."""
    return " / ".join(f"{1000 * np.percentile(seconds, p):.1f}" for p in points)


class _Timer:
    s = 0.0


@contextmanager
def timed():
    """`with timed() as t: ...` then `t.s` holds the seconds it took."""
    timer, started = _Timer(), time.perf_counter()
    try:
        yield timer
    finally:
        timer.s = time.perf_counter() - started


def bar(items, desc: str, unit: str):
    """A progress bar on stderr with rate and time left, for any step that takes a while."""
    from tqdm import tqdm

    total = len(items) if hasattr(items, "__len__") else None
    return tqdm(items, desc=desc, unit=unit, total=total, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 10)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_anon_mb() -> float:
    """Memory the process owns, less file pages it maps (the on-disk synthetic vectors)."""
    return _status_mb("RssAnon")


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of this process (or process `pid`), the mapped files' pages that it
    touched included."""
    return _status_mb("VmRSS", pid)


def _status_mb(field: str, pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0
