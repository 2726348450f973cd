"""The second stage: a question's first page re-ranked by the sentence that holds its wording and by
the answer its interrogative asks for (a date for いつ, a number with the counter for 何メートル).

The texts are the best passages of the top turns, which the snippets read anyway.
"""

from __future__ import annotations

import re

import numpy as np

from indexer.index.engine import Snapshot
from indexer.search.ranking import MAX_BIGRAMS
from indexer.text.analysis import bigrams
from indexer.text.normalize import fold_chars

_SENTENCE = re.compile(r"[^。!?\n]+")  # a sentence of folded text (！？ are folded to !?)
_SPACES = re.compile(r"[^\S\n]+")


def bigram_idf(snap: Snapshot, searcher, text: str, public_only: bool) -> dict[str, float]:
    """IDF of the query's character bigrams (the bigram field, counted over what the role sees)."""
    leaves = searcher.reader().leaf_readers()
    return {g: snap.idf(leaves, "bigram", g, public_only) for g in bigrams(text)[:MAX_BIGRAMS]}


def sentence_overlap(weights: dict[str, float], text: str) -> float:
    """Largest IDF-weighted share of the query's bigrams that one sentence of `text` holds (0..1)."""
    total = sum(weights.values())
    folded = _fold_lines(text)
    present = [(g, w) for g, w in weights.items() if g in folded]
    if not total or not present:
        return 0.0
    return _best_sentence(present, folded)[0] / total


def _best_sentence(present: list[tuple[str, float]], folded: str) -> tuple[float, int, int]:
    """(weight, start, end) of the first sentence of `folded` holding the most of the bigram weight."""
    best, lo, hi = -1.0, 0, 0
    for m in _SENTENCE.finditer(folded):
        if m.end() - m.start() > 1:
            score = sum(w for g, w in present if g in m.group(0))
            if score > best:
                best, lo, hi = score, m.start(), m.end()
    return max(best, 0.0), lo, hi


def _fold_lines(text: str) -> str:
    """Folded, lower-cased text without spaces, keeping line breaks (sentence ends)."""
    return _SPACES.sub("", fold_chars(text).lower())


def rerank(weights: dict[str, float], texts: list[str], scores: np.ndarray, weight: float,
           question: str = "", type_weight: float = 0.0, window_weight: float = 0.0
           ) -> tuple[np.ndarray, np.ndarray]:
    """(order, new scores) of turns whose best passages are `texts`: score × (1 + weight × overlap
    + type_weight × answer shape in the best sentence + window_weight × wording near that shape)."""
    boost = np.array([sentence_overlap(weights, t) for t in texts], dtype=np.float32)
    factor = np.float32(1.0) + np.float32(weight) * boost
    shape = answer_shape(question) if (type_weight or window_weight) else None
    if shape is not None:
        q = _fold_lines(question)
        typed = np.array([answer_type_match(weights, shape, q, t) for t in texts], dtype=np.float32)
        factor += np.float32(type_weight) * typed[:, 0] + np.float32(window_weight) * typed[:, 1]
    new = scores.astype(np.float32) * factor
    return np.argsort(-new, kind="stable"), new


# -- expected answer type: what a question's interrogative asks for ---------------------------------
_NUM = r"(?:\d[\d,.]*|[〇一二三四五六七八九十百千万億]+|数)"
_KANJI = r"[\u4e00-\u9fff々〆ヶ]"
_KATA = r"[ァ-ヴー・]"
_DATE = re.compile(_NUM + r"(?:年|月|日|世紀|年代)|元年")
_NOT_COUNTER = set("かをのとがでにはもや故者語色")  # 何か, 何を, 何者, 何語 …: not a counter
ANSWER_WINDOW = 15  # characters either side of an answer shape in which the question's wording counts
_WHEN = re.compile(r"いつ|何年|何月|何日|何世紀|何年代|何曜")
_COUNTER = re.compile(r"何(" + _KATA + r"+|%|[\u4e00-\u9fff]{1,2})")
_HOW_MANY = re.compile(r"いくつ|いくら|どれくらい|どのくらい|どれほど|どの程度|何割")


def answer_shape(question: str) -> re.Pattern | None:
    """The pattern an answer to `question` must match: a date (いつ, 何年), a number with the asked
    counter (何メートル → 15メートル, 何種類 → 3種), any counted number (いくつ); None otherwise."""
    q = fold_chars(question).lower()
    if _WHEN.search(q):
        return _DATE
    m = _COUNTER.search(q)
    if m and m.group(1)[0] not in _NOT_COUNTER and not m.group(1).startswith("時代"):
        c = m.group(1)
        alts = [re.escape(c)] + ([re.escape(c[0])] if re.fullmatch(_KANJI * 2, c) else [])
        return re.compile(_NUM + "(?:" + "|".join(alts) + ")")
    if _HOW_MANY.search(q):
        return re.compile(_NUM + "(?:" + _KANJI + "|" + _KATA + "+|%)")
    return None


def answer_type_match(weights: dict[str, float], shape: re.Pattern, question: str, text: str
                      ) -> tuple[float, float]:
    """(1 if the sentence of `text` sharing most wording holds `shape` else 0, largest share of the
    question's bigram weight within ANSWER_WINDOW characters of a shape). Shapes the question itself
    holds (8世紀に…) do not count; `question` is folded (`_fold_lines`)."""
    total = sum(weights.values())
    folded = _fold_lines(text)
    spans = [m.span() for m in shape.finditer(folded) if m.group(0) not in question]
    if not total or not spans:
        return 0.0, 0.0
    present = [(g, w) for g, w in weights.items() if g in folded]
    _, lo, hi = _best_sentence(present, folded)
    in_best = any(lo <= a and b <= hi for a, b in spans)
    near = max(sum(w for g, w in present if g in folded[max(0, a - ANSWER_WINDOW): b + ANSWER_WINDOW])
               for a, b in spans)
    return float(in_best), near / total
