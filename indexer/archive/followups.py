"""Keeping the follow-up links (ほかの回でも) in step with the index: `<data>/followups.json`.

`refresh(data, index)` runs at the end of every `transaction()` that changed the index (an add, a
replacement, a removal, a withdrawal, `kb rebuild`, `kb index`, `kb import-archive`): when the index
generation differs from the one the file was computed from, every link is computed again from the index
(`indexer.search.followups.compute`) and the file is replaced atomically. A removed document's links go
with it; a turn that became 「（発言取り消し）」 has no terms left and so no links.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from whoosh import index as whoosh_index

from indexer.archive.datadir import DataDir
from indexer.archive.files import write_atomic
from indexer.index.store import Index
from indexer.search import followups
from indexer.search.followup_links import FILE_NAME, FORMAT


def dumps(links: followups.Links) -> bytes:
    """The file's bytes: the generation, the linked turns, the pairs."""
    raw = {"format": FORMAT, "key": links.key, "threshold": followups.THRESHOLD,
           "turns": {tid: {k: v for k, v in asdict(t).items() if k != "id"} for tid, t in links.turns.items()},
           "pairs": [list(p) for p in links.pairs]}
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def stored_key(data: DataDir) -> list | None:
    """The index generation the kept links were computed from (None: no readable file)."""
    try:
        return json.loads((data.root / FILE_NAME).read_text(encoding="utf-8")).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def refresh(data: DataDir, index: Index | None = None, force: bool = False) -> bool:
    """Compute and keep the links again when the index changed since they were (or `force`); returns
    whether the file was written. Call while holding the write lock (`transaction()` does)."""
    if index is None:
        if not whoosh_index.exists_in(str(data.index)):
            (data.root / FILE_NAME).unlink(missing_ok=True)
            return False
        index = Index(data.index)
    _, snap = index.reading()
    if not force and stored_key(data) == [list(k) for k in snap.key]:
        return False
    write_atomic(data.root / FILE_NAME, dumps(followups.compute(index)))
    return True
