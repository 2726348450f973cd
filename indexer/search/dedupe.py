"""One turn held twice by one session: the subtitles and the transcript of the same exchange.

A session may publish the same words in two documents (`s06/qa.vtt` and `s06/transcript.md`: the
subtitle cues of the Q&A, and the transcript's Q&A part). Two turns are *copies* when they belong to
the same session, to different documents, have the same speaker (or both none), and their texts are
equal once normalized (NFKC, whitespace removed: subtitle cues break lines where the transcript does
not), or one holds the other whole and is at least `MIN_CONTAINED` characters long (a subtitle cue
may carry only part of a turn). Short lines ("はい。") are only merged when equal.

Nothing here reads the index; the callers (`browse`) hand in what the role may see.

>>> same_turn("西浜市の田村です。\\n伺います。", "西浜市の田村です。伺います。")
True
>>> same_turn("はい。", "はい、そうです。")
False
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from indexer.text.speakers import normalize_name

#: The shortest text that counts as a copy when it is only contained in the other one.
MIN_CONTAINED = 20
_SPACE = re.compile(r"\s+")

T = TypeVar("T")


def turn_key(text: str) -> str:
    """The text as compared: NFKC, without whitespace.

    >>> turn_key("ＤＸの 第一歩\\nです")
    'DXの第一歩です'
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or ""))


def _speaker_key(name: str) -> str:
    return normalize_name(name)[0] if name else ""


def same_turn(a: str, b: str, speaker_a: str = "", speaker_b: str = "") -> bool:
    """Whether two turns (of one session, in different documents) are the same words."""
    if _speaker_key(speaker_a) != _speaker_key(speaker_b):
        return False
    ka, kb = turn_key(a), turn_key(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    short, long = (ka, kb) if len(ka) <= len(kb) else (kb, ka)
    return len(short) >= MIN_CONTAINED and short in long


@dataclass(frozen=True)
class Copy:
    """Where a turn is found: the document (id, title), the turn's order in it and its time (subtitles)."""

    doc_id: str
    title: str
    order: int
    start: float | None = None


def fold(items: Sequence[T], *, session: Callable[[T], object], doc: Callable[[T], str],
         speaker: Callable[[T], str], text: Callable[[T], str]) -> list[tuple[T, list[T]]]:
    """`items` in their order, each copy folded under the first item it copies.

    Returns (item, copies) for each item kept; an item is compared with the kept items of its session
    from other documents only (a document never folds its own turns).

    >>> rows = [(1, "a", "北条", "同じ発言です。" * 3), (1, "b", "北条", "同じ発言です。\\n" * 3), (2, "c", "北条", "同じ発言です。" * 3)]
    >>> [(r[1], [c[1] for c in cs]) for r, cs in fold(rows, session=lambda r: r[0], doc=lambda r: r[1],
    ...                                                   speaker=lambda r: r[2], text=lambda r: r[3])]
    [('a', ['b']), ('c', [])]
    """
    kept: list[tuple[T, list[T]]] = []
    by_session: dict[object, list[int]] = {}
    for item in items:
        s = session(item)
        target = None
        if s not in (None, ""):
            for i in by_session.get(s, []):
                head = kept[i][0]
                if doc(head) != doc(item) and all(doc(c) != doc(item) for c in kept[i][1]) and \
                        same_turn(text(head), text(item), speaker(head), speaker(item)):
                    target = i
                    break
        if target is None:
            by_session.setdefault(s, []).append(len(kept))
            kept.append((item, []))
        else:
            kept[target][1].append(item)
    return kept
