"""HTML-escaped snippets with <mark> around the matched characters.

>>> snippet("自治体の内製化を進めた", [(4, 6)], width=20)
'自治体の<mark>内製</mark>化を進めた'
"""

from __future__ import annotations

import re
from html import escape

from indexer.text.analysis import bigrams, japanese_analyzer, morphemes
from indexer.text.normalize import fold

Span = tuple[int, int]
_HIRAGANA2 = re.compile(r"^[\u3041-\u3096]+$")


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


def snippet(text: str, spans: list[Span], width: int = 120) -> str:
    """A window of `text` around the densest matches, escaped, with ellipses where cut."""
    start, end = best_window(text, spans, width)
    body = mark(text, spans, start, end).replace("\n", " ")
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def query_snippet(text: str, terms: list[str], width: int = 120, query: str = "") -> str:
    """A snippet for query `terms`, marked by fast string search on the folded text (no re-tagging):
    base forms, verb stems, and one-character terms only where they touch a longer match.

    >>> query_snippet("自治体の内製化と強化", ["内製", "化"])
    '自治体の<mark>内製化</mark>と強化'
    """
    return snippet(text, snippet_spans(text, terms, query), width)


# -- where the query's terms are in a text ---------------------------------------------------------
def query_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Character spans of `text` whose index term is one of `terms` (for highlighting).

    >>> query_spans("サーバーの内製化", ["サーバ"])
    [(0, 4)]
    """
    wanted = set(terms)
    return [(t.startchar, t.endchar) for t in japanese_analyzer()(text, chars=True) if t.text in wanted]


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


def snippet_spans(text: str, terms: list[str], query: str = "") -> list[tuple[int, int]]:
    """Spans to mark in a snippet: the terms; failing that, the query's character bigrams (a passage
    found through the bigram side field)."""
    spans = rough_spans(text, terms)
    if not spans and query:
        spans = rough_spans(text, [g for g in bigrams(query) if not _HIRAGANA2.match(g)])
    return spans
