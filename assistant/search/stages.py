"""Stage timings of a question, recorded only while a benchmark asks for them: the benchmark
times the code that answers, never a copy of it. Off (the default), a stage costs one
context-variable lookup."""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar

_RECORD: ContextVar[dict | None] = ContextVar("stage_timings", default=None)


@contextmanager
def stage(name: str):
    """`with stage("fusion"): ...` adds its seconds under "fusion" while `recording()`."""
    record = _RECORD.get()
    if record is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        record[name] = record.get(name, 0.0) + time.perf_counter() - started


@contextmanager
def recording():
    """`with recording() as seconds: assistant.answer(...)` then seconds maps stage -> s."""
    seconds: dict[str, float] = {}
    token = _RECORD.set(seconds)
    try:
        yield seconds
    finally:
        _RECORD.reset(token)
