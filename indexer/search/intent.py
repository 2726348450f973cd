"""Keyword or question: decided by what was typed (the words looked for, operators and filters left out).

Keywords are words and noun phrases, with particles or without (ガバメントクラウドの費用, 推進体制の整備,
防災 予算): every content word must occur. A question (何・どう・なぜ…, a final か・は・？, a predicate, words
linked by case particles, a long description, a noun phrase asking for a name or a number) is ranked OR.

>>> [is_question(q) for q in ("防災 予算", "推進体制の整備", "サーバーの費用は下がったか", "内製化はどう進めたのか")]
[False, False, True, True]
"""

from __future__ import annotations

import re

from indexer.text.analysis import analyze, is_stop, morphemes

QUESTION_WORDS = frozenset(
    "何 なに なん どう どの どこ どれ どんな どなた どちら どっち なぜ 何故 いつ いつ頃 誰 だれ いくつ "
    "いくら どのよう どれくらい どのくらい どうして 如何 いかが どれほど どういう 何処 何時 幾つ 幾ら".split())
_FINAL_PARTICLES = frozenset("か かな かね っけ は とは って".split())
_SOFT_ENDINGS = frozenset("ね よ な ぞ わ の".split())  # 下がったのね: still ends in a predicate
_CASE_PARTICLES = frozenset("が を に で へ から まで より は も".split())
_ASKING_ENDINGS = ("名前", "名称", "略称", "別名", "愛称", "通称", "呼称", "名", "数", "者", "日", "年", "首都", "所在地",
                   "場所", "時期", "監督", "社長", "会長", "議長", "座長", "委員長", "市長", "町長", "村長", "知事", "首相",
                   "大統領", "代表")
_CONJUNCTIVE = frozenset("て で ば ても たら ながら つつ".split())
_HIRAGANA = re.compile(r"^[\u3041-\u309f]+$")
_PREDICATES = frozenset({"動詞", "形容詞", "助動詞"})
_SENTENCE_END = re.compile(r"[?？。．!！]\s*$")
_BLANK = frozenset({"補助記号", "空白"})


def question_reason(text: str) -> str | None:
    """Why `text` (the words looked for, as typed) reads as a question, in Japanese; None for keywords
    and noun phrases.

    >>> [question_reason(q) for q in ("ガバメントクラウドの費用", "推進体制の整備", "防災 予算", "ないせいか")]
    [None, None, None, None]
    >>> question_reason("サーバーの費用は下がったか"), question_reason("ラオスの鉱業資源の開発の現状")
    ('文末の助詞（か・は…）', '助詞でつながる 3 語以上の説明')
    """
    text = text.strip()
    if not text:
        return None
    if _SENTENCE_END.search(text):
        return "文末の ？ や 。"
    ms = [m for m in morphemes(text) if m.tag not in _BLANK]
    if not ms:
        return None
    if any(m.surface in QUESTION_WORDS or m.base_form in QUESTION_WORDS for m in ms):
        return "疑問詞"
    last = text.split()[-1]
    reading = bool(_HIRAGANA.match(last)) and bool(analyze(last))  # ないせいか: a reading, not a question
    if ms[-1].tag == "助詞" and ms[-1].surface in _FINAL_PARTICLES and not reading:
        return "文末の助詞（か・は…）"
    if _has_predicate(ms):
        return "述語（動詞・形容詞）"
    if any(m.tag == "助詞" and m.surface in _CASE_PARTICLES and _is_content(n) for m, n in zip(ms, ms[1:], strict=False)):
        return "格助詞（が・を・に・で…）で続く語"
    if _runs(ms) >= 3 and sum(m.tag == "助詞" for m in ms) >= 2:
        return "助詞でつながる 3 語以上の説明"
    if _asks_for_value(ms):
        return "名前・数・人・日付・場所を問う名詞句"
    return None


def is_question(text: str) -> bool:
    """True for a natural-language question rather than keywords or a noun phrase.

    >>> [is_question(q) for q in ("ガバメントクラウド移行で費用は下がったか", "ガバメントクラウドの費用", "ないせいか")]
    [True, False, False]
    """
    return question_reason(text) is not None


def _is_content(m) -> bool:
    return not is_stop(m.tag, m.base_form)


def _runs(ms) -> int:
    """How many runs of content morphemes (words) the morphemes hold."""
    return sum(1 for i, m in enumerate(ms) if _is_content(m) and (i == 0 or not _is_content(ms[i - 1])))


def _asks_for_value(ms) -> bool:
    """A noun phrase of several words whose last word asks for a name, a number, a person (〜者, a role
    such as 監督 or 市長), a date or a place (〜の略称, 〜の市町村数, 〜の発明者, 〜の設立日, 〜の首都): an
    elliptical question.

    >>> [_asks_for_value(morphemes(q)) for q in ("フランス通信社の略称", "ガバメントクラウドの費用")]
    [True, False]
    """
    k = len(ms)
    while k and not _is_content(ms[k - 1]):
        k -= 1
    j = k
    while j and _is_content(ms[j - 1]):
        j -= 1
    head = "".join(m.surface for m in ms[j:k])
    linked = any(m.tag == "助詞" for m in ms[:j])
    return linked and len(head) >= 2 and head.endswith(_ASKING_ENDINGS)


def _has_predicate(ms) -> bool:
    """A verb, adjective or auxiliary at the end (費用は下がった); a conjugated verb or adjective (機関化
    された企業, 言えば); or one after a case particle or と (職員が作ったアプリ). Not one inside a compound
    (進め方, 見える化) or bare before a noun (新しい制度)."""
    k = len(ms) - 1
    while k > 0 and ms[k].tag == "助詞" and ms[k].surface in _SOFT_ENDINGS:
        k -= 1
    if ms[k].tag in _PREDICATES:
        return True
    linked = False
    for m, n in zip(ms, [*ms[1:], None], strict=True):
        if m.tag == "助詞" and (m.surface in _CASE_PARTICLES or m.surface == "と"):
            linked = True
        elif m.tag in ("動詞", "形容詞") and n is not None and (
                n.tag == "助動詞" or (n.tag == "助詞" and n.surface in _CONJUNCTIVE)):
            return True
        elif linked and m.tag in _PREDICATES and (n is None or n.tag != "接尾辞"):
            return True
    return False
