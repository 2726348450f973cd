"""Which turns a query finds: its match expression evaluated over per-turn masks (AND intersects, OR
unions, NOT subtracts), and which of them hold every content word.

A word matches a passage when all of its terms occur there (a compound such as 内製化 = 内製|化 within
one passage) in the text or the speaker's name, or one of its synonyms does, or (a kana word) its
reading does; a quoted phrase when the passage holds it literally. A turn holds a word when one of its
passages does. Keyword mode: the expression decides. Question mode: every scored turn (ranked OR)
that also satisfies the query's phrases and exclusions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.index.engine import Snapshot
from indexer.search.query import QUESTION, Leaf, ParsedQuery, Ref
from indexer.search.ranking import Alternative, Ranked, RankParams, turn_any, word_alternatives
from indexer.search.synonyms import Synonyms
from indexer.search.syntax import And, Not, Or
from indexer.text.analysis import bigrams
from indexer.text.normalize import fold_text

PHRASE_CANDIDATES = 20_000  # passages checked against the stored text for one quoted phrase
_EMPTY = np.empty(0, np.int64)


@dataclass
class Matches:
    """Turns a query finds (`turns`), those of them holding every content word (`all_terms`), the turns
    searched at all (`universe`: visible and filtered), and a way to count the turns holding one leaf
    (for the advice when nothing matched)."""

    turns: np.ndarray
    all_terms: np.ndarray
    universe: np.ndarray
    leaf_turns: object  # callable: leaf index → boolean turn mask


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The docnums in both of two sorted arrays of distinct docnums (as `np.intersect1d`, sorted): the
    shorter one looked up in the longer one, without sorting their concatenation."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not len(short):
        return short
    pos = np.searchsorted(long, short)
    pos[pos == len(long)] = 0
    return short[long[pos] == short]


def _squash(text: str) -> str:
    return "".join(fold_text(text).lower().split())


def phrase_docs(snap: Snapshot, searcher, phrase: str, limit: int = PHRASE_CANDIDATES) -> np.ndarray:
    """Passages containing `phrase` literally (width, case and white space ignored): candidates from
    the bigram postings, then checked against the stored text (kept folded in the snapshot once read).
    Also finds phrases that start or end inside a word (沢 志光君)."""
    needle = _squash(phrase)
    grams = bigrams(phrase)
    if not needle or not grams:
        return _EMPTY
    leaves = searcher.reader().leaf_readers()
    cand: np.ndarray | None = None
    for g in sorted(grams, key=lambda g: len(snap.postings(leaves, "bigram", g)[0])):
        docs = snap.postings(leaves, "bigram", g)[0]
        cand = docs if cand is None else _intersect(cand, docs)
        if not len(cand):
            return _EMPTY
    texts = snap.squashed
    out = []
    for d in cand[:limit].tolist():
        text = texts.get(d)
        if text is None:
            text = texts[d] = _squash(searcher.stored_fields(d).get("text", ""))
        if needle in text:
            out.append(d)
    return np.asarray(out, dtype=np.int64)


def alternative_parts(snap: Snapshot, searcher, alt: Alternative) -> list[np.ndarray]:
    """Where one alternative of a word occurs, one sorted docnum array per field holding all its terms
    (the arrays may overlap; none is empty)."""
    if alt.literal:
        docs = phrase_docs(snap, searcher, alt.literal)
        return [docs] if len(docs) else []
    leaves = searcher.reader().leaf_readers()
    found = []
    for field, _ in alt.fields:
        acc: np.ndarray | None = None
        for t in alt.terms:
            docs = snap.postings(leaves, field, t)[0]
            acc = docs if acc is None else _intersect(acc, docs)
            if not len(acc):
                break
        if acc is not None and len(acc):
            found.append(acc)
    return found


def _union(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return _EMPTY
    return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))


def alternative_docs(snap: Snapshot, searcher, alt: Alternative) -> np.ndarray:
    """Passages (docnums) where one alternative of a word occurs: all its terms in one of its fields."""
    return _union(alternative_parts(snap, searcher, alt))


def leaf_parts(snap: Snapshot, searcher, leaf: Leaf, params: RankParams, synonyms: Synonyms | None
               ) -> list[np.ndarray]:
    """The passages holding a leaf as overlapping docnum arrays (a phrase literally; a word through each
    field of each of its alternatives): what a turn mask needs, without sorting their union."""
    if leaf.phrase and len(_squash(leaf.word)) > 1:
        docs = phrase_docs(snap, searcher, leaf.word)
        return [docs] if len(docs) else []
    alts = word_alternatives(list(leaf.terms), leaf.phrase, leaf.word, params, synonyms)
    return [d for a in alts for d in alternative_parts(snap, searcher, a)]


def leaf_docs(snap: Snapshot, searcher, leaf: Leaf, params: RankParams, synonyms: Synonyms | None) -> np.ndarray:
    """Passages (docnums, sorted, distinct) holding a leaf: a phrase literally; a word through any of its
    alternatives."""
    return _union(leaf_parts(snap, searcher, leaf, params, synonyms))


def evaluate(node, leaf_turns, universe: np.ndarray) -> np.ndarray:
    """The turns satisfying a match expression (`universe`: the turns the role may see, filtered)."""
    if isinstance(node, Ref):
        return leaf_turns(node.leaf)
    if isinstance(node, Not):
        return universe & ~evaluate(node.child, leaf_turns, universe)
    if isinstance(node, And):
        out = universe.copy()
        for c in node.children:
            out &= evaluate(c, leaf_turns, universe)
            if not out.any():
                break
        return out
    if isinstance(node, Or):
        out = np.zeros_like(universe)
        for c in node.children:
            out |= evaluate(c, leaf_turns, universe)
        return out
    return np.zeros_like(universe)


def match(snap: Snapshot, searcher, parsed: ParsedQuery, ranked: Ranked, mask: np.ndarray, params: RankParams,
          synonyms: Synonyms | None = None) -> Matches:
    """The turns `parsed` finds among the passages `mask` allows (visibility and filters)."""
    universe = ranked.allowed if ranked.mask is mask and ranked.allowed is not None else turn_any(snap, mask)
    cache: dict[int, np.ndarray] = {}
    every_passage = bool(mask.all())  # (no filter and nothing hidden: no passage to leave out)

    def leaf_turns(i: int) -> np.ndarray:
        if i not in cache:  # each part marked on its own: their union is never sorted
            out = np.zeros(snap.n_turns, dtype=bool)
            for docs in leaf_parts(snap, searcher, parsed.leaves[i], params, synonyms):
                out[snap.turn.codes[docs if every_passage else docs[mask[docs]]]] = True
            cache[i] = out
        return cache[i]

    if parsed.mode == QUESTION:
        turns = ranked.matched & universe
        if parsed.expr is not None:
            turns &= evaluate(parsed.expr, leaf_turns, universe)
        every = turns.copy()
        for i in parsed.content:
            every &= leaf_turns(i)
        return Matches(turns, every, universe, leaf_turns)
    turns = evaluate(parsed.expr, leaf_turns, universe) if parsed.expr is not None else np.zeros_like(universe)
    return Matches(turns, turns, universe, leaf_turns)
