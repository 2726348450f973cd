"""Ranking with NumPy over a snapshot: BM25 per passage, best passage per turn, AND/OR semantics,
answers found through their question.

- Keywords (AND): every keyword group must occur in the turn; a group's own terms must occur in the
  same passage (a compound such as 内製化 = 内製|化), a quoted group as an exact phrase. A group may
  instead match the speaker's name.
- Questions (OR): every content term adds its BM25 weight; a turn scores as its best passage
  (a window of the turn), so one long speech covering many topics does not win by length.
- A passage is read under its document's title: a title word (or, for questions, character bigram)
  counts as one more occurrence in every matching passage of the document (`title_presence`), as a
  Wikipedia paragraph is about its article even where it does not repeat the article's name.
- An answer turn inherits a share of its question's score, so a question is returned with its answer.
- A question's first page is then re-ranked by `indexer.search.rerank`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.index.engine import Snapshot
from indexer.search.query import ParsedQuery
from indexer.search.synonyms import Synonyms
from indexer.text.analysis import bigrams, to_katakana
from indexer.text.normalize import fold_text

MAX_BIGRAMS = 160  # bigrams of one question scored (a pasted page must not slow everyone down)
PHRASE_CANDIDATES = 20_000  # passages checked against the stored text for one quoted phrase


@dataclass
class RankParams:
    """Tunable ranking parameters (measured with `kb eval`, see docs/quality.md)."""

    k1: float = 0.3
    b: float = 0.9
    speaker_boost: float = 0.5
    title_boost: float = 0.2
    title_presence: float = 1.0  # a title word (and bigram) counts as one occurrence in each passage; 0 = off
    bigram_boost: float = 0.4  # weight of the character-bigram side field (questions only)
    bigram_k1: float = 0.3
    bigram_b: float = 0.9
    turn_rest: float = 0.0  # a turn = its best passage + turn_rest × the rest of its passages
    synonym_weight: float = 0.8
    kana_weight: float = 0.8
    kana_split_weight: float = 0.3  # the words of a kana query the analyzer cut into several terms
    answer_share: float = 0.8
    answer_own: float = 0.3  # an answer = max(own, share × question + answer_own × own)
    rerank_weight: float = 0.3  # questions: top turns scored × (1 + weight × sentence_overlap); 0 = off
    rerank_depth: int = 10  # top turns of a question re-ranked (10 = the first page: no extra stored reads)
    answer_type_weight: float = 0.1  # re-rank: + weight when the best sentence holds the expected answer shape
    answer_window_weight: float = 0.7  # re-rank: + weight × wording share within ANSWER_WINDOW of that shape


@dataclass
class Ranked:
    doc_scores: np.ndarray
    turn_scores: np.ndarray
    matched: np.ndarray


def _turn_any(snap: Snapshot, doc_mask: np.ndarray) -> np.ndarray:
    out = np.zeros(snap.n_turns, dtype=bool)
    out[snap.turn.codes[doc_mask]] = True
    return out


@dataclass
class Alternative:
    """One way a keyword group can match: terms, the fields they are looked up in, a weight."""

    terms: list[str]
    fields: tuple[tuple[str, float], ...]
    weight: float = 1.0


def alternatives(parsed: ParsedQuery, params: RankParams, synonyms: Synonyms | None = None
                 ) -> list[list[Alternative]]:
    """For each keyword group: itself, its dictionary synonyms, and (for a kana word) its reading."""
    main = (("text", 1.0), ("speaker_text", params.speaker_boost))
    out = []
    for terms, quoted, word in zip(parsed.groups, parsed.phrases, parsed.words, strict=True):
        alts = [Alternative(terms, main)]
        if not quoted:
            if synonyms:
                alts += [Alternative(t, main, params.synonym_weight) for t in synonyms.alternatives(terms)]
            kata = to_katakana(word)
            if kata:
                if len(terms) > 1:  # the analyzer cut the kana apart (ないせいか → ない|せい): a reading, not a word
                    alts[0].weight = params.kana_split_weight
                alts.append(Alternative([kata], (("reading", 1.0), ("speaker_reading", 1.0)), params.kana_weight))
        out.append(alts)
    return out


def kana_words(groups: list[list[Alternative]]) -> tuple[list[str], set[str]]:
    """The readings a query's kana words are looked up as, and the text terms of the kana words the
    analyzer cut apart (ないせいか → ない, せい: noise to mark in a snippet when the reading matched)."""
    readings: list[str] = []
    cut: set[str] = set()
    for alts in groups:
        kana = [a.terms[0] for a in alts if a.fields[0][0] == "reading"]
        readings += kana
        if kana and len(alts[0].terms) > 1:
            cut.update(alts[0].terms)
    return readings, cut


def expanded_terms(groups: list[list[Alternative]]) -> list[str]:
    """Every text term a query can match (for highlighting)."""
    return list(dict.fromkeys(t for alts in groups for a in alts if a.fields[0][0] == "text" for t in a.terms))


def rank(snap: Snapshot, searcher, parsed: ParsedQuery, mask: np.ndarray, public_only: bool,
         params: RankParams, mode: str | None = None, synonyms: Synonyms | None = None) -> Ranked:
    """Score every passage `mask` allows (filters) and collapse to turns.

    With `public_only`, BM25 statistics count public passages alone, so the score of a public result
    is the same as on an index holding no members-only text at all.
    """
    mode = mode or parsed.mode
    leaves = searcher.reader().leaf_readers()
    n = snap.n
    docs_of: dict[tuple[str, str], np.ndarray] = {}
    parts_d, parts_w = [], []

    def score(field: str, term: str, boost: float, k1: float, b: float) -> np.ndarray:
        d, w = snap.bm25(leaves, field, term, k1, b, boost, public_only)
        if len(d):
            parts_d.append(d)
            parts_w.append(w)
        return d

    groups = alternatives(parsed, params, synonyms)
    scored: set[tuple[str, str]] = set()
    for alts in groups:
        for alt in alts:
            for field, boost in alt.fields:
                for t in alt.terms:
                    weight = boost * alt.weight
                    if (field, t) not in scored and weight:
                        scored.add((field, t))
                        docs_of[(field, t)] = score(field, t, weight, params.k1, params.b)
    grams = bigrams(parsed.text)[:MAX_BIGRAMS] if mode == "or" and params.bigram_boost else []
    if grams:
        d, w = snap.bm25_many(leaves, "bigram", grams, params.bigram_k1, params.bigram_b, params.bigram_boost,
                              public_only)
        if len(d):
            parts_d.append(d)
            parts_w.append(w)
    if parts_d:
        doc_scores = np.bincount(np.concatenate(parts_d), weights=np.concatenate(parts_w),
                                 minlength=n).astype(np.float32)
    else:
        doc_scores = np.zeros(n, dtype=np.float32)
    has_score = doc_scores > 0
    if params.title_boost:
        doc_scores += _title_scores(snap, leaves, parsed, params, public_only, has_score)
    if params.title_presence and has_score.any():
        doc_scores += _title_presence(snap, leaves, parsed.terms, grams, params, public_only, has_score)
    doc_scores[~mask] = 0.0
    allowed = _turn_any(snap, mask)
    nz = np.nonzero(doc_scores)[0]
    turn_scores = snap.turn_max(nz, doc_scores[nz])
    if params.turn_rest:
        total = np.bincount(snap.turn.codes[nz], weights=doc_scores[nz], minlength=snap.n_turns)
        turn_scores += np.float32(params.turn_rest) * (total.astype(np.float32) - turn_scores)
    if mode == "or":
        if params.answer_share and len(snap.answer_turns):
            inherited = turn_scores[snap.question_turns] * np.float32(params.answer_share)
            inherited += turn_scores[snap.answer_turns] * np.float32(params.answer_own)
            np.maximum.at(turn_scores, snap.answer_turns, inherited)
            turn_scores[~allowed] = 0.0
        return Ranked(doc_scores, turn_scores, turn_scores > 0)
    matched = allowed.copy()
    for alts, quoted, word in zip(groups, parsed.phrases, parsed.words, strict=True):
        has = np.zeros(n, dtype=bool)
        for alt in alts:
            has |= _group_docs(snap, searcher, docs_of, alt, quoted, word)
        matched &= _turn_any(snap, has & mask)
    turn_scores[~matched] = 0.0
    return Ranked(doc_scores, turn_scores, matched)


def _title_scores(snap: Snapshot, leaves, parsed: ParsedQuery, params: RankParams, public_only: bool,
                  matched: np.ndarray) -> np.ndarray:
    """The title's BM25 (indexed once per document) added to every matching passage of the document."""
    docs = snap.cols["doc_id"]
    per_doc = np.zeros(len(docs.values), dtype=np.float32)
    for t in parsed.terms:
        d, w = snap.bm25(leaves, "title", t, params.k1, params.b, params.title_boost, public_only)
        if len(d):
            per_doc += np.bincount(docs.codes[d], weights=w, minlength=len(docs.values)).astype(np.float32)
    out = per_doc[docs.codes]
    out[~matched] = 0.0
    return out


def _title_presence(snap: Snapshot, leaves, terms: list[str], grams: list[str], params: RankParams,
                    public_only: bool, matched: np.ndarray) -> np.ndarray:
    """What the document's title adds to each matching passage read under it: its words (and, for
    questions, the bigrams `grams`) count as one more occurrence (`Snapshot.title_presence`)."""
    d, w = snap.title_presence(leaves, "title", "text", terms, params.k1, params.b, matched,
                               params.title_presence, public_only)
    if grams:
        d2, w2 = snap.title_presence(leaves, "title_bigram", "bigram", grams, params.bigram_k1, params.bigram_b,
                                     matched, params.title_presence * params.bigram_boost, public_only)
        d, w = np.concatenate([d, d2]), np.concatenate([w, w2])
    return np.bincount(d, weights=w, minlength=snap.n).astype(np.float32)


def _squash(text: str) -> str:
    return "".join(fold_text(text).lower().split())


def phrase_docs(snap: Snapshot, searcher, phrase: str, limit: int = PHRASE_CANDIDATES) -> np.ndarray:
    """Passages containing `phrase` literally (width, case and white space ignored): candidates from
    the bigram postings, then checked against the stored text (kept folded in the snapshot once read).
    Also finds phrases that start or end inside a word (沢 志光君)."""
    out = np.zeros(snap.n, dtype=bool)
    needle = _squash(phrase)
    grams = bigrams(phrase)
    if not needle or not grams:
        return out
    leaves = searcher.reader().leaf_readers()
    cand: np.ndarray | None = None
    for g in sorted(grams, key=lambda g: len(snap.postings(leaves, "bigram", g)[0])):
        docs = snap.postings(leaves, "bigram", g)[0]
        cand = docs if cand is None else np.intersect1d(cand, docs, assume_unique=True)
        if not len(cand):
            return out
    texts = snap.squashed
    for d in cand[:limit].tolist():
        text = texts.get(d)
        if text is None:
            text = texts[d] = _squash(searcher.stored_fields(d).get("text", ""))
        if needle in text:
            out[d] = True
    return out


def _group_docs(snap: Snapshot, searcher, docs_of, alt: Alternative, quoted: bool, word: str) -> np.ndarray:
    """Passages where one alternative of a keyword occurs (all its terms, in one of its fields; a quoted
    keyword literally)."""
    n = snap.n
    terms = alt.terms
    if quoted and len(_squash(word)) > 1:
        return phrase_docs(snap, searcher, word) & snap.live
    result = np.zeros(n, dtype=bool)
    for field, _ in alt.fields:
        acc = np.ones(n, dtype=bool)
        for t in terms:
            present = np.zeros(n, dtype=bool)
            present[docs_of.get((field, t), np.empty(0, np.int32))] = True
            acc &= present
        result |= acc
    return result
