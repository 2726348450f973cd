"""What a search that found nothing says: how many turns each word finds on its own, and what to try
instead (fewer words, either word, a reading in kana, a dictionary synonym). It never fills the page
with turns that do not match.

>>> notes, tries = no_match("keyword", [("予算", 40), ("防災訓練", 0)], True, False)
>>> notes[0], tries
('「予算」「防災訓練」をすべて含む発言は見つかりませんでした。', ['予算', '予算 OR 防災訓練', 'ぼうさいくんれん'])
"""

from __future__ import annotations

from indexer.search.synonyms import Synonyms
from indexer.text.analysis import analyze, morphemes, to_katakana

MAX_SUGGESTIONS = 6


def to_hiragana(kana: str) -> str:
    """Katakana as hiragana (ー and other characters unchanged).

    >>> to_hiragana("ナイセイカ")
    'ないせいか'
    """
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in kana)


def reading_of(word: str) -> str:
    """A word's reading in hiragana ("" when the analyzer does not know every part of it).

    >>> reading_of("防災")
    'ぼうさい'
    """
    readings = [m.reading for m in morphemes(word) if m.tag not in ("補助記号", "空白")]
    return to_hiragana("".join(readings)) if readings and all(readings) else ""


def no_match(mode: str, counts: list[tuple[str, int]], plain: bool, constrained: bool,
             synonyms: Synonyms | None = None, finds=None) -> tuple[list[str], list[str]]:
    """(notes, suggested queries) for a search that found nothing. `counts`: each word looked for and the
    turns holding it; `plain`: the words were simply side by side (no OR / NOT / parentheses);
    `constrained`: exclusions or quoted phrases narrowed the search; `finds(query)`: whether a suggestion
    would find something (only those are offered)."""
    words = [w for w, _ in counts]
    if mode == "question":
        notes = ["この質問に合う発言は見つかりませんでした。"]
    elif plain and words:
        quoted = "".join(f"「{w}」" for w in words)
        notes = [f"{quoted}をすべて含む発言は見つかりませんでした。" if len(words) > 1
                 else f"{quoted}を含む発言は見つかりませんでした。"]
    else:
        notes = ["条件に合う発言は見つかりませんでした。"]
    if len(counts) > 1:
        notes.append("語ごとの件数: " + "・".join(f"{w} {n} 件" for w, n in counts) + "。")
    tries: list[tuple[str, str]] = []
    found = [w for w, n in counts if n]
    if len(words) > 1 and found and len(found) < len(words):
        tries.append(("語を減らす", " ".join(found)))
    if len(words) > 1 and mode != "question":
        tries.append(("いずれかの語を含む", " OR ".join(words)))
    for w, n in counts:
        if n:
            continue
        reading = "" if to_katakana(w) else reading_of(w)
        if reading and reading != w:
            tries.append(("読み（かな）で探す", reading))
        for s in (synonyms.words(analyze(w)) if synonyms else []):
            tries.append(("同義語で探す", s))
    if constrained:
        notes.append("除外（-）や引用符（\"…\"）の条件を外すと見つかる場合があります。")
    tries = list({q: (label, q) for label, q in tries}.values())
    tries = [(label, q) for label, q in tries if finds is None or finds(q)][:MAX_SUGGESTIONS]
    if tries:
        notes.append("試せること: " + "、".join(f"{label}（{q}）" for label, q in tries) + "。")
    else:
        notes.append("語を減らすか、別の言い方（同義語・かなの読み）でお試しください。")
    return notes, [q for _, q in tries]
