"""HTML-escaped snippets with <mark> around whole words that matched.

A window is placed by fast string search (no tagging); then only the places that search found in the
window are tagged, and `<mark>` covers whole analyzer tokens whose term the query looked for (its words,
their synonyms, the word a kana query reads) or a quoted phrase, never a piece of another word (the イン
of インターネット).

>>> mark("自治体の内製化を進めた", [(4, 7)])
'自治体の<mark>内製化</mark>を進めた'
>>> query_snippet("インターネットとインハウス開発", Marks.of(["内製", "化"], [("イン", "ハウス", "開発")]))
'インターネットと<mark>インハウス開発</mark>'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from indexer.text.analysis import bigrams, fold_long_vowel, is_stop, morphemes
from indexer.text.normalize import fold, fold_text

Span = tuple[int, int]
_HIRAGANA2 = re.compile(r"^[\u3041-\u3096]+$")
MARGIN = 8  # characters tagged on each side of a found string (and up to as many more, to a delimiter)
MAX_READING_RUN = 4  # consecutive words whose readings a kana query may spell (as the reading index)


@dataclass(frozen=True)
class Marks:
    """What to mark: `terms` wherever a token has one; `short` one-character terms only next to another
    mark (化 of 内製化); `sequences` (a synonym of several words) only as consecutive tokens; tokens
    spelling one of `readings`; `phrases` literally; failing all that, for a question (`query`), the
    tokens the question itself contains (a match through the character-bigram field)."""

    terms: frozenset[str] = frozenset()
    short: frozenset[str] = frozenset()
    sequences: tuple[tuple[str, ...], ...] = ()
    readings: frozenset[str] = frozenset()
    phrases: tuple[str, ...] = ()
    query: str = ""

    @classmethod
    def of(cls, terms, sequences=(), readings=(), phrases=(), query: str = "") -> Marks:
        """Marks for these terms (a lone one-character term is marked wherever it is)."""
        terms = set(terms)
        short = {t for t in terms if len(t) == 1} if len(terms) > 1 else set()
        return cls(frozenset(terms - short), frozenset(short), tuple(dict.fromkeys(s for s in sequences if s)),
                   frozenset(readings), tuple(dict.fromkeys(p for p in phrases if p.strip())), query)

    def needles(self) -> list[str]:
        """Strings a fast search looks for to place the window (not what gets marked)."""
        return [*self.terms, *self.short, *("".join(s) for s in self.sequences),
                *(fold_text(p).lower() for p in self.phrases)]


def merge_spans(spans: list[Span]) -> list[Span]:
    """Sorted, non-overlapping spans."""
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        elif e > s:
            out.append((s, e))
    return out


def mark(text: str, spans: list[Span], start: int = 0, end: int | None = None) -> str:
    """Escape text[start:end], wrapping each span in <mark>."""
    end = len(text) if end is None else end
    out, pos = [], start
    for s, e in merge_spans(spans):
        s, e = max(s, start), min(e, end)
        if e <= s:
            continue
        out.append(escape(text[pos:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def best_window(text: str, spans: list[Span], width: int) -> tuple[int, int]:
    """The [start, end) window of `width` characters covering the most distinct matches."""
    if len(text) <= width:
        return 0, len(text)
    spans = merge_spans(spans)
    if not spans:
        return 0, width
    best, best_start = -1, 0
    for i, (s, _) in enumerate(spans):
        covered = sum(1 for s2, e2 in spans[i:] if e2 <= s + width)
        if covered > best:
            best, best_start = covered, s
    start = max(0, min(best_start - width // 4, len(text) - width))
    return start, min(len(text), start + width)


@lru_cache(maxsize=2048)
def query_snippet(text: str, marks: Marks, width: int = 120) -> str:
    """A snippet of `text` for a query: the window found by fast string search, then whole words marked
    where that search found something (only those places are tagged). The last snippets made are kept:
    a page shown again (the app reruns, the next page, the same question) tags nothing.

    >>> query_snippet("自治体の内製化と強化", Marks.of(["内製", "化"]))
    '自治体の<mark>内製化</mark>と強化'
    >>> query_snippet("サービスの費用", Marks.of(["サーバ", "下がる"], query="サーバーの費用は下がったか"))
    'サービスの<mark>費用</mark>'
    """
    needles = marks.needles()
    if marks.readings:  # a kana query: find the words it reads (tags the passage: kana queries only)
        needles += [fold_text(w).lower() for w in reading_surfaces(text, sorted(marks.readings))]
    rough = rough_spans(text, needles)
    if not rough and marks.query:
        rough = rough_spans(text, [g for g in bigrams(marks.query) if not _HIRAGANA2.match(g)])
    start, end = best_window(text, rough, width)
    spans = found_marks(text, marks, [(s, e) for s, e in rough if e > start and s < end])
    for s, e in spans:  # a marked word is never cut by the window's edge
        start, end = (s if s < start < e else start), (e if s < end < e else end)
    body = mark(text, spans, start, end).replace("\n", " ")
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def highlight(text: str, marks: Marks) -> str:
    """All of `text`, escaped, with whole matching words marked.

    >>> highlight("サーバーの内製化", Marks.of(["サーバ"]))
    '<mark>サーバー</mark>の内製化'
    """
    return mark(text, token_spans(text, tokens(text), marks))


# -- whole words ----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Tok:
    start: int
    end: int
    term: str
    reading: str
    stopped: bool


def tokens(text: str, a: int = 0, b: int | None = None) -> list[_Tok]:
    """The analyzer's tokens of text[a:b] (terms as `japanese_analyzer` makes them, stop words flagged),
    with offsets in `text`; read straight from the tagger's morphemes, without the filter chain.

    >>> [(t.term, t.stopped) for t in tokens("サーバーの内製化")]
    [('サーバ', False), ('の', True), ('内製', False), ('化', False)]
    """
    return [_Tok(a + m.start, a + m.end, fold_long_vowel(m.base_form.lower()), m.reading, is_stop(m.tag, m.base_form))
            for m in morphemes(text[a:b])]


_DELIMITERS = set(" \u3000\n\t、。，．,.!?！？「」『』（）()［］[]・：:；;")


def _region(text: str, s: int, e: int) -> tuple[int, int]:
    """[s, e) widened by MARGIN characters, then on to the nearest delimiter (、。「 …) within MARGIN more,
    so the tagger reads the words around a found string as it reads them in the whole text."""
    a, b = max(0, s - MARGIN), min(len(text), e + MARGIN)
    lo, hi = max(0, a - MARGIN), min(len(text), b + MARGIN)
    while a > lo and text[a - 1] not in _DELIMITERS:
        a -= 1
    while b < hi and text[b] not in _DELIMITERS:
        b += 1
    return a, b


def _script(c: str) -> int:
    """0 hiragana, 1 katakana, 2 kanji, 3 latin letters and digits, 4 anything else."""
    o = ord(c)
    if 0x3041 <= o <= 0x309F:
        return 0
    if 0x30A0 <= o <= 0x30FF or 0xFF66 <= o <= 0xFF9F:
        return 1
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or c in "々〆ヵヶ":
        return 2
    return 3 if c.isalnum() else 4


def _edge(text: str, i: int) -> bool:
    """Whether position `i` falls where the script changes (or at punctuation, a space, an end): there the
    tagger always cuts words, so a found string ending there needs no tagging."""
    if i <= 0 or i >= len(text):
        return True
    a, b = _script(text[i - 1]), _script(text[i])
    return a != b or a == 4


def found_marks(text: str, marks: Marks, found: list[Span]) -> list[Span]:
    """Whole words to mark around the places a fast search `found`. A whole query word standing between
    two changes of script (の<費用>は) is marked as is; any other place is tagged with the words around it
    (places close together are tagged once)."""
    whole = marks.terms | {"".join(seq) for seq in marks.sequences}
    spans: list[Span] = []
    unsure: list[Span] = []
    for s, e in found:
        sure = e - s > 1 and _edge(text, s) and _edge(text, e) and fold_text(text[s:e]).lower() in whole
        (spans if sure else unsure).append((s, e))
    for a, b in merge_spans([_region(text, s, e) for s, e in unsure]):
        spans += token_spans(text, tokens(text, a, b), marks)
    return spans


def token_spans(text: str, toks: list[_Tok], marks: Marks) -> list[Span]:
    """Spans of whole tokens (and phrases) to mark among `toks`, consecutive tokens of `text`."""
    kept = [t for t in toks if not t.stopped]
    spans = [(t.start, t.end) for t in kept if t.term in marks.terms]
    for seq in marks.sequences:
        for i in range(len(kept) - len(seq) + 1):
            if all(kept[i + k].term == w for k, w in enumerate(seq)):
                spans += [(t.start, t.end) for t in kept[i:i + len(seq)]]
    if marks.readings:
        spans += _reading_spans(toks, marks.readings)
    edges = {s for s, _ in spans} | {e for _, e in spans}
    spans += [(t.start, t.end) for t in kept if t.term in marks.short and (t.start in edges or t.end in edges)]
    if toks:
        spans += phrase_spans(text, marks.phrases, toks[0].start, toks[-1].end)
    if not spans and marks.query:
        asked = fold_text(marks.query).lower()
        spans = [(t.start, t.end) for t in kept
                 if len(w := fold_text(text[t.start:t.end]).lower()) >= 2 and w in asked]
    return spans


def _reading_spans(toks: list[_Tok], readings: frozenset[str]) -> list[Span]:
    longest = max(map(len, readings))
    out = []
    for i, first in enumerate(toks):
        if first.stopped:
            continue
        joined = ""
        for t in toks[i:i + MAX_READING_RUN]:
            if not t.reading:
                break
            joined += t.reading
            if len(joined) > longest:
                break
            if joined in readings:
                out.append((first.start, t.end))
    return out


def phrase_spans(text: str, phrases: tuple[str, ...], start: int, end: int) -> list[Span]:
    """Where each phrase occurs literally in text[start:end] (width, case and white space ignored).

    >>> phrase_spans("推進 体制の整備", ("推進体制",), 0, 8)
    [(0, 5)]
    """
    if not phrases:
        return []
    folded = fold(text[start:end])
    hay = folded.text.lower()
    if len(hay) != len(folded.text):
        hay = folded.text
    out = []
    for p in phrases:
        needle = "".join(fold_text(p).lower().split())
        if not needle:
            continue
        pattern = re.compile(r"\s*".join(map(re.escape, needle)))
        for m in pattern.finditer(hay):
            s, e = folded.span(m.start(), m.end())
            out.append((start + s, start + e))
    return out


# -- where the query's terms are in a text ---------------------------------------------------------
def reading_surfaces(text: str, readings: list[str]) -> list[str]:
    """Words of `text` (one morpheme or consecutive ones) whose reading is one of `readings` (katakana),
    so a kana query's match can be marked in the text.

    >>> reading_surfaces("決裁システムの内製化を進めた", ["ナイセイカ"])
    ['内製化']
    """
    wanted = set(readings)
    if not wanted:
        return []
    longest = max(map(len, wanted))
    ms = morphemes(text)
    out = []
    for i in range(len(ms)):
        joined = ""
        for m in ms[i:]:
            if not m.reading:
                break
            joined += m.reading
            if len(joined) > longest:
                break
            if joined in wanted:
                out.append(text[ms[i].start:m.end])
    return list(dict.fromkeys(out))


def _needles(terms: list[str]) -> list[str]:
    out = []
    for t in terms:
        out.append(t)
        if len(t) >= 3 and "\u3041" <= t[-1] <= "\u3093":  # a verb or adjective: match its stem too
            out.append(t[:-1])
    return sorted(set(out), key=len, reverse=True)


def rough_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Fast approximate spans of the terms (string search on the folded text), to place a window.

    >>> rough_spans("ＤＸとサーバー", ["dx", "サーバ"])
    [(0, 2), (3, 6)]
    """
    folded = fold(text)
    hay = folded.text.lower()
    if len(hay) != len(folded.text):
        hay = folded.text
    spans: list[tuple[int, int]] = []
    singles: list[tuple[int, int]] = []
    for needle in _needles(terms):
        i = hay.find(needle)
        while i >= 0:
            (spans if len(needle) > 1 or len(terms) == 1 else singles).append((i, i + len(needle)))
            i = hay.find(needle, i + len(needle))
    # a one-character term (化 of 内製化) is marked only where it touches a longer match
    edges = {s for s, _ in spans} | {e for _, e in spans}
    spans += [(s, e) for s, e in singles if s in edges or e in edges]
    return sorted(folded.span(s, e) for s, e in spans)
