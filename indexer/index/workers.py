"""Build processes: a pool of spawned processes that index runs of documents into segments.

A caller that still has to read its documents (`kb import` of a large JSONL) starts the pool first
(`BuildPool(procs, warm=True)`): the processes start, import the indexer and load MeCab's dictionary
while the parent reads, instead of after it (and a parent holding gigabytes of documents is slower to
start processes from). What the pool builds does not depend on when it started: each run of documents
becomes one segment, in the order the runs were given (`indexer.index.store`).

>>> BuildPool.wanted(2, 1_000_000, 2_000_000), BuildPool.wanted(0, 1_000_000, 2_000_000)
(2, 0)
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

_progress_queue = None


def _init_worker(queue) -> None:
    global _progress_queue
    _progress_queue = queue


def tick() -> None:
    """Worker process: one more document indexed (for the parent's progress)."""
    if _progress_queue is not None:
        _progress_queue.put(1)


def _warm() -> None:
    """Worker process: import what indexing needs and load the tagger (MeCab's dictionary) ahead."""
    from indexer.index import bulk  # noqa: F401 - the writer and Whoosh, imported once ahead
    from indexer.text.analysis import analyze

    analyze("準備")


class BuildPool:
    """`procs` spawned build processes (not forked: the app builds from a threaded server) and the queue
    their progress comes back on. Close it (or use it as a context manager) when done."""

    def __init__(self, procs: int, warm: bool = False):
        ctx = multiprocessing.get_context("spawn")
        self.procs = procs
        self.queue = ctx.Queue()
        self.executor = ProcessPoolExecutor(procs, mp_context=ctx, initializer=_init_worker,
                                            initargs=(self.queue,))
        if warm:  # one task per process: each starts now (the pool starts processes as tasks arrive)
            for _ in range(procs):
                self.executor.submit(_warm)

    @staticmethod
    def wanted(procs: int, size_bytes: int, auto_chars: int) -> int:
        """Processes worth starting ahead for a build of `size_bytes` of UTF-8 text: `procs` when more than
        one is asked for; with 0 (automatic), two when the text is surely long enough (at most 3 bytes a
        character), else 0 (none started ahead: the build decides when it knows the documents)."""
        if procs > 1:
            return procs
        if procs <= 0 and size_bytes >= 3 * auto_chars:
            return min(2, os.cpu_count() or 1)
        return 0

    def close(self, cancel: bool = False) -> None:
        """Stop the processes once their running tasks end (`cancel`: drop the tasks not started)."""
        self.executor.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self) -> BuildPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(cancel=exc_type is not None)
