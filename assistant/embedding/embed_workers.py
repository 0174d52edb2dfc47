"""Bounded model runs: the embedders' own worker threads and the stall guard. A call is cut
into runs that daemon workers take smallest call first; a call none of whose runs finishes
for a generous while raises EmbeddingStalled and hands later calls new workers, since a
thread stuck in native code cannot be stopped, only left alone (see embedder.py)."""
from __future__ import annotations

import itertools
import queue
import threading
from concurrent.futures import FIRST_COMPLETED, Future, wait

import numpy as np

from ..errors import EmbeddingStalled

# A call stalls when none of its runs finishes in STALL_S plus STALL_PER_TEXT_S a text of its
# largest run. A run takes ~0.1 s (4 passages, int8) to ~2 s (32, fp32) on 2 busy cores, so
# only a run that will never end trips it.
STALL_S = 60.0
STALL_PER_TEXT_S = 0.5


class Workers:
    """Daemon threads running model runs, the smallest call's first (a question is not
    queued behind an ingest's slice). Daemon, unlike ThreadPoolExecutor's joined threads: a
    run stuck for good in native code must not keep a process from exiting after its
    caller has been told."""

    def __init__(self, count: int):
        self._jobs: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()  # first come, first served within a priority
        self._count = count
        for i in range(count):
            threading.Thread(target=self._serve, name=f"embed_{i}", daemon=True).start()

    def submit(self, priority: int, fn, arg) -> Future:
        future: Future = Future()
        self._jobs.put((priority, next(self._order), (future, fn, arg)))
        return future

    def close(self) -> None:
        """Idle workers end once the runs queued before are done or cancelled."""
        for _ in range(self._count):
            self._jobs.put((float("inf"), next(self._order), None))

    def _serve(self) -> None:
        while (job := self._jobs.get()[2]) is not None:
            future, fn, arg = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(arg))
                except BaseException as error:  # noqa: BLE001 (to the caller, as executors do)
                    future.set_exception(error)


class BoundedEmbedder:
    """What the backends share: a call sorted by length and cut into runs of `batch_size`
    texts, which the workers run while the caller waits with a bound. Subclasses say how
    a call is prepared (`_prepare`) and how a run of its rows is embedded (`_encode`)."""

    backend = ""
    dim: int  # set by each subclass
    batch_size: int

    def _start(self, threads: int, stall_s: float) -> None:
        self.threads = threads
        self.stall_s = stall_s
        self._workers = Workers(threads)
        self._replacing = threading.Lock()

    def _prepare(self, texts: list[str]) -> tuple[object, np.ndarray]:
        """-> (what `_encode` reads, the row order: longest first)."""
        raise NotImplementedError

    def _encode(self, prepared, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        prepared, order = self._prepare(texts)

        def run(rows: np.ndarray) -> None:
            out[rows] = self._encode(prepared, rows)

        self._run_all(run, [order[start:start + self.batch_size]
                            for start in range(0, len(texts), self.batch_size)], texts)
        return out

    def _run_all(self, run, batches: list[np.ndarray], texts: list[str]) -> None:
        """run(rows) for every batch on the workers. Raises EmbeddingStalled when none
        finishes within the allowance, and hands later calls new workers: a stuck thread
        cannot be stopped, only left alone."""
        workers = self._workers
        pending = {workers.submit(len(texts), run, rows): rows for rows in batches}
        allowance = self.stall_s + STALL_PER_TEXT_S * max(map(len, batches))
        try:
            while pending:
                done, _ = wait(pending, allowance, FIRST_COMPLETED)
                if not done:
                    self._replace(workers)
                    stuck = [[len(texts[i]) for i in rows]
                             for future, rows in pending.items() if future.running()]
                    raise EmbeddingStalled(stall_message(self.backend, allowance,
                                                         [len(t) for t in texts], stuck))
                for future in done:
                    del pending[future]
                    future.result()  # a run's own error, raised here
        finally:
            for future in pending:
                future.cancel()

    def _replace(self, workers: Workers) -> None:
        with self._replacing:
            if self._workers is workers:  # not already replaced by another stalled call
                workers.close()
                self._workers = Workers(self.threads)


def stall_message(backend: str, seconds: float, lengths: list[int],
                  stuck: list[list[int]]) -> str:
    """Example: ('onnx-int8', 62, [40, 900, 95], [[900, 95]]) -> 'embedding stalled: the
    onnx-int8 backend finished no run of a call of 3 texts (40-900 characters) in 62 s;
    running: 1 run of 2 texts (900, 95 characters). Nothing ...'"""
    running = "; ".join(f"{texts_count(len(r))} ({', '.join(map(str, r))} characters)"
                        for r in stuck)
    return (f"embedding stalled: the {backend} backend finished no run of a call of "
            f"{texts_count(len(lengths))} ({min(lengths)}-{max(lengths)} characters) in "
            f"{seconds:.0f} s; running: {len(stuck)} run{'s' * (len(stuck) != 1)}"
            f"{' of ' + running if running else ''}. Nothing from this call was kept (an "
            "ingest commits none of its batch) and the next call gets new worker threads: "
            "retry; if it stalls again, report it with `py-spy dump` of the process")


def texts_count(n: int) -> str:
    """Example: 1 -> '1 text'; 3 -> '3 texts'"""
    return f"{n} text{'s' * (n != 1)}"
