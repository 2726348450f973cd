"""Speakers as people look for them: a part of the name, or its reading in kana (さえき → 佐伯一郎); a speaker's turns.

The readings are the analyzer's (`indexer.text.analysis.name_readings`, the same the index keeps for speaker
names), so typing the reading of a surname or a whole name finds the speaker written in kanji.

>>> speaker_matches("佐伯一郎", "佐伯"), speaker_matches("佐伯一郎", "さえき"), speaker_matches("佐伯一郎", "北条")
(True, True, False)
>>> speaker_matches("佐伯一郎", "サエキ イチロウ"), speaker_matches("佐伯一郎", "佐伯講師")
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from whoosh import query as Q

from indexer.index.store import segments_from_records
from indexer.search.kb import KnowledgeBase, check_role, visibility_filter
from indexer.text.analysis import name_readings, to_katakana
from indexer.text.speakers import normalize_name


@lru_cache(maxsize=4096)
def _readings(name: str) -> tuple[str, ...]:
    return tuple(name_readings(name).split())


def speaker_matches(name: str, needle: str) -> bool:
    """Whether `needle` (a part of the name, the name with a title, or its reading in kana) finds `name`."""
    needle = (needle or "").strip()
    if not needle or not name:
        return False
    key = normalize_name(needle)[0] or needle
    if key in name or needle in name:
        return True
    kata = to_katakana("".join(needle.split()))
    return bool(kata) and any(kata in r for r in _readings(name))


def matching_speakers(names: list[str], needle: str) -> list[str]:
    """The names `needle` finds, in their order.

    >>> matching_speakers(["北条真琴", "佐伯一郎", "佐伯隆之"], "さえき")
    ['佐伯一郎', '佐伯隆之']
    """
    return [n for n in names if speaker_matches(n, needle)]


@dataclass
class SpeakerTurn:
    """One turn of a speaker, with where it is."""

    doc_id: str
    title: str
    session: int | None
    date: str
    order: int
    text: str
    part: str
    qa: str
    visibility: str


def speaker_turns(kb: KnowledgeBase, name: str, role: str = "public", limit: int = 500) -> list[SpeakerTurn]:
    """Every turn of the speaker `name` (exactly, as the index writes it) that `role` may see, by date."""
    check_role(role)
    if not name:
        return []
    q: Q.Query = Q.Term("speaker", name)
    vis = visibility_filter(role)
    if vis is not None:
        q = Q.And([q, vis])
    by_doc: dict[str, list[dict]] = {}
    with kb.index.searcher() as s:
        for d in q.docs(s):
            r = s.stored_fields(d)
            by_doc.setdefault(r["doc_id"], []).append(r)
    out: list[SpeakerTurn] = []
    for doc_id, recs in by_doc.items():
        head = recs[0]
        session = int(head["session"]) if str(head.get("session", "")).isdigit() else None
        for seg in segments_from_records(recs):
            out.append(SpeakerTurn(doc_id, kb.title(doc_id), session, head.get("date", ""), seg.order, seg.text,
                                   seg.part, seg.qa, seg.visibility))
    out.sort(key=lambda t: (t.date, t.session or 0, t.doc_id, t.order))
    return out[:limit]
