"""Follow-ups across sessions (ほかの回でも): turns of different sessions that take up the same topic.

Computed from the index itself, for every turn: its own distinctive terms (nouns of two characters or more,
weighted by tf × BM25 IDF over the index; words found in most turns and the withdrawn-remark marker left
out) are scored with BM25 (the index's engine) against the turns of the *other* sessions. A pair of turns
is linked when, in either direction, the score relative to the turn's score on itself reaches THRESHOLD and
at least MIN_SHARED of the terms are found in the other turn. Calibrated on `tests/data/followups.jsonl`
(`scripts/followup_quality.py`, docs/quality.md).

The links are stored beside the index (`indexer.archive.followups`, `<data>/followups.json`) and read by
`indexer.search.followup_links`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from indexer.index.store import Index, head_id
from indexer.text.analysis import japanese_analyzer

#: The text a withdrawn remark (発言の取り消し) leaves in the index: never a topic.
WITHDRAWN = "（発言取り消し）"
#: Distinctive terms taken from each turn.
TOP_TERMS = 10
#: A turn with fewer distinctive terms than this says too little to be followed up.
MIN_TERMS = 4
#: Terms found in more than this share of the turns are too common to be distinctive.
MAX_DF_SHARE = 0.05
#: Score (relative to the turn's own score) from which two turns of different sessions are linked.
THRESHOLD = 0.25
#: Score mass (BM25 × spread over the shared terms) below which a pair scores less than its share.
MIN_MASS = 12.0
#: Distinctive terms the other turn must hold.
MIN_SHARED = 3
#: A document of at least EDGE_MIN_TURNS turns opens with EDGE_HEAD turns (date and venue, the recording
#: notice, the opening words) and closes with EDGE_TAIL (the next session's notice): housekeeping that every
#: session repeats with that session's own words, never a topic taken up again.
EDGE_HEAD, EDGE_TAIL, EDGE_MIN_TURNS = 3, 1, 12
#: Links kept per turn (the best first).
MAX_LINKS = 5
#: Largest index whose follow-ups are computed (turns): beyond it the links are left out.
MAX_TURNS = 200_000
K1, B = 1.2, 0.75
_NUMBER = re.compile(r"^[0-9０-９.,一二三四五六七八九十百千万億]+$")


@dataclass
class Turn:
    """One turn as the links name it."""

    id: str
    doc_id: str
    order: int
    session: str
    speaker: str
    public: bool
    snippet: str
    title: str = ""  # the document's title


@dataclass
class Links:
    """Every turn that has a link, and the linked pairs (a, b, score) with a < b."""

    key: list = field(default_factory=list)
    turns: dict[str, Turn] = field(default_factory=dict)
    pairs: list[tuple[str, str, float]] = field(default_factory=list)


def content_terms(text: str) -> Counter:
    """The nouns of `text` (index terms, two characters or more, no numbers) and their counts.

    >>> sorted(content_terms("共同任用の費用は三団体で負担します。"))
    ['任用', '共同', '団体', '負担', '費用']
    """
    text = text.replace(WITHDRAWN, " ")
    out: Counter = Counter()
    for t in japanese_analyzer()(text):
        if getattr(t, "tag", "") == "名詞" and len(t.text) >= 2 and not _NUMBER.match(t.text):
            out[t.text] += 1
    return out


def snippet(text: str, limit: int = 40) -> str:
    """The start of a turn's text, on one line.

    >>> snippet("一行目\\n二行目", 5)
    '一行目 二…'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _per_turn_max(turns: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(turn codes, their best passage weight) of one term's postings."""
    order = np.argsort(turns, kind="stable")
    turns, weights = turns[order], weights[order]
    uniq, starts = np.unique(turns, return_index=True)
    return uniq, np.maximum.reduceat(weights, starts) if len(weights) else weights


def _spread(snap, leaves, term: str, sessions: np.ndarray, n_sessions: int, memo: dict
            ) -> tuple[int, float] | None:
    """(turns holding `term`, how few sessions do: (1 − (sessions holding it − 1) / (sessions − 1))², 1 when
    one session does, 0 when every one does); None when no turn does. Words every session uses (開会,
    会員限定 …) are no topic; with fewer than three sessions every word weighs 1."""
    found = memo.get(term)
    if found is None:
        docs = snap.postings(leaves, "text", term)[0]
        if not len(docs):
            return None
        held = len({s for s in sessions[docs].tolist() if s})
        share = 0.0 if n_sessions < 3 else (max(held, 1) - 1) / (n_sessions - 1)
        found = (len(np.unique(snap.turn.codes[docs])), float((1.0 - share) ** 2))
        memo[term] = found
    return found


def _edge_turns(snap) -> set[int]:
    """The opening and closing turns (codes) of every document long enough to have them."""
    live = np.nonzero(snap.turn_rep >= 0)[0]
    reps = snap.turn_rep[live]
    docs = snap.cols["doc_id"].codes[reps]
    order = np.lexsort((snap.order[reps], docs))
    out: set[int] = set()
    bounds = np.flatnonzero(np.diff(docs[order])) + 1
    for run in np.split(live[order], bounds):
        if len(run) >= EDGE_MIN_TURNS:
            out.update(run[:EDGE_HEAD].tolist())
            out.update(run[len(run) - EDGE_TAIL:].tolist())
    return out


def compute(index: Index, threshold: float = THRESHOLD, min_shared: int = MIN_SHARED,
            keep_scores: bool = False) -> Links:
    """The follow-up links of the whole index. `keep_scores`: keep every scored pair (any score, at least
    one shared term) instead of those above `threshold`, for calibration."""
    searcher, snap = index.reading()
    leaves = searcher.reader().leaf_readers()
    links = Links(key=[list(k) for k in snap.key])
    if snap.n_turns == 0 or snap.n_turns > MAX_TURNS:
        return links
    session_col = snap.cols["session"]
    sessions = session_col.values[session_col.codes]  # per passage
    turn_codes = snap.turn.codes
    n_turns_live = int((snap.turn_rep >= 0).sum())
    max_df = max(3, int(MAX_DF_SHARE * n_turns_live))
    n_sessions = len({s for s in session_col.values.tolist() if s})
    turns: dict[int, Turn] = {}
    best: dict[tuple[int, int], float] = {}
    edges = _edge_turns(snap)
    memo: dict[str, tuple[int, float] | None] = {}  # term → its spread
    for code in np.nonzero(snap.turn_rep >= 0)[0].tolist():
        rep = int(snap.turn_rep[code])
        session = str(sessions[rep])
        if not session or code in edges:
            continue
        text = snap.turn_text(searcher, rep)
        counts = content_terms(text)
        weighted = []
        for term, tf in counts.items():
            spread = _spread(snap, leaves, term, sessions, n_sessions, memo)
            if spread is not None and 2 <= spread[0] <= max_df:
                weighted.append((tf * snap.idf(leaves, "text", term) * spread[1], term))
        if len(weighted) < MIN_TERMS:
            continue
        terms = [t for _, t in sorted(weighted, reverse=True)[:TOP_TERMS]]
        total: dict[int, float] = {}
        shared: Counter = Counter()
        own = 0.0
        for term in terms:
            docs, w = snap.bm25(leaves, "text", term, K1, B)
            other, weights = _per_turn_max(turn_codes[docs], w * memo[term][1])
            for c, x in zip(other.tolist(), weights.tolist(), strict=True):
                if c == code:
                    own += x
                    continue
                total[c] = total.get(c, 0.0) + x
                shared[c] += 1
        if own <= 0:
            continue
        for c, s in total.items():
            rep_c = int(snap.turn_rep[c])
            if rep_c < 0 or str(sessions[rep_c]) in ("", session) or shared[c] < min_shared or c in edges:
                continue
            score = min(s / own, s / MIN_MASS)
            if not keep_scores and score < threshold:
                continue
            pair = (min(code, c), max(code, c))
            best[pair] = max(best.get(pair, 0.0), score)
        turns[code] = _turn(searcher, snap, code, text, session)
    kept: Counter = Counter()
    for (a, b), score in sorted(best.items(), key=lambda kv: -kv[1]):
        if not keep_scores and (kept[a] >= MAX_LINKS or kept[b] >= MAX_LINKS):
            continue
        for c in (a, b):
            if c not in turns:
                rep_c = int(snap.turn_rep[c])
                turns[c] = _turn(searcher, snap, c, snap.turn_text(searcher, rep_c), str(sessions[rep_c]))
        kept[a] += 1
        kept[b] += 1
        links.pairs.append((turns[a].id, turns[b].id, round(float(score), 4)))
    linked = {x for a, b, _ in links.pairs for x in (a, b)}
    links.turns = {t.id: t for t in turns.values() if t.id in linked}
    return links


def _turn(searcher, snap, code: int, text: str, session: str) -> Turn:
    """A turn's description from its first passage's stored fields."""
    rep = int(snap.turn_rep[code])
    f = searcher.stored_fields(rep)
    public = bool(snap.public[snap.turn_docs(rep)].all())
    titles = snap.titles
    if f["doc_id"] not in titles:
        titles[f["doc_id"]] = (searcher.document(id=head_id(f["doc_id"])) or {}).get("title", "")
    return Turn(id=f["seg_id"], doc_id=f["doc_id"], order=int(f.get("order", 0)), session=session,
                speaker=f.get("speaker", ""), public=public, snippet=snippet(text), title=titles[f["doc_id"]])
