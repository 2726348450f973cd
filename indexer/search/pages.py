"""A first page without repeats: a report's heading line is not a hit of its own when its document has
other hits, and consecutive hits of one document fold under the first (as NDL groups by meeting).

A heading line is a report's record that is one short line without a speaker and without a sentence
end (「第1回レポート　推進体制と人材」, 「ゲスト講演：小鷺町の二つの内製化」). It stays a hit only where the
query matches nothing else of its document (the title alone).
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from indexer.index.engine import Snapshot
from indexer.models import Hit, HitGroup

HEADING_MAX_CHARS = 80
_SENTENCE_END = ("。", "．", ".", "！", "？", "!", "?")
_known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # snapshot → {docnum: is a heading line}
_shaped: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # snapshot → per turn: heading-shaped
_lock = threading.Lock()


def is_heading_text(text: str) -> bool:
    """One short line without a sentence end.

    >>> is_heading_text("ゲスト講演：小鷺町の二つの内製化"), is_heading_text("内製化を進めました。")
    (True, False)
    """
    text = text.strip()
    return bool(text) and len(text) <= HEADING_MAX_CHARS and "\n" not in text and not text.endswith(_SENTENCE_END)


def _code(col, value: str) -> int:
    hits = np.nonzero(col.values == value)[0]
    return int(hits[0]) if len(hits) else -1


def _candidates(snap: Snapshot, reps: np.ndarray) -> np.ndarray:
    """Whether each passage `reps` is a short speakerless report record (a heading line's shape)."""
    report, nobody = _code(snap.cols["doc_type"], "report"), _code(snap.cols["speaker"], "")
    return ((snap.cols["doc_type"].codes[reps] == report) & (snap.cols["speaker"].codes[reps] == nobody)
            & (snap.lengths["bigram"][reps] <= HEADING_MAX_CHARS))


def candidate_turns(snap: Snapshot) -> np.ndarray:
    """Per turn: whether its first passage has a heading line's shape (once per snapshot, read-only)."""
    with _lock:
        found = _shaped.get(snap)
    if found is None:
        found = _candidates(snap, snap.turn_rep)
        found.flags.writeable = False
        with _lock:
            _shaped[snap] = found
    return found


def heading_turns(snap: Snapshot, searcher, turns: np.ndarray) -> np.ndarray:
    """For each of `turns`, whether it is a report's heading line (stored text read only for the short
    speakerless report records, once per snapshot)."""
    reps = snap.turn_rep[turns]
    cand = candidate_turns(snap)[turns]
    out = np.zeros(len(turns), dtype=bool)
    if not cand.any():
        return out
    with _lock:  # searches run in several threads (the app)
        known = _known.setdefault(snap, {})
    for k in np.nonzero(cand)[0].tolist():
        d = int(reps[k])
        if d not in known:
            known[d] = is_heading_text(searcher.stored_fields(d).get("text", ""))
        out[k] = known[d]
    return out


def drop_repeated_headings(snap: Snapshot, searcher, matched: np.ndarray) -> tuple[np.ndarray, set[int]]:
    """`matched` (a turn mask) without the heading lines of documents that have other matching turns,
    and the heading turns kept (their document matched through them alone)."""
    if not (matched & candidate_turns(snap)).any():  # no heading line matched (a pass over the turns)
        return matched, set()
    turns = np.nonzero(matched)[0]
    heads = heading_turns(snap, searcher, turns)
    if not heads.any():
        return matched, set()
    docs = snap.cols["doc_id"].codes[snap.turn_rep[turns]]
    repeated = heads & np.isin(docs, docs[~heads])
    out = matched.copy()
    out[turns[repeated]] = False
    return out, set(turns[heads & ~repeated].tolist())


def fold_runs(hits: list[Hit]) -> list[HitGroup]:
    """The page's hits in order, each run of consecutive hits from one document as one group.

    >>> h = lambda i, d: Hit(i, d, 0, "", None, "", "", "", "", "", "", "", "")
    >>> [(g.lead, g.others) for g in fold_runs([h("a1", "a"), h("a2", "a"), h("b1", "b"), h("a3", "a")])]
    [('a1', ['a2']), ('b1', []), ('a3', [])]
    """
    groups: list[HitGroup] = []
    for h in hits:
        if groups and groups[-1].doc_id == h.doc_id:
            groups[-1].others.append(h.id)
        else:
            groups.append(HitGroup(h.doc_id, h.id))
    return groups
