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


class _Scorer:
    """A turn's distinctive terms and its scores against the other sessions' turns, in one snapshot."""

    def __init__(self, searcher, snap, min_shared: int):
        self.searcher, self.snap, self.min_shared = searcher, snap, min_shared
        self.leaves = searcher.reader().leaf_readers()
        col = snap.cols["session"]
        self.sessions = col.values[col.codes]  # per passage
        self.n_sessions = len({s for s in col.values.tolist() if s})
        self.max_df = max(3, int(MAX_DF_SHARE * int((snap.turn_rep >= 0).sum())))
        self.memo: dict[str, tuple[int, float] | None] = {}  # term → (turns holding it, spread)
        reps = np.maximum(snap.turn_rep, 0)
        self.session_of = np.where(snap.turn_rep >= 0, self.sessions[reps] if len(reps) else "", "")  # per turn
        self.eligible = self.session_of != ""
        self.eligible[list(_edge_turns(snap))] = False

    def terms(self, code: int) -> list[str]:
        """The turn's TOP_TERMS distinctive terms ([] when it has fewer than MIN_TERMS)."""
        snap, leaves = self.snap, self.leaves
        weighted = []
        for term, tf in content_terms(snap.turn_text(self.searcher, int(snap.turn_rep[code]))).items():
            spread = _spread(snap, leaves, term, self.sessions, self.n_sessions, self.memo)
            if spread is not None and 2 <= spread[0] <= self.max_df:
                weighted.append((tf * snap.idf(leaves, "text", term) * spread[1], term))
        return [t for _, t in sorted(weighted, reverse=True)[:TOP_TERMS]] if len(weighted) >= MIN_TERMS else []

    def scores(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        """(turn codes of other sessions holding at least `min_shared` of the turn's terms, their scores)."""
        empty = (np.empty(0, np.int64), np.empty(0, np.float32))
        terms = self.terms(code) if self.eligible[code] else []
        if not terms:
            return empty
        found = [_per_turn_max(self.snap.turn.codes[d], w * self.memo[t][1])
                 for t in terms for d, w in [self.snap.bm25(self.leaves, "text", t, K1, B)]]
        codes = np.concatenate([c for c, _ in found]).astype(np.int64)
        weights = np.concatenate([w for _, w in found]).astype(np.float64)
        own = float(weights[codes == code].sum())
        if own <= 0:
            return empty
        uniq, inv = np.unique(codes, return_inverse=True)
        total, shared = np.bincount(inv, weights=weights), np.bincount(inv)
        keep = (shared >= self.min_shared) & self.eligible[uniq] & (self.session_of[uniq] != self.session_of[code])
        return uniq[keep], np.minimum(total[keep] / own, total[keep] / MIN_MASS)


def doc_marks(index: Index) -> dict[str, str]:
    """Each document's place in the index (its first passage's segment and number): it changes when the
    document is put again (added, replaced, re-read after a withdrawal) or its segment is merged."""
    searcher, snap = index.reading()
    live = np.nonzero(snap.live)[0]
    doc_codes, first = np.unique(snap.cols["doc_id"].codes[live], return_index=True)
    heads = live[first]
    seg = np.searchsorted(np.asarray(snap.offsets), heads, side="right") - 1
    values = snap.cols["doc_id"].values
    return {str(values[c]): f"{snap.seg_keys[s]}:{h - snap.offsets[s]}"
            for c, h, s in zip(doc_codes.tolist(), heads.tolist(), seg.tolist(), strict=True)}


def compute(index: Index, threshold: float = THRESHOLD, min_shared: int = MIN_SHARED, keep_scores: bool = False,
            changed: set[str] | None = None, previous: list | None = None) -> Links:
    """The follow-up links of the index. `changed` (document ids) with `previous` (the pairs computed
    before): only the turns of those documents are scored again (both ways: their terms against every
    other turn, and the terms of the turns they matched against them); the other previous pairs are kept.
    `keep_scores`: keep every scored pair instead of those reaching `threshold` (for calibration)."""
    searcher, snap = index.reading()
    links = Links(key=[list(k) for k in snap.key])
    if snap.n_turns == 0 or snap.n_turns > MAX_TURNS:
        return links
    sc = _Scorer(searcher, snap, min_shared)
    live = np.nonzero(snap.turn_rep >= 0)[0]
    best: dict[tuple[int, int], float] = {}
    floor = -1.0 if keep_scores else threshold
    if changed is None:
        sources = live.tolist()
    else:
        doc_of = snap.cols["doc_id"].values[snap.cols["doc_id"].codes[snap.turn_rep[live]]]
        sources = live[np.isin(doc_of, list(changed))].tolist()
        position = {str(t): i for i, t in enumerate(snap.turn.values.tolist())}
        for a, b, score in previous or []:
            ca, cb = position.get(a, -1), position.get(b, -1)
            if min(ca, cb) >= 0 and snap.turn_rep[ca] >= 0 and snap.turn_rep[cb] >= 0 \
                    and a.rpartition("#")[0] not in changed and b.rpartition("#")[0] not in changed:
                best[(min(ca, cb), max(ca, cb))] = float(score)
    again: set[int] = set()
    for code in sources:
        others, scores = sc.scores(code)
        for c, x in zip(others.tolist(), scores.tolist(), strict=True):
            if x >= floor:
                pair = (min(code, c), max(code, c))
                best[pair] = max(best.get(pair, 0.0), x)
            if changed is not None and x >= threshold / 2:
                again.add(c)  # its own terms may find this turn: score it the other way too
    mine = set(sources)
    for c in again - mine:
        others, scores = sc.scores(c)
        for o, x in zip(others.tolist(), scores.tolist(), strict=True):
            if o in mine and x >= floor:
                pair = (min(o, c), max(o, c))
                best[pair] = max(best.get(pair, 0.0), x)
    turns: dict[int, Turn] = {}
    kept: Counter = Counter()
    for (a, b), score in sorted(best.items(), key=lambda kv: -kv[1]):
        if not keep_scores and (kept[a] >= MAX_LINKS or kept[b] >= MAX_LINKS):
            continue
        for c in (a, b):
            if c not in turns:
                turns[c] = _turn(searcher, snap, c, snap.turn_text(searcher, int(snap.turn_rep[c])),
                                 str(sc.session_of[c]))
        kept[a] += 1
        kept[b] += 1
        links.pairs.append((turns[a].id, turns[b].id, round(float(score), 4)))
    links.turns = {t.id: t for t in turns.values()}
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
