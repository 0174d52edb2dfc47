"""Named points where a test can kill the process for real, to prove crash safety.

`ASSISTANT_CRASH_AT=commit:2` sends SIGKILL to this process the second time it reaches the
point named `commit`. Unset (always, outside tests), a point costs one dictionary lookup.
"""
from __future__ import annotations

import os
import signal

ENV = "ASSISTANT_CRASH_AT"
_seen: dict[str, int] = {}


def crash_point(name: str) -> None:
    target = os.environ.get(ENV)
    if not target:
        return
    point, _, count = target.partition(":")
    if point == name:
        _seen[name] = _seen.get(name, 0) + 1
        if _seen[name] >= int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)
