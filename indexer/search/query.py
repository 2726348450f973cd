"""Parse what a member types into keyword groups, phrases, filters and a mode (ranked in `indexer.search.ranking`).

- Quoted text ("…" or “…”) is a phrase, matched literally (width and spaces ignored).
- Space-separated keywords must all match (AND); a keyword the analyzer splits (内製化 → 内製|化,
  自治体クラウド → 自治|体|クラウド) must have all its parts in one passage.
- A natural-language question (particles, many content words, ？) is not ANDed: every content
  word is optional and BM25 weighs them (OR), so questions never come back empty.
- A keyword also matches the speaker's name (田村 finds 田村's turns), with a lower weight.
- `field:value` tokens (speaker:, session:, type:, part:, from:, to:) become filters.

>>> p = parse_query('クラウド 契約 speaker:北条')
>>> (p.mode, p.groups, p.filters)
('and', [['クラウド'], ['契約']], {'speaker': '北条'})
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from indexer.text.analysis import STOP_POS, japanese_analyzer, morphemes

MAX_QUERY_CHARS = 1000
MAX_TERMS = 64
FILTER_FIELDS = {
    "speaker": "speaker", "話者": "speaker", "発言者": "speaker",
    "session": "session", "回": "session",
    "type": "type", "種類": "type",
    "part": "part", "パート": "part",
    "from": "from", "to": "to",
    "speaker_role": "speaker_role", "役職": "speaker_role",
}
_TOKEN = re.compile(r'([^\s"“”＂:：]+)[:：]("[^"]*"|“[^”]*”|[^\s]+)|"([^"]*)"|“([^”]*)”|＂([^＂]*)＂|(\S+)')
_QUESTION_END = re.compile(r"[?？]$|(か|かな|ですか|ますか|でしょうか|のか)[。．.]?$")


@dataclass
class ParsedQuery:
    """A query split into term groups (each group: the terms of one keyword or phrase), and filters."""

    text: str
    groups: list[list[str]] = field(default_factory=list)
    phrases: list[bool] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # each group's keyword as typed
    filters: dict[str, str] = field(default_factory=dict)
    mode: str = "and"

    @property
    def terms(self) -> list[str]:
        seen: list[str] = []
        for g in self.groups:
            for t in g:
                if t not in seen:
                    seen.append(t)
        return seen

    @property
    def empty(self) -> bool:
        return not self.terms


def _analyze(text: str) -> list[str]:
    return [t.text for t in japanese_analyzer()(text)]


def is_question(chunk: str) -> bool:
    """True for a natural-language question rather than keywords.

    >>> is_question("ガバメントクラウド移行で費用は下がったか"), is_question("内製化")
    (True, False)
    """
    chunk = chunk.strip()
    if _QUESTION_END.search(chunk):
        return True
    ms = morphemes(chunk)
    function_words = sum(1 for m in ms if m.tag in ("助詞", "助動詞"))
    content = sum(1 for m in ms if m.tag not in STOP_POS)
    return function_words >= 2 or (function_words >= 1 and content >= 3) or content >= 5


def parse_query(text: str) -> ParsedQuery:
    """Split the raw query string; never raises, whatever the input (cached: treat the result as read-only)."""
    return _parse_query(text)


@lru_cache(maxsize=512)
def _parse_query(text: str) -> ParsedQuery:
    text = (text or "").encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")[:MAX_QUERY_CHARS]
    parsed = ParsedQuery(text=text)
    words: list[tuple[str, bool]] = []
    for m in _TOKEN.finditer(text):
        fname, fvalue, q1, q2, q3, plain = m.groups()
        if fname is not None and fname.lower() in FILTER_FIELDS:
            parsed.filters[FILTER_FIELDS[fname.lower()]] = fvalue.strip('"“”')
        elif fname is not None:
            words.append((m.group(0), False))
        elif q1 is not None or q2 is not None or q3 is not None:
            words.append((q1 if q1 is not None else q2 if q2 is not None else q3, True))
        elif plain:
            words.append((plain.strip('"“”＂'), False))
    question = any(not quoted and is_question(w) for w, quoted in words) if words else False
    parsed.mode = "or" if question else "and"
    for w, quoted in words:
        terms = _analyze(w)[:MAX_TERMS]
        if terms:
            parsed.groups.append(terms)
            parsed.phrases.append(quoted)
            parsed.words.append(w)
    return parsed
