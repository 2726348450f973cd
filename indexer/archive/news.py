"""「新着」: what each saved search finds in the documents added or changed since the account's last visit.

"Added" means the turns of documents whose content was added or replaced after the baseline: the time a
document's content last changed comes from the audit log, read once by `publish.document_history` (the
same history the 管理 page's documents table shows). Counts are made with the account's own role (a member
sees members-only hits); a public visitor has no saved searches. The baseline is the visit's
(`visits.record_visit`, `visits.visit_baseline`).

>>> changed_docs({"a": {"content_at": "2026-01-01T00:00:10+00:00"}, "b": {"content_at": "2025-12-31T00:00:00+00:00"}},
...              since=_dt.datetime(2026, 1, 1, tzinfo=_dt.UTC).timestamp())
['a']
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace

from indexer.archive import accounts, saved, visits
from indexer.archive.datadir import DataDir
from indexer.archive.publish import document_history
from indexer.errors import KbError
from indexer.models import PART_LABELS, TYPE_LABELS
from indexer.search.kb import Filters, KnowledgeBase


@dataclass(frozen=True)
class SavedStatus:
    """A saved search with its counts: every hit (`total`) and the hits in new documents (`new`)."""

    search: saved.SavedSearch
    total: int
    new: int
    new_docs: tuple[str, ...] = ()
    since: float | None = None
    error: str = ""  # the search no longer runs (a message in Japanese); the counts are then 0

    @property
    def new_label(self) -> str:
        """「前回以降 3 件」.

        >>> SavedStatus(saved.SavedSearch("1", "内製化", "内製化"), 5, 3).new_label
        '前回以降 3 件'
        """
        return f"前回以降 {self.new} 件"

    def new_filters(self) -> Filters | None:
        """The search's filters narrowed to the new documents (None when nothing is new)."""
        return replace(self.search.to_filters(), doc_ids=self.new_docs) if self.new_docs and self.new else None

    def to_dict(self) -> dict:
        since = _dt.datetime.fromtimestamp(self.since, _dt.UTC).isoformat(timespec="seconds") if self.since else ""
        return {**self.search.to_dict(), "total": self.total, "new": self.new, "new_documents": list(self.new_docs),
                "since": since, "error": self.error}


def describe_filters(filters: dict) -> str:
    """The filters in Japanese, for a list.

    >>> describe_filters({"sessions": [2, 5], "doc_type": "transcript", "speaker": "北条"})
    '第2, 5回・トランスクリプト・話者 北条'
    """
    parts = []
    if filters.get("sessions"):
        parts.append(f"第{', '.join(str(n) for n in filters['sessions'])}回")
    if filters.get("date_from") or filters.get("date_to"):
        parts.append(f"{filters.get('date_from', '')}〜{filters.get('date_to', '')}")
    if filters.get("doc_type"):
        parts.append(TYPE_LABELS.get(filters["doc_type"], filters["doc_type"]))
    if filters.get("part"):
        parts.append(PART_LABELS.get(filters["part"], filters["part"]))
    if filters.get("speaker"):
        parts.append(f"話者 {filters['speaker']}")
    if filters.get("speaker_role"):
        parts.append(f"話者の役割 {filters['speaker_role']}")
    return "・".join(parts)


def _epoch(iso: str) -> float | None:
    try:
        t = _dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None
    return (t if t.tzinfo else t.replace(tzinfo=_dt.UTC)).timestamp()


def changed_docs(history: dict[str, dict], since: float) -> list[str]:
    """Documents whose content changed at or after `since` (the audit log keeps whole seconds: a change in
    the same second as the baseline counts as new rather than being lost)."""
    floor = int(since)
    return sorted(d for d, h in history.items() if (t := _epoch(h.get("content_at", ""))) is not None and t >= floor)


def overview(data: DataDir, kb: KnowledgeBase, user: str, since: float | None = None) -> list[SavedStatus]:
    """Every saved search of `user` with its total and its new hits since `since` (default: the baseline of
    the account's visit; without any visit yet, nothing is new)."""
    account = accounts.get_account(data.root, user)
    searches = saved.list_searches(data.root, user)  # raises for an unknown user
    role = account.role if account else "public"
    since = visits.visit_baseline(data.root, user) if since is None else since
    fresh = tuple(changed_docs(document_history(data), since)) if since is not None and searches else ()
    out = []
    for s in searches:
        try:
            f = s.to_filters()
            total = kb.search(s.query, f, role=role, page_size=1).total
            new = kb.search(s.query, replace(f, doc_ids=fresh), role=role, page_size=1).total if fresh else 0
        except KbError as e:  # one search that no longer runs must not hide the others
            out.append(SavedStatus(s, 0, 0, since=since, error=str(e) or type(e).__name__))
            continue
        out.append(SavedStatus(s, total, new, fresh if new else (), since))
    return out
