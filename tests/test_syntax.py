"""The query grammar (indexer.search.syntax): operators, precedence, full-width forms, lenient reading."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.search.syntax import And, Field, Not, Or, Phrase, Word, parse, show, walk

# (query, the tree as `show` writes it, a piece of every note expected: none when the list is empty)
CASES = [
    ("クラウド 契約", "(クラウド AND 契約)", []),
    ("クラウド -契約", "(クラウド AND -契約)", []),
    ("クラウド NOT 契約", "(クラウド AND -契約)", []),
    ("クラウド　－契約", "(クラウド AND -契約)", []),  # 全角スペースと全角マイナス
    ("クラウド −契約", "(クラウド AND -契約)", []),  # 数学のマイナス記号
    ("クラウド OR 内製化", "(クラウド OR 内製化)", []),
    ("クラウド｜内製化", "(クラウド OR 内製化)", []),
    ("クラウド|内製化", "(クラウド OR 内製化)", []),
    ("クラウド ＯＲ 内製化", "(クラウド OR 内製化)", []),
    ("クラウド or 内製化", "(クラウド AND or AND 内製化)", []),  # 小文字の or は語
    ("クラウド AND 内製化", "(クラウド AND 内製化)", []),
    ("防災 予算 OR 人材", "(防災 AND (予算 OR 人材))", []),  # OR は AND より強く結びつく
    ("(防災 予算) OR 人材", "((防災 AND 予算) OR 人材)", []),
    ("（防災 OR 内製化） 予算", "((防災 OR 内製化) AND 予算)", []),  # 全角括弧
    ("予算 -(防災 OR 内製化)", "(予算 AND -(防災 OR 内製化))", []),
    ("NOT 契約 OR 調達", "(-契約 OR 調達)", []),  # NOT がいちばん強い
    ('"推進体制の整備"', '"推進体制の整備"', []),
    ("“推進体制”", '"推進体制"', []),
    ("＂推進体制＂", '"推進体制"', []),
    ('クラウド -"直接契約"', '(クラウド AND -"直接契約")', []),
    ("speaker:北条 内製化", "(speaker:北条 AND 内製化)", []),
    ("話者：北条 内製化", "(speaker:北条 AND 内製化)", []),
    ('speaker:"北条 真琴" 人材', "(speaker:北条 真琴 AND 人材)", []),
    ("-speaker:北条 人材", "(-speaker:北条 AND 人材)", []),
    ("a:b", "a:b", []),  # 知らない欄名はただの語
    ("e-Gov マイナンバー", "(e-Gov AND マイナンバー)", []),  # 語の中のハイフンは語の一部
    ("サーバー", "サーバー", []),  # 長音記号は演算子ではない
    ("NOT NOT 契約", "契約", []),
    # malformed input: read as its words, with a note
    ('"クラウド', "クラウド", ["引用符"]),
    ("(内製化", "内製化", ["括弧"]),
    ("内製化)", "内製化", ["括弧"]),
    ("OR", "", ["OR"]),
    ("-", "", ["「-」"]),
    ("クラウド OR", "クラウド", ["OR"]),
    ("OR クラウド", "クラウド", ["OR"]),
    ("クラウド OR OR 内製化", "(クラウド OR 内製化)", ["OR"]),
    ("NOT", "", ["NOT"]),
    ("クラウド NOT", "クラウド", ["NOT"]),
    ("AND 予算", "予算", ["AND"]),
    ("()", "", ["括弧"]),
    ('""', "", ["引用符"]),
    ("speaker: 内製化", "内製化", ["speaker"]),
    (")(", "", ["括弧"]),
]


@pytest.mark.parametrize("query, tree, notes", CASES)
def test_grammar(query, tree, notes):
    p = parse(query)
    assert show(p.tree) == tree
    assert all(any(n in note for note in p.notes) for n in notes)
    if not notes:
        assert p.notes == []


def test_leaves_and_their_negation():
    leaves = [(type(x).__name__, show(x), neg) for x, neg in walk(parse('予算 -(防災 OR "内製化") speaker:北条').tree)]
    assert leaves == [("Word", "予算", False), ("Word", "防災", True), ("Phrase", '"内製化"', True),
                      ("Field", "speaker:北条", False)]


def test_the_tree_keeps_where_each_word_was_typed():
    tree = parse("防災（予算）").tree
    assert isinstance(tree, And) and [c.span for c in tree.children] == [(0, 2), (3, 5)]


def test_deep_parentheses_are_cut_not_crashed():
    p = parse("(" * 500 + "予算" + ")" * 500)
    assert show(p.tree) == "予算" and any("深い括弧" in n for n in p.notes)


PIECES = ["クラウド", "契約", "内製化", "OR", "AND", "NOT", "-", "－", "|", "｜", "(", ")", "（", "）", '"', "“", "”",
          "speaker:北条", " ", "　", "の", "か", "？", "or"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(PIECES), max_size=20).map("".join)))
def test_any_text_parses(text):
    p = parse(text)
    assert isinstance(p.notes, list)
    for leaf, _ in walk(p.tree):
        assert isinstance(leaf, Word | Phrase | Field)
        assert str(leaf.text if not isinstance(leaf, Field) else leaf.value).strip()


def _no_fields(node):
    return not any(isinstance(x, Field) for x, _ in walk(node))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES[:-5]), max_size=20).map(" ".join))
def test_show_reads_back_as_the_same_tree(text):
    """What `show` writes is itself a query with the same meaning."""
    tree = parse(text).tree
    if _no_fields(tree):
        again = parse(show(tree))
        assert again.tree == tree and again.notes == []


def test_node_types_compare_by_value():
    assert parse("A -B").tree == And((Word("A"), Not(Word("B"))))
    assert parse("A | B").tree == Or((Word("A"), Word("B")))
