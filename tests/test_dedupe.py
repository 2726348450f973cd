"""Turns one session holds twice (subtitles and transcript) shown once with both sources; sessions with titles."""

from __future__ import annotations

import pytest

from indexer.archive.actions import index_corpus
from indexer.archive.datadir import DataDir
from indexer.search import browse
from indexer.search.dedupe import same_turn, turn_key
from indexer.search.kb import KnowledgeBase

from helpers import write_corpus, write_subtitled_corpus


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dedupe")
    corpus = write_subtitled_corpus(tmp / "corpus")
    data = DataDir.at(tmp / "data")
    return KnowledgeBase(index_corpus(corpus, data), data_dir=data.root)


@pytest.mark.parametrize("a,b,sa,sb,expected", [
    ("内製化で費用は\n下がりましたか？", "内製化で費用は下がりましたか？", "田村", "田村", True),  # cues rejoined
    ("ＤＸの第一歩です。", "DXの第一歩です。", "", "", True),  # width folded
    ("庁内公募です。", "庁内公募です。", "佐伯", "北条", False),  # another speaker
    ("はい。", "はい、そうです。ありがとうございました。", "田村", "田村", False),  # too short to count as held
    ("三割ほど下がりました。サーバ代が大きいです", "三割ほど下がりました。サーバ代が大きいです。以上です。", "", "", True),
    ("", "", "", "", False),
])
def test_same_turn(a, b, sa, sb, expected):
    assert same_turn(a, b, sa, sb) is expected


def test_turn_key_ignores_line_breaks_and_width():
    assert turn_key(" ＡＩ の\n導入 ") == "AIの導入"


def test_qa_pairs_held_twice_are_shown_once_naming_both(kb):
    pairs = browse.qa_pairs(kb, "public", session=1)
    assert [p.question.text for p in pairs] == ["内製化で費用は下がりましたか？", "人材はどう確保しましたか？"]
    for p in pairs:  # the transcript's text (not broken into cues) leads, the subtitles are named with their time
        assert p.doc_id == "t1"
        assert [(c.doc_id, c.title) for c in p.sources] == [("t1", "第1回 トランスクリプト"),
                                                             ("s01-qa", "第1回 質疑応答（字幕）")]
        assert p.copies[0].start is not None and p.source.start is None
    assert pairs[1].copies[0].order == 2 and pairs[1].answers[0].text == "庁内公募です。"


def test_qa_pairs_of_other_sessions_are_not_merged(tmp_path):
    corpus = write_subtitled_corpus(tmp_path / "corpus")
    # the same words in another session are another exchange
    (corpus / "s02" / "again.md").write_text(
        "---\nid: again\nsession: 2\ntype: transcript\nvisibility: public\ntitle: 第2回\n---\n## 質疑応答\n"
        "田村：人材はどう確保しましたか？\n佐伯：庁内公募です。\n", encoding="utf-8")
    data = DataDir.at(tmp_path / "data")
    kb = KnowledgeBase(index_corpus(corpus, data), data_dir=data.root)
    pairs = [p for p in browse.qa_pairs(kb, "public") if p.question.text == "人材はどう確保しましたか？"]
    assert [(p.doc_id, [c.doc_id for c in p.copies]) for p in pairs] == [("t1", ["s01-qa"]), ("again", [])]


def test_search_hits_held_twice_fold_under_the_first(kb):
    res = kb.search("庁内公募", role="public")
    assert sorted(h.doc_id for h in res.hits) == ["s01-qa", "t1"]
    folded = browse.fold_hits(res.hits)
    assert len(folded) == 1
    hit, copies = folded[0]
    assert {hit.doc_id, copies[0].doc_id} == {"s01-qa", "t1"} and copies[0].title
    # hits of different turns stay apart
    assert len(browse.fold_hits(kb.search("内製化", role="public").hits)) == len(
        {h.text.replace("\n", "") for h in kb.search("内製化", role="public").hits})


def test_document_turns_name_their_copy_in_the_session(kb):
    t1 = kb.document("t1", "public")
    copies = browse.copies_in_session(kb, t1, "public")
    qa_orders = [s.order for s in t1.segments if s.part == "qa"]
    assert sorted(copies) == qa_orders
    assert {c.doc_id for cs in copies.values() for c in cs} == {"s01-qa"}
    sub = kb.document("s01-qa", "public")
    back = browse.copies_in_session(kb, sub, "public")
    assert [back[s.order][0].order for s in sub.segments] == qa_orders
    # the report of the same session holds none of these turns
    assert browse.copies_in_session(kb, kb.document("r1", "public"), "public") == {}


def test_members_only_copy_is_never_named_to_the_public(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "s01" / "secret.md").write_text(
        "---\nid: secret\nsession: 1\ntype: transcript\nvisibility: members\ntitle: 第1回 会員向け記録\n---\n"
        "## 質疑応答\n田村：人材はどう確保しましたか？\n佐伯：庁内公募です。\n", encoding="utf-8")
    data = DataDir.at(tmp_path / "data")
    kb = KnowledgeBase(index_corpus(corpus, data), data_dir=data.root)
    t1 = kb.document("t1", "public")
    assert browse.copies_in_session(kb, t1, "public") == {}
    assert "secret" not in repr(browse.qa_pairs(kb, "public"))
    assert {c.doc_id for cs in browse.copies_in_session(kb, t1, "member").values() for c in cs} == {"secret"}
    assert any(c.doc_id == "secret" for p in browse.qa_pairs(kb, "member") for c in p.sources)


def test_sessions_with_catalogue_titles(kb):
    assert [(s.number, s.date, s.label) for s in browse.sessions(kb, "public")] == [
        (1, "2025-06-17", "第1回 推進体制と人材")]
    assert [s.label for s in browse.sessions(kb, "member")] == ["第1回 推進体制と人材", "第2回 クラウド契約"]
