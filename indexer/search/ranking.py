"""Ranking with NumPy over a snapshot: BM25 per passage, best passage per turn, answers found through
their question. Which turns match is decided in `indexer.search.matching`; scores come from here.

- Every positive word of the query (never an excluded one) adds its BM25 weight: in the text, in the
  speaker's name (lower weight), through its dictionary synonyms and, for a kana word, its reading.
- Questions also score the character-bigram side field; a turn scores as its best passage
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
from indexer.search.highlight import Marks
from indexer.search.query import QUESTION, ParsedQuery
from indexer.search.synonyms import Synonyms
from indexer.text.analysis import bigrams, to_katakana

MAX_BIGRAMS = 160  # bigrams of one question scored (a pasted page must not slow everyone down)


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
    """Scores of every passage and turn; `matched`: turns with a score (after answers inherit theirs);
    `allowed`: the turns with a passage in `mask`, the passage mask ranked under (`turn_any`; read-only)."""

    doc_scores: np.ndarray
    turn_scores: np.ndarray
    matched: np.ndarray
    allowed: np.ndarray | None = None
    mask: np.ndarray | None = None


def turn_any(snap: Snapshot, doc_mask: np.ndarray) -> np.ndarray:
    """Turns with at least one passage in `doc_mask` (a boolean mask over passages)."""
    out = np.zeros(snap.n_turns, dtype=bool)
    out[snap.turn.codes[doc_mask]] = True
    return out


@dataclass
class Alternative:
    """One way a word can match: terms, the fields they are looked up in, a weight. `literal`: the word
    matches only where this text occurs literally (a kana word the analyzer cut apart)."""

    terms: list[str]
    fields: tuple[tuple[str, float], ...]
    weight: float = 1.0
    literal: str = ""


def word_alternatives(terms: list[str], quoted: bool, word: str, params: RankParams,
                      synonyms: Synonyms | None = None) -> list[Alternative]:
    """One word's ways to match: itself, its dictionary synonyms, and (for a kana word) its reading."""
    main = (("text", 1.0), ("speaker_text", params.speaker_boost))
    alts = [Alternative(list(terms), main)]
    if not quoted:
        if synonyms:
            alts += [Alternative(t, main, params.synonym_weight) for t in synonyms.alternatives(list(terms))]
        kata = to_katakana(word)
        if kata:
            if len(terms) > 1:  # the analyzer cut the kana apart (ないせいか → ない|せい): a reading, not a word
                alts[0].weight = params.kana_split_weight
                alts[0].literal = word.strip()
            alts.append(Alternative([kata], (("reading", 1.0), ("speaker_reading", 1.0)), params.kana_weight))
    return alts


def alternatives(parsed: ParsedQuery, params: RankParams, synonyms: Synonyms | None = None
                 ) -> list[list[Alternative]]:
    """For each scored group of the query: itself, its dictionary synonyms, and (for a kana word) its reading."""
    return [word_alternatives(terms, quoted, word, params, synonyms)
            for terms, quoted, word in zip(parsed.groups, parsed.phrases, parsed.words, strict=True)]


def marks(parsed: ParsedQuery, groups: list[list[Alternative]]) -> Marks:
    """What a snippet marks for this query: whole tokens of its words, their synonyms and readings, and
    its phrases (never an excluded word)."""
    terms: list[str] = []
    sequences: list[tuple[str, ...]] = []
    readings: list[str] = []
    phrases: list[str] = []
    for alts, quoted, word in zip(groups, parsed.phrases, parsed.words, strict=True):
        if quoted:
            phrases.append(word)
            continue
        for k, alt in enumerate(alts):
            if alt.fields[0][0] == "reading":
                readings += alt.terms
            elif alt.literal:
                phrases.append(alt.literal)
            elif k == 0 or len(alt.terms) == 1:
                terms += alt.terms
            else:
                sequences.append(tuple(alt.terms))
    return Marks.of(terms, sequences, readings, phrases, parsed.positive_text if parsed.mode == QUESTION else "")


def rank(snap: Snapshot, searcher, parsed: ParsedQuery, mask: np.ndarray, public_only: bool,
         params: RankParams, mode: str | None = None, synonyms: Synonyms | None = None) -> Ranked:
    """Score every passage `mask` allows (filters) and collapse to turns (`mode`: the query's unless given).

    With `public_only`, BM25 statistics count public passages alone, so the score of a public result
    is the same as on an index holding no members-only text at all.
    """
    question = (mode or parsed.mode) == QUESTION
    leaves = searcher.reader().leaf_readers()
    n = snap.n
    parts_d, parts_w = [], []
    scored: set[tuple[str, str]] = set()
    for alts in alternatives(parsed, params, synonyms):
        for alt in alts:
            for field, boost in alt.fields:
                for t in alt.terms:
                    weight = boost * alt.weight
                    if (field, t) not in scored and weight:
                        scored.add((field, t))
                        d, w = snap.bm25(leaves, field, t, params.k1, params.b, weight, public_only)
                        if len(d):
                            parts_d.append(d)
                            parts_w.append(w)
    grams = bigrams(parsed.positive_text)[:MAX_BIGRAMS] if question and params.bigram_boost else []
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
    nz = np.flatnonzero(has_score)  # the passages scored (titles add to these alone; all scores are > 0)
    if params.title_boost:
        _add_title_scores(doc_scores, nz, snap, leaves, parsed, params, public_only)
    if params.title_presence and len(nz):
        doc_scores += _title_presence(snap, leaves, parsed.terms, grams, params, public_only, has_score, nz)
    doc_scores *= mask  # 0 where the mask does not allow (a product, not a masked store: one pass)
    allowed = snap.turns_with(mask)
    nz = nz[mask[nz]]
    turn_scores = snap.turn_max(nz, doc_scores[nz])
    if params.turn_rest:
        total = np.bincount(snap.turn.codes[nz], weights=doc_scores[nz], minlength=snap.n_turns)
        turn_scores += np.float32(params.turn_rest) * (total.astype(np.float32) - turn_scores)
    if question and params.answer_share and len(snap.answer_turns):
        inherited = turn_scores[snap.question_turns] * np.float32(params.answer_share)
        inherited += turn_scores[snap.answer_turns] * np.float32(params.answer_own)
        np.maximum.at(turn_scores, snap.answer_turns, inherited)
        turn_scores *= allowed
    return Ranked(doc_scores, turn_scores, turn_scores > 0, allowed, mask)


def _add_title_scores(doc_scores: np.ndarray, scored: np.ndarray, snap: Snapshot, leaves, parsed: ParsedQuery,
                      params: RankParams, public_only: bool) -> None:
    """Add the title's BM25 (indexed once per document) to every scored passage (`scored`: their docnums)
    of the document."""
    docs = snap.cols["doc_id"]
    per_doc: np.ndarray | None = None
    for t in parsed.terms:
        d, w = snap.bm25(leaves, "title", t, params.k1, params.b, params.title_boost, public_only)
        if len(d):
            add = np.bincount(docs.codes[d], weights=w, minlength=len(docs.values)).astype(np.float32)
            per_doc = add if per_doc is None else per_doc + add
    if per_doc is not None and len(scored):
        doc_scores[scored] += per_doc[docs.codes[scored]]


def _title_presence(snap: Snapshot, leaves, terms: list[str], grams: list[str], params: RankParams,
                    public_only: bool, matched: np.ndarray, cand: np.ndarray | None = None) -> np.ndarray:
    """What the document's title adds to each matching passage read under it: its words (and, for
    questions, the bigrams `grams`) count as one more occurrence (`Snapshot.title_presence`; `cand`: the
    docnums of `matched` when known)."""
    d, w = snap.title_presence(leaves, "title", "text", terms, params.k1, params.b, matched,
                               params.title_presence, public_only, cand=cand)
    if grams:
        d2, w2 = snap.title_presence(leaves, "title_bigram", "bigram", grams, params.bigram_k1, params.bigram_b,
                                     matched, params.title_presence * params.bigram_boost, public_only, cand=cand)
        d, w = np.concatenate([d, d2]), np.concatenate([w, w2])
    return np.bincount(d, weights=w, minlength=snap.n).astype(np.float32)
