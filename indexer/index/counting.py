"""The indexing fast path: the analyzers' terms as counts, without Token objects.

The same analysis as `indexer.text.analysis`'s analyzers (a large archive is indexed several times
faster); tests/test_counting.py checks they agree on any text. The bulk writer uses it.

>>> text_counts("内製化を進めた内製")
{'内製': 2, '化': 1, '進める': 1}
"""

from __future__ import annotations

import operator
import threading
from collections import Counter
from collections.abc import Callable

from indexer.text.analysis import (
    COMPOUND_MAX,
    COMPOUND_POS,
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


def _row_terms(row: str) -> tuple[str | None, str, bool]:
    """(text term or None for a stop word, reading, part of a compound?) of one line of tagger output."""
    surface, tag, base, reading = (row.split("\t") + ["", "", ""])[:4]
    base = base_form(base, surface)
    reading = "" if reading == "*" else reading
    word = None if is_stop(tag, base) else fold_long_vowel(base.lower())
    return word, reading, tag in COMPOUND_POS and bool(reading)


def _count_terms(text: str) -> tuple[dict[str, int], dict[str, int]]:
    words: dict[str, int] = {}
    readings: dict[str, int] = {}
    parse = tagger().parse
    cache = getattr(_local, "rows", None)  # tagger lines repeat (Zipf): analyse each distinct one once
    if cache is None or len(cache) > _ROW_CACHE_LIMIT:
        cache = _local.rows = {}
    run: list[str] = []  # readings of the current noun run (CompoundReadingFilter)
    for _, chunk in chunks(fold_text(text or "")):
        for row in parse(chunk).split("\n"):
            if not row:
                continue
            try:
                word, reading, joins = cache[row]
            except KeyError:
                word, reading, joins = cache[row] = _row_terms(row)
            if joins:
                run.append(reading)
            else:
                if 1 < len(run) <= COMPOUND_MAX:
                    whole = "".join(run)
                    readings[whole] = readings.get(whole, 0) + 1
                run = []
            if word is None:
                continue
            words[word] = words.get(word, 0) + 1
            if reading:
                readings[reading] = readings.get(reading, 0) + 1
    if 1 < len(run) <= COMPOUND_MAX:
        whole = "".join(run)
        readings[whole] = readings.get(whole, 0) + 1
    return words, readings


def term_counts(text: str) -> tuple[dict[str, int], dict[str, int]]:
    """Counts of the terms `japanese_analyzer` and `reading_analyzer` give for `text` (one tagging).

    >>> term_counts("内製化を進めた内製")
    ({'内製': 2, '化': 1, '進める': 1}, {'ナイセイ': 2, 'カ': 1, 'ナイセイカ': 1, 'ススメ': 1})
    """
    return remembered("counts", 4, _count_terms, text)  # a passage's text and reading fields: one tagging


def text_counts(text: str) -> dict[str, int]:
    """Counts of the terms `japanese_analyzer` gives for `text`."""
    return term_counts(text)[0]


def reading_counts(text: str) -> dict[str, int]:
    """Counts of the terms `reading_analyzer` gives for `text`."""
    return term_counts(text)[1]


def bigram_counts(text: str) -> dict[str, int]:
    """Counts of the terms `bigram_analyzer` gives for `text`.

    >>> bigram_counts("内製と内製")
    {'内製': 2, '製と': 1, 'と内': 1}
    """
    out: Counter[str] = Counter()
    for run in content_runs(text):
        out.update(map(operator.add, run[:-1], run[1:]))
    return dict(out)


def term_counter(analyzer) -> Callable[[str], dict[str, int]] | None:
    """The fast counting function equivalent to `analyzer`, if it is one of this module's analyzers."""
    for known, counter in ((japanese_analyzer(), text_counts), (reading_analyzer(), reading_counts),
                           (bigram_analyzer(), bigram_counts)):
        if analyzer == known:
            return counter
    return None
