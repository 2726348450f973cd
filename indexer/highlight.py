"""HTML-escaped snippets with <mark> around the matched characters.

>>> snippet("自治体の内製化を進めた", [(4, 6)], width=20)
'自治体の<mark>内製</mark>化を進めた'
"""

from __future__ import annotations

from html import escape

Span = tuple[int, int]


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
    from .analysis import snippet_spans

    return snippet(text, snippet_spans(text, terms, query), width)
