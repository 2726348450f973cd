"""Width/compatibility folding (NFKC) that remembers where each folded character came from.

The analyzer tags the folded text, but highlights must land on the characters of the stored text,
so `fold` returns, for every folded character, its start and end offset in the original.

>>> fold("ｸﾗｳﾄﾞ").text
'クラウド'
>>> fold("ｸﾗｳﾄﾞ").span(0, 4)
(0, 5)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x20, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        n = unicodedata.normalize("NFKC", c)
        if len(n) == 1 and n != c and not unicodedata.combining(n):
            table[cp] = n
    for cp in range(0x20):  # control characters (NUL, tabs, ...) become spaces, newlines stay
        if chr(cp) not in "\n":
            table[cp] = " "
    table[0x7F] = " "
    return table


_TABLE = _build_table()
_VOICED = {"\u3099", "\u309a", "\uff9e", "\uff9f"}  # (half-width) voiced sound marks


@dataclass
class Folded:
    """Folded text plus offsets back into the original (None when they are identical)."""

    text: str
    starts: list[int] | None = None
    ends: list[int] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the folded characters [start, end)."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            o = self.starts[start] if start < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return o, o
        return self.starts[start], self.ends[end - 1]


def fold(text: str) -> Folded:
    """NFKC-fold `text` (full-width ASCII, half-width kana, ①, ㈱ …) keeping an offset map."""
    quick = text.translate(_TABLE)
    if unicodedata.is_normalized("NFKC", quick):
        return Folded(quick)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(quick)
    while i < n:
        j = i + 1
        while j < n and (unicodedata.combining(quick[j]) or quick[j] in _VOICED):
            j += 1
        piece = unicodedata.normalize("NFKC", quick[i:j])
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return Folded("".join(out), starts, ends)


def _char_class(codepoints: list[int]) -> str:
    """A regex character class of the code points, consecutive ones as ranges."""
    parts: list[str] = []
    start = prev = codepoints[0]
    for cp in [*codepoints[1:], -1]:
        if cp != prev + 1:
            first, last = re.escape(chr(start)), re.escape(chr(prev))
            parts.append(first if start == prev else f"{first}-{last}")
            start = cp
        prev = cp
    return "[" + "".join(parts) + "]"


_FOLDED_CHARS = re.compile(_char_class(sorted(_TABLE)))


def fold_chars(text: str) -> str:
    """Fold each character on its own (full-width letters and digits, half-width kana, spaces …), without
    offsets or composing voiced marks: cheaper than `fold_text`, for comparing text with folded terms.

    >>> fold_chars("ＤＸ　２０２０")
    'DX 2020'
    """
    return _FOLDED_CHARS.sub(lambda m: _TABLE[ord(m.group())], text)


def fold_text(text: str) -> str:
    """The folded text alone: what queries and facets compare.

    >>> fold_text("ＤＸ　推進")
    'DX 推進'
    """
    return fold(text).text
