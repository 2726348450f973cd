"""The synonym / 表記ゆれ dictionary the secretariat edits, applied at query time.

`<data dir>/synonyms.yaml` maps a word to its equivalents; every word of an entry is equivalent to
every other (内製化: [内製, インハウス開発] makes the three interchangeable). A query keyword that is
one of them also matches the others (with a slightly lower weight).

>>> s = Synonyms({"内製化": ["自前開発"]})
>>> s.alternatives(["内製", "化"])
[['自前', '開発']]
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from indexer.errors import KbError
from indexer.text.analysis import analyze

SYNONYMS_FILE = "synonyms.yaml"


def parse(text: str) -> dict[str, list[str]]:
    """The dictionary from YAML text: a mapping of word → list of words (Japanese errors)."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"（{mark.line + 1} 行目）" if mark is not None else ""
        raise KbError(f"同義語辞書を YAML として読めません{where}。「語: [同義語, 同義語]」の形で書いてください。") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise KbError("同義語辞書は「語: [同義語, 同義語]」の対応表で書いてください。")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key.strip():
            raise KbError(f"見出し語は文字列で書いてください: {key}")
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise KbError(f"「{key}」の同義語は文字列のリストで書いてください（例: {key}: [語1, 語2]）。")
        out[key] = value
    return out


class Synonyms:
    """Equivalence groups keyed by the analyzed terms of each word."""

    def __init__(self, mapping: dict[str, list[str]] | None = None):
        self._groups: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        self._written: dict[tuple[str, ...], str] = {}  # analyzed terms → the word as the dictionary writes it
        for key, values in (mapping or {}).items():
            written = {tuple(analyze(w)): w.strip() for w in [key, *values]}
            words = [w for w in dict.fromkeys(written) if w]
            for w in words:
                self._written.setdefault(w, written[w])
                known = self._groups.setdefault(w, [])
                known.extend(x for x in words if x != w and x not in known)

    def __bool__(self) -> bool:
        return bool(self._groups)

    def alternatives(self, terms: list[str]) -> list[list[str]]:
        """The equivalents of one keyword (given as its analyzed terms)."""
        return [list(t) for t in self._groups.get(tuple(terms), [])]

    def words(self, terms: list[str]) -> list[str]:
        """The equivalents of one keyword as the dictionary writes them.

        >>> Synonyms({"内製化": ["自前開発"]}).words(["内製", "化"])
        ['自前開発']
        """
        return [self._written[t] for t in self._groups.get(tuple(terms), [])]


_cache: dict[str, tuple[float, Synonyms]] = {}


def load(data_dir: str | Path) -> Synonyms:
    """The dictionary of a data directory (re-read when the file changes; empty when there is none)."""
    path = Path(data_dir) / SYNONYMS_FILE
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return Synonyms()
    hit = _cache.get(str(path))
    if hit and hit[0] == mtime:
        return hit[1]
    try:
        syn = Synonyms(parse(path.read_text(encoding="utf-8")))
    except (KbError, OSError, UnicodeDecodeError):
        syn = Synonyms()  # a broken file never breaks search; the 管理 page refuses to save one
    _cache[str(path)] = (mtime, syn)
    return syn
