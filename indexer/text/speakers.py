"""Speaker markers of Japanese minutes and transcripts, and speaker-name normalization.

>>> parse_turn("【北条座長】では始めます。")
Turn(label='北条座長', name='北条', role='座長', qa='', text='では始めます。')
>>> parse_turn("○議長（山田太郎君）ただいまから会議を開きます。").role
'議長'
>>> normalize_name("大久保 光伸氏")
('大久保光伸', '')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ROLE_SUFFIXES = (
    "副委員長", "委員長", "副議長", "議長", "副座長", "座長", "副知事", "知事", "教育長", "副市長", "市長",
    "副町長", "町長", "副村長", "村長", "局長", "部長", "課長", "室長", "係長", "主査", "理事", "委員",
    "大臣", "副大臣", "政務官", "参考人", "補佐官", "事務局長", "事務局", "司会", "講師", "ゲスト", "説明員",
)
HONORIFICS = ("さん", "氏", "君", "様", "先生")
QA_LABELS = {
    "Q": "question", "Ｑ": "question", "質問": "question", "質問者": "question", "問": "question",
    "A": "answer", "Ａ": "answer", "回答": "answer", "回答者": "answer", "答": "answer",
}
NOT_SPEAKERS = frozenset(
    "日時 日程 場所 会場 テーマ 注 備考 参加資格 締め切り 締切 内容 目的 資料 議題 例 URL 文 出典 次回 "
    "ゲスト 座長 主催 対象 定員 参加費 申込 申し込み 講演 概要 ポイント 結論 課題 問題 背景".split()
)

_BRACKET = re.compile(r"^【([^】\n]{1,30})】\s*")
_ASSEMBLY = re.compile(r"^[○◯〇◎]\s*([^（(\s　]{1,20}?)[（(]([^）)\n]{1,30})[）)]\s*")
_ASSEMBLY_PLAIN = re.compile(r"^[○◯〇◎]\s*([^\s　（(]{1,30})[\s　]+")
_QA = re.compile(r"^(Q|Ｑ|A|Ａ|質問者?|回答者?|問|答)\s*(?:[（(]([^）)\n]{1,30})[）)])?\s*[:：.．]\s*")
_COLON = re.compile(r"^([^\s:：、。「」『』（）()【】0-9０-９]{1,12}(?:[ 　][^\s:：、。「」『』（）()0-9０-９]{1,8})?)\s*[:：]\s*")
_ROLE_PLAIN = re.compile(
    r"^([^\s　、。「」（）()【】:：]{1,8}?(?:" + "|".join(sorted(ROLE_SUFFIXES, key=len, reverse=True)) + r"))[ 　]+(?=\S)"
)
_PAREN_PREFIX = re.compile(r"^[（(]([^）)\n]{1,30})[）)]\s*")


@dataclass
class Turn:
    """The speaker marker found at the start of a paragraph, and the rest of its text."""

    label: str
    name: str
    role: str
    qa: str
    text: str


def normalize_name(label: str) -> tuple[str, str]:
    """Split a speaker label into (name, role): spaces and honorifics dropped, role suffix kept apart.

    >>> normalize_name("北条座長")
    ('北条', '座長')
    >>> normalize_name("ＤＸ推進課長")
    ('DX推進', '課長')
    """
    s = unicodedata.normalize("NFKC", label).strip()
    s = re.sub(r"\s+", "", s)
    role = ""
    for _ in range(2):
        for h in HONORIFICS:
            if s.endswith(h) and len(s) > len(h):
                s = s[: -len(h)]
        for r in ROLE_SUFFIXES:
            if s.endswith(r) and not role:
                role, s = r, s[: -len(r)]
                break
    if not s and role:
        return "", role
    return s, role


def parse_turn(paragraph: str) -> Turn | None:
    """Recognise a speaker marker at the start of `paragraph`, or None."""
    text = paragraph.lstrip()
    m = _BRACKET.match(text)
    if m:
        name, role = normalize_name(m.group(1))
        return Turn(m.group(1), name, role, "", text[m.end():])
    m = _ASSEMBLY.match(text)
    if m:
        role_label, who = m.group(1), m.group(2)
        name, role = normalize_name(who)
        return Turn(f"{role_label}（{who}）", name, normalize_name(role_label)[1] or role_label, "", text[m.end():])
    m = _QA.match(text)
    if m:
        qa = QA_LABELS[m.group(1)]
        who = m.group(2) or ""
        rest = text[m.end():]
        if not who:
            pm = _PAREN_PREFIX.match(rest)
            if pm:
                who, rest = pm.group(1), rest[pm.end():]
        name, role = normalize_name(who.split()[-1]) if who.split() else ("", "")
        return Turn(m.group(0).strip(), name, role, qa, rest)
    m = _ASSEMBLY_PLAIN.match(text)
    if m:
        name, role = normalize_name(m.group(1))
        return Turn(m.group(1), name, role, "", text[m.end():])
    m = _ROLE_PLAIN.match(text)
    if m:
        name, role = normalize_name(m.group(1))
        if name:
            return Turn(m.group(1), name, role, "", text[m.end():])
    m = _COLON.match(text)
    if m and m.group(1).strip() not in NOT_SPEAKERS and not m.group(1).startswith(("http", "www")):
        name, role = normalize_name(m.group(1))
        if name or role:
            return Turn(m.group(1), name, role, "", text[m.end():])
    return None


class SpeakerDirectory:
    """Known people (from the catalogue): maps aliases and surnames to one canonical name.

    >>> d = SpeakerDirectory([{"name": "北条 真琴", "aliases": ["北条座長"], "role": "座長"}])
    >>> d.resolve("北条", "")
    ('北条真琴', '座長')
    """

    def __init__(self, people: list[dict] | None = None):
        self._names: dict[str, str] = {}
        self._roles: dict[str, str] = {}
        for p in people or []:
            canonical, _ = normalize_name(str(p.get("name", "")))
            if not canonical:
                continue
            self._roles[canonical] = str(p.get("role", "") or "")
            for alias in [p.get("name", ""), *(p.get("aliases") or [])]:
                key, _ = normalize_name(str(alias))
                if key:
                    self._names[key] = canonical

    def resolve(self, name: str, role: str) -> tuple[str, str]:
        """Canonical (name, role) for a parsed name; unknown names are returned as they are."""
        if not name:
            return name, role
        canonical = self._names.get(name)
        if canonical is None:
            matches = {c for c in self._names.values() if c.startswith(name) or name.startswith(c)}
            canonical = matches.pop() if len(matches) == 1 else name
        return canonical, role or self._roles.get(canonical, "")

    def role_of(self, name: str) -> str:
        return self._roles.get(name, "")
