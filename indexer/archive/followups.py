"""Keeping the follow-up links (ほかの回でも) in step with the index: `<data>/followups.json`.

`refresh(data, index)` runs at the end of every `transaction()` that changed the index (an add, a
replacement, a removal, a withdrawal, `kb rebuild`, `kb index`, `kb import-archive`): when the index
generation differs from the one the file was computed from, the links of the documents put in since are
computed again from the index (`indexer.search.followups.compute`) and the file is replaced atomically.
A removed document's links go with it; a turn that became 「（発言取り消し）」 has no terms left and so no
links. Scores of the pairs kept from before are not recomputed (the collection statistics they used may
have moved a little); `kb rebuild` computes everything again.
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

#: Largest index (passages) whose links are computed in a write's transaction: about 40 times the sample
#: corpus. A larger one (the benchmarks' corpora) gets none — its file says so, and nothing is shown —
#: so a `kb add` into it costs no more than before.
MAX_PASSAGES = 20_000


def dumps(links: followups.Links, marks: dict[str, str]) -> bytes:
    """The file's bytes: the generation, each document's place, the linked turns, the pairs."""
    raw = {"format": FORMAT, "key": links.key, "threshold": followups.THRESHOLD, "docs": marks,
           "turns": {tid: {k: v for k, v in asdict(t).items() if k != "id"} for tid, t in links.turns.items()},
           "pairs": [list(p) for p in links.pairs]}
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def stored(data: DataDir) -> dict:
    """The kept file ({} when there is none or it cannot be read)."""
    try:
        raw = json.loads((data.root / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def refresh(data: DataDir, index: Index | None = None, force: bool = False) -> bool:
    """Bring the links in step with the index when it changed since they were computed (or `force`);
    returns whether the file was written. Only the documents put in or removed since then are scored
    again (`followups.compute(changed=…)`); everything is computed when there is no usable file, when most
    documents changed (a rebuild) or with `force`. Call while holding the write lock (`transaction()` does)."""
    if index is None:
        if not whoosh_index.exists_in(str(data.index)):
            (data.root / FILE_NAME).unlink(missing_ok=True)
            return False
        index = Index(data.index)
    if index.ix.doc_count() > MAX_PASSAGES:
        if stored(data).get("skipped"):
            return False
        write_atomic(data.root / FILE_NAME, json.dumps({"format": FORMAT, "key": None, "skipped": "too large",
                                                        "turns": {}, "pairs": []}).encode("utf-8"))
        return True
    _, snap = index.reading()
    raw = stored(data)
    if not force and raw.get("key") == [list(k) for k in snap.key]:
        return False
    marks = followups.doc_marks(index)
    usable = raw.get("format") == FORMAT and isinstance(raw.get("docs"), dict) and isinstance(raw.get("pairs"), list) \
        and raw.get("threshold") == followups.THRESHOLD
    changed = {d for d, m in marks.items() if raw.get("docs", {}).get(d) != m} if usable else set(marks)
    if force or not usable or len(changed) > len(marks) / 2:
        links = followups.compute(index)
    else:
        links = followups.compute(index, changed=changed, previous=raw["pairs"])
    write_atomic(data.root / FILE_NAME, dumps(links, marks))
    return True
