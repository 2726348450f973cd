"""The indexing fast path: the analyzers' terms as plain lists, without Token objects.

The same analysis as `indexer.text.analysis`'s analyzers (a large archive is indexed several times
faster); tests/test_analysis.py checks they agree on any text. The bulk writer takes each passage's
terms as lists (`term_lister`) and counts them per segment with NumPy; the character bigrams of a
whole segment are cut and counted with NumPy at once (`bigram_postings`).

>>> text_counts("内製化を進めた内製")
{'内製': 2, '化': 1, '進める': 1}
"""

from __future__ import annotations

import operator
import re
import threading
from collections import Counter
from collections.abc import Callable

import numpy as np
from whoosh.analysis import SpaceSeparatedTokenizer

from indexer.text.analysis import (
    CONTENT_RUN,
    MAX_CHUNK,
    base_form,
    bigram_analyzer,
    chunks,
    content_runs,
    fold_long_vowel,
    is_stop,
    japanese_analyzer,
    reading_analyzer,
    remembered,
    tagger,
)
from indexer.text.normalize import fold_text

_local = threading.local()

_ROW_CACHE_LIMIT = 500_000
#: Longest line whose analysis is remembered, and how many: a tenth of the minutes' text is short lines
#: said again and again (procedure, applause), a sixth of the tagging time.
_SHORT_LINE = 64
_LINE_CACHE_LIMIT = 50_000


def _info(surface: str, tag: str, base: str, reading: str) -> tuple[str, str] | None:
    """(text term, reading) of a content word, None for a stop word."""
    base = base_form(base, surface)
    if is_stop(tag, base):
        return None
    return fold_long_vowel(base.lower()), "" if reading == "*" else reading


def _fields(line: str, n: int) -> list[str]:
    return (line.split("\t") + [""] * n)[:n]  # a feature MeCab lacks prints nothing (and the end is stripped)


def _is_dictionary_word(row: str) -> bool:
    """Whether an `ids` line is a dictionary word's (its context ids), not an unknown word's (its part of speech)."""
    return _fields(row, 2)[1].isdigit()


class _Rows(dict):
    """Tagger line (`ids` format) → (text term, reading) of a content word, None for a stop word or an empty
    line (the end of a chunk), analysed once. An unknown word's line carries its part of speech; a dictionary
    word's line is its surface, context ids and cost (no feature read: a third of the tagging time), and its
    analysis is learned from a tagging that prints the features (`learn_words`): a KeyError until then."""

    def __missing__(self, row: str) -> tuple[str, str] | None:
        if _is_dictionary_word(row):
            raise KeyError(row)
        surface, tag = _fields(row, 2)
        self[row] = value = _info(surface, tag, "", "") if row else None
        return value


def learn_words(rows: _Rows, new: list[str], all_morphs: bool = False) -> None:
    """Remember the analysis of the dictionary words of lines `new` from a tagging of their surfaces that prints
    the features (MeCab skips the spaces between them): the words on its path; with `all_morphs`, the words
    of the lattice, a line only when all its words agree.

    Exact: words with the same surface, context ids and cost cost the same wherever they stand, so MeCab
    always takes the same one of them (the first it looked up), alone as in any text."""
    text = " ".join(row.split("\t", 1)[0] for row in new)
    found: dict[str, set] = {}
    for line in tagger("learn", all_morphs).parse(text).split("\n"):
        fields = _fields(line, 7)
        row = "\t".join(fields[:4])
        if row in rows:
            continue
        info = _info(fields[0], fields[4], fields[5], fields[6])
        if all_morphs:
            found.setdefault(row, set()).add(info)
        else:
            rows[row] = info
    for row, infos in found.items():
        if len(infos) == 1:
            rows[row] = infos.pop()


def _chunk_infos(chunk: str, rows: _Rows) -> list[tuple[str, str]]:
    """The content words of one chunk, in order."""
    lines = tagger("ids").parse(chunk).split("\n")
    try:
        return list(filter(None, map(rows.__getitem__, lines)))
    except KeyError:
        pass
    new = [row for row in dict.fromkeys(lines) if row not in rows and _is_dictionary_word(row)]
    learn_words(rows, new)
    left = [row for row in new if row not in rows]  # taken differently alone: every word of the lattice
    if left:
        learn_words(rows, left, all_morphs=True)
    if any(row not in rows for row in left):  # still unsure: this chunk as the analyzer tags it
        return [info for info in (_info(*_fields(row, 4)) for row in tagger().parse(chunk).split("\n") if row)
                if info is not None]
    return list(filter(None, map(rows.__getitem__, lines)))


def forget() -> None:
    """Drop what this thread's fast path remembers (lines, words, texts): it learns them again."""
    _local.__dict__.clear()


def _rows() -> _Rows:
    cache = getattr(_local, "rows", None)  # tagger lines repeat (Zipf): analyse each distinct one once
    if cache is None or len(cache) > _ROW_CACHE_LIMIT:
        cache = _local.rows = _Rows()
    return cache


def folded(text: str) -> str:
    """`fold_text(text)`, remembered for the last few texts (a passage's word, reading and bigram fields)."""
    return remembered("folded", 2, fold_text, text or "")


def _lines() -> dict[str, list]:
    cache = getattr(_local, "lines", None)  # short lines repeat (〔「異議なし」と呼ぶ者あり〕): tagged once
    if cache is None or len(cache) > _LINE_CACHE_LIMIT:
        cache = _local.lines = {}
    return cache


def _terms(text: str) -> tuple[list[str], list[str]]:
    rows = _rows()
    cache = _lines()
    found: list[tuple[str, str]] = []
    body = folded(text)
    lines = [line for line in body.split("\n") if line.strip()] if len(body) <= MAX_CHUNK else \
        [chunk for _, chunk in chunks(body)]  # a passage's lines are chunks as they are
    for chunk in lines:
        infos = cache.get(chunk) if len(chunk) <= _SHORT_LINE else None
        if infos is None:
            infos = _chunk_infos(chunk, rows)
            if len(chunk) <= _SHORT_LINE:
                cache[chunk] = infos
        found += infos
    return [word for word, _ in found], [reading for _, reading in found if reading]


def terms(text: str) -> tuple[list[str], list[str]]:
    """The terms `japanese_analyzer` and `reading_analyzer` give for `text` (one tagging for both).

    >>> terms("内製化を進めた内製")
    (['内製', '化', '進める', '内製'], ['ナイセイ', 'カ', 'ススメ', 'ナイセイ'])
    """
    return remembered("terms", 4, _terms, text)  # a passage's text and reading fields: one tagging


def text_terms(text: str) -> list[str]:
    """The terms `japanese_analyzer` gives for `text`, in order."""
    return terms(text)[0]


def reading_terms(text: str) -> list[str]:
    """The terms `reading_analyzer` gives for `text`."""
    return terms(text)[1]


def bigram_terms(text: str) -> list[str]:
    """The terms `bigram_analyzer` gives for `text`.

    >>> bigram_terms("内製と内製")
    ['内製', '製と', 'と内', '内製']
    """
    return [g for run in content_runs(text) for g in map(operator.add, run[:-1], run[1:])]


def text_counts(text: str) -> dict[str, int]:
    """Counts of the terms `japanese_analyzer` gives for `text`."""
    return dict(Counter(text_terms(text)))


def reading_counts(text: str) -> dict[str, int]:
    """Counts of the terms `reading_analyzer` gives for `text`."""
    return dict(Counter(reading_terms(text)))


def bigram_counts(text: str) -> dict[str, int]:
    """Counts of the terms `bigram_analyzer` gives for `text`.

    >>> bigram_counts("内製と内製")
    {'内製': 2, '製と': 1, 'と内': 1}
    """
    return dict(Counter(bigram_terms(text)))


_SPACE_SEPARATED = re.compile(r"[^ \t\r\n]+")


def space_separated_terms(text: str) -> list[str]:
    """The terms Whoosh's `SpaceSeparatedTokenizer` (a KEYWORD field's) gives for `text`.

    >>> space_separated_terms("ホウジョウ マコト\tホウジョウマコト")
    ['ホウジョウ', 'マコト', 'ホウジョウマコト']
    """
    return _SPACE_SEPARATED.findall(text)


def term_lister(analyzer) -> Callable[[str], list[str]] | None:
    """The fast function listing the terms `analyzer` gives, if it is one of this module's analyzers (or a
    KEYWORD field's space-separated tokenizer)."""
    for known, lister in ((japanese_analyzer(), text_terms), (reading_analyzer(), reading_terms),
                          (bigram_analyzer(), bigram_terms), (SpaceSeparatedTokenizer(), space_separated_terms)):
        if analyzer == known:
            return lister
    return None


# -- character bigrams of many texts at once ------------------------------------------------------------
#: Code point ranges of the characters bigrams are cut from (`analysis.content_runs`'s class), inclusive.
_CONTENT_RANGES = ((0x30, 0x39), (0x61, 0x7A), (0x3041, 0x3096), (0x30A1, 0x30FA), (0x30FC, 0x30FC),
                   (0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x3005, 0x3006))
#: Bits of a docnum in a (term, docnum) key: a segment holds fewer than 4 M records (a build process writes
#: at most 8 M characters).
DOC_BITS = 22
_CODE_BITS = 21  # a code point


def bigram_text(text: str) -> str:
    """What the bigram field cuts its bigrams from: the text folded and lower-cased."""
    return folded(text).lower()


def _is_content(cps: np.ndarray) -> np.ndarray:
    out = np.zeros(len(cps), dtype=bool)
    for lo, hi in _CONTENT_RANGES:
        out |= (cps >= lo) & (cps <= hi)
    return out


def count_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an integer array, sorted, and how often each occurs (`np.unique`'s result,
    from a stable sort: faster on these keys).

    >>> [a.tolist() for a in count_keys(np.array([5, 3, 5, 5], dtype=np.uint64))]
    [[3, 5], [1, 3]]
    """
    if not len(keys):
        return keys, np.zeros(0, dtype=np.int64)
    ordered = np.sort(keys, kind="stable")
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def bigram_postings(docnums: list[int], texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The bigram field's postings of many records at once: (terms, term number, docnum, frequency) sorted
    by term then docnum; `texts` are the records' `bigram_text`.

    >>> terms_, tids, docs, freqs = bigram_postings([0, 1], ["内製と内製", "内製"])
    >>> terms_, tids.tolist(), docs.tolist(), freqs.tolist()
    (['と内', '内製', '製と'], [0, 1, 1, 2], [0, 0, 1, 0], [1, 2, 1, 1])
    """
    if docnums and max(docnums) >= 1 << DOC_BITS:
        raise ValueError("too many records in one segment for bigram_postings")
    joined = "\n".join(texts)  # a newline is not a content character: no bigram spans two records
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    content = _is_content(cps)
    pairs = content[:-1] & content[1:]
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
    doc_of = np.repeat(np.asarray(docnums, dtype=np.uint32), sizes)[: len(pairs)][pairs].astype(np.uint64)
    wide = cps.astype(np.uint64)
    codes = ((wide[:-1] << np.uint64(_CODE_BITS)) | wide[1:])[pairs]  # code point order = string order
    keys, freqs = count_keys((codes << np.uint64(DOC_BITS)) | doc_of)
    codes = keys >> np.uint64(DOC_BITS)
    docs = (keys & np.uint64((1 << DOC_BITS) - 1)).astype(np.int32)
    new_term = np.concatenate(([True], codes[1:] != codes[:-1])) if len(codes) else np.zeros(0, dtype=bool)
    uniq = codes[new_term]
    tids = np.cumsum(new_term, dtype=np.int64) - 1
    first, second = (uniq >> np.uint64(_CODE_BITS)).tolist(), (uniq & np.uint64((1 << _CODE_BITS) - 1)).tolist()
    names = [chr(a) + chr(b) for a, b in zip(first, second, strict=True)]
    return names, tids.astype(np.int32), docs, freqs.astype(np.int32)


def bigram_length(text: str) -> int:
    """The number of bigrams in a `bigram_text` (the field's length of the record).

    >>> bigram_length("内製と内製。dx")
    5
    """
    runs = CONTENT_RUN.findall(text)
    return sum(map(len, runs)) - len(runs)
