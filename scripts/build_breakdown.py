#!/usr/bin/env python3
"""Where a kb index build spends its time: one process, one segment, phases timed by wrapping them.

CPU time of the one process (other work on a 2-core machine still inflates it: compare runs made
back to back), each phase's own time (a wrapped call inside another counts for itself only). Phases:
reading the JSONL into documents; the records of each passage; analysis (fugashi tagging for the word
and reading fields; character bigrams); postings added to the in-memory pool; stored fields and column
values (pickled, compressed, written); the rest of add_document; postings written (sort, blocks,
encoding); the rest of the commit.
Usage: scripts/build_breakdown.py [CORPUS.jsonl] [--docs N]   (default: the `kb bench` corpus)
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whoosh.codec.whoosh3 import W3PerDocWriter  # noqa: E402

from indexer.bench.speed import default_corpus  # noqa: E402
from indexer.index import bulk, counting, pool, store  # noqa: E402
from indexer.ingest.jsonl import documents_from_jsonl  # noqa: E402

SPENT: dict[str, float] = defaultdict(float)
_STACK: list[list[float]] = []  # per active timed call: [time spent in timed calls inside it]

PHASES = [
    ("read", "read JSONL → documents"),
    ("records", "records (passages, speaker readings)"),
    ("tagging", "analysis: words and readings (tagging)"),
    ("bigrams", "analysis: character bigrams"),
    ("pool", "postings added to the pool"),
    ("stored", "stored fields and columns written (pickle, zlib)"),
    ("add_document", "rest of add_document (fields, lengths)"),
    ("written", "postings written (sort, blocks, encode)"),
    ("commit", "rest of the commit (column files, terms table)"),
]


def timed(phase: str, fn):
    """`fn`, its own time (less that of timed calls inside it) added to `SPENT[phase]`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _STACK.append([0.0])
        t0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.process_time() - t0
            inner = _STACK.pop()[0]
            SPENT[phase] += elapsed - inner
            if _STACK:
                _STACK[-1][0] += elapsed

    return wrapper


def _wrap(owner, name: str, phase: str) -> None:
    if name in vars(owner):
        setattr(owner, name, timed(phase, vars(owner)[name]))


def instrument() -> None:
    """Wrap the build's phases (before a writer is made: it looks its term listers up then)."""
    _wrap(counting, "terms", "tagging")
    for name in ("text_terms", "reading_terms", "space_separated_terms"):  # the listers: their own time is the pool's
        setattr(counting, name, timed("pool", getattr(counting, name)))
    _wrap(pool.FrequencyPostings, "add_bigram_text", "bigrams")
    pool.bigram_postings = timed("bigrams", pool.bigram_postings)
    for cls in (pool.FieldPostings, pool.FrequencyPostings):
        for name in ("count", "add_identifier", "extend", "add_terms", "settle"):
            _wrap(cls, name, "pool")
    W3PerDocWriter.finish_doc = timed("stored", W3PerDocWriter.finish_doc)  # the previous writer's path
    if hasattr(bulk, "write_documents"):
        bulk.write_documents = timed("stored", bulk.write_documents)
    bulk.write_field = timed("written", bulk.write_field)
    _wrap(bulk.BulkWriter, "add_document", "add_document")
    bulk.BulkWriter.commit = timed("commit", bulk.BulkWriter.commit)
    _wrap(store.Index, "put", "records")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", nargs="?", type=Path, default=None)
    p.add_argument("--docs", type=int, default=None, help="the first N documents only")
    args = p.parse_args(argv)
    instrument()
    t0 = time.process_time()
    docs = documents_from_jsonl(args.corpus or default_corpus())[: args.docs]
    SPENT["read"] = time.process_time() - t0
    chars = sum(len(s.text) for d in docs for s in d.segments)
    work = Path(tempfile.mkdtemp(prefix="kb-breakdown-"))
    try:
        store.Index(work / "index", create=True).put(docs, procs=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(SPENT[key] for key, _ in PHASES)
    print(f"{len(docs):,} documents, {chars:,} characters, one process (CPU seconds)")
    for key, name in PHASES:
        print(f"{name:48} {SPENT[key]:7.2f} s  {100 * SPENT[key] / total:5.1f} %")
    print(f"{'total':48} {total:7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
