"""Reading the stored follow-up links (ほかの回でも) for one turn, as one role may see them.

The links are computed by `indexer.search.followups` and kept in `<data>/followups.json` by
`indexer.archive.followups`, which also records the index generation they were computed from: links of
another generation (an index changed outside the archive's transactions) are not shown, so a link never
names text the index no longer holds (a withdrawn remark, a removed document).

>>> Followup("s05-transcript#0051", "s05-transcript", 51, "5", "北条真琴", True, "集計の結果です", 0.5).lead
'第5回でも議論'
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "followups.json"
FORMAT = 1
_cache: dict[str, tuple[tuple[int, int], FollowupStore]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Followup:
    """A turn of another session that takes up the same topic."""

    id: str
    doc_id: str
    order: int
    session: str
    speaker: str
    public: bool
    snippet: str
    score: float
    title: str = ""

    @property
    def who(self) -> str:
        """Who spoke the turn, else the document's title (a report's paragraph)."""
        return self.speaker or self.title

    @property
    def lead(self) -> str:
        """「第5回でも議論」: the line's lead (the session it is in)."""
        return f"第{self.session}回でも議論" if self.session else "ほかの回でも議論"

    def to_dict(self) -> dict:
        """As `kb followups --json` and the hits of `kb search --json` give it (with the turn's permalink)."""
        from indexer.search.cite import base_url, permalink

        out = asdict(self)
        out["session"] = int(self.session) if self.session.isdigit() else self.session
        out["url"] = permalink(base_url(), self.doc_id, self.order)
        return out


class FollowupStore:
    """Every stored link, by turn."""

    def __init__(self, raw: dict):
        self.key = raw.get("key") or []
        turns = raw.get("turns") or {}
        self.by_turn: dict[str, list[Followup]] = {}
        self.public: dict[str, bool] = {tid: bool(t.get("public")) for tid, t in turns.items()}
        for a, b, score in raw.get("pairs") or []:
            for one, other in ((a, b), (b, a)):
                t = turns.get(other)
                if t is None:
                    continue
                self.by_turn.setdefault(one, []).append(Followup(
                    other, t["doc_id"], int(t["order"]), str(t["session"]), t.get("speaker", ""),
                    bool(t.get("public")), t.get("snippet", ""), float(score), t.get("title", "")))
        for items in self.by_turn.values():
            items.sort(key=lambda f: (int(f.session) if f.session.isdigit() else 0, -f.score))

    def current(self, snapshot_key) -> bool:
        """Computed from the index generation `snapshot_key` (a `Snapshot.key`)."""
        return self.key == [list(k) for k in snapshot_key]

    def of(self, turn_id: str, role: str) -> list[Followup]:
        """The turns linked to `turn_id` that `role` may see: for the public, neither side may be
        members-only (a members-only turn is not even named by its public partner)."""
        items = self.by_turn.get(turn_id, [])
        if role == "public":
            if not self.public.get(turn_id, False):
                return []
            return [f for f in items if f.public]
        return list(items)


_NONE = FollowupStore({})  # no links kept (shared: never changed)


def load(data_dir: str | Path) -> FollowupStore:
    """The links kept in `data_dir` (empty when there are none), re-read when the file changes."""
    path = Path(data_dir) / FILE_NAME
    try:
        st = path.stat()
    except OSError:
        return _NONE
    stamp = (st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _cache.get(str(path))
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raw = {}
    store = FollowupStore(raw if isinstance(raw, dict) and raw.get("format") == FORMAT else {})
    with _lock:
        _cache[str(path)] = (stamp, store)
    return store


def _current(kb) -> FollowupStore | None:
    """The kept links of `kb`'s data directory when they were computed from its index as it is now (None
    when there are none: no file, or not computed for a large index; the index is not even looked at)."""
    store = load(kb.data_dir)
    if not store.by_turn:
        return None
    _, snap = kb.index.reading()
    return store if store.current(snap.key) else None


def for_turn(kb, turn_id: str, role: str) -> list[Followup]:
    """The follow-ups of one turn that `role` may see (`kb`: a `KnowledgeBase`)."""
    store = _current(kb)
    return store.of(turn_id, role) if store is not None else []


def for_document(kb, doc, role: str) -> dict[int, list[Followup]]:
    """Turn order → its follow-ups that `role` may see, for every turn of `doc` (a `Document`) that has any."""
    store = _current(kb)
    if store is None:
        return {}
    out = {}
    for seg in doc.segments:
        found = store.of(doc.segment_id(seg.order), role)
        if found:
            out[seg.order] = found
    return out


def attach(kb, hits: list, role: str) -> None:
    """Fill each hit's `followups` (dicts, as `kb search --json` gives them) with what `role` may see."""
    store = _current(kb)
    if store is None:
        return
    for hit in hits:
        hit.followups = [f.to_dict() for f in store.of(hit.id, role)]
