"""The record of withdrawn remarks applied to the documents an open index is given (`Index.prepare`), kept in
step with them: a withdrawal whose text a replaced document now holds elsewhere is moved there in the record.

Set by `transaction()` on the index it opens, so every add, replacement, import and metadata edit indexes the
documents with their withdrawn remarks replaced (the index never holds the text).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from indexer.archive.files import write_atomic
from indexer.ingest.withdrawals import RECORD_NAME, apply, dumps, load, relocated
from indexer.models import Document


def applier(root: Path) -> Callable[[list[Document]], list[Document]]:
    """`docs → docs` with the record of the data directory `root` applied (read when called, and rewritten
    when a replaced document moved a withdrawn text: call only under the write lock)."""

    def prepare(docs: list[Document]) -> list[Document]:
        items = load(root)
        if not items:
            return list(docs)
        docs = list(docs)
        moved = relocated(docs, items)
        if moved != items:
            write_atomic(Path(root) / RECORD_NAME, dumps(moved))
        return apply(docs, moved)

    return prepare
