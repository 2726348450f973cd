"""The synonym dictionary and kana readings change what a query finds."""

import pytest

from indexer.archive.actions import add_files
from indexer.archive.datadir import DataDir
from indexer.errors import KbError
from indexer.search.synonyms import Synonyms, load, parse
from indexer.text.analysis import analyze

from helpers import build_kb


@pytest.fixture
def kb(tmp_path):
    kb = build_kb(tmp_path)
    (tmp_path / "corpus" / "s01" / "extra.md").write_text(
        "---\nid: x1\nsession: 1\n---\n庁内でのインハウス開発に切り替えました。\n\nデジタル変革の担当課です。\n",
        encoding="utf-8")
    add_files(DataDir.at(tmp_path), [tmp_path / "corpus" / "s01" / "extra.md"])
    return kb


@pytest.mark.parametrize(
    "entry, query_terms, expected",
    [
        ({"内製化": ["インハウス開発"]}, ["内製", "化"], [analyze("インハウス開発")]),
        ({"内製化": ["インハウス開発"]}, analyze("インハウス開発"), [["内製", "化"]]),
        ({"DX": ["デジタル変革", "デジタルトランスフォーメーション"]}, ["dx"],
         [["デジタル", "変革"], ["デジタル", "トランスフォーメーション"]]),
        ({"内製化": ["インハウス開発"]}, ["予算"], []),
    ],
)
def test_alternatives_are_symmetric(entry, query_terms, expected):
    assert Synonyms(entry).alternatives(query_terms) == expected


@pytest.mark.parametrize("text", ["内製化: インハウス", "- a\n- b", "内製化: [1, 2]", "内製化: [\n"])
def test_bad_dictionary_is_refused_in_japanese(text):
    with pytest.raises(KbError, match="同義語|語"):
        parse(text)


def test_dictionary_changes_results(kb):
    assert "x1#0000" not in [h.id for h in kb.search("内製化", role="public").hits]
    (kb.data_dir / "synonyms.yaml").write_text("内製化: [インハウス開発]\nDX: [デジタル変革]\n", encoding="utf-8")
    hits = kb.search("内製化", role="public").hits
    assert "x1#0000" in [h.id for h in hits]
    assert "<mark>インハウス開発</mark>" in next(h for h in hits if h.id == "x1#0000").snippet
    assert "x1#0001" in [h.id for h in kb.search("DX", role="public").hits]


def test_broken_dictionary_never_breaks_search(kb):
    (kb.data_dir / "synonyms.yaml").write_text("内製化: [\n", encoding="utf-8")
    assert not load(kb.data_dir)
    assert kb.search("内製化", role="public").total >= 1


@pytest.mark.parametrize("query, speaker", [("ほうじょう", "北条真琴"), ("サエキ", "佐伯一郎")])
def test_kana_finds_kanji_names(kb, query, speaker):
    hits = kb.search(query, role="member").hits
    assert hits and hits[0].speaker == speaker


def test_kana_finds_kanji_words(kb):
    assert kb.search("ぼうさい", role="public").total >= 1  # 防災


@pytest.mark.parametrize("query, word", [("ないせいか", "内製化"), ("けっさいしすてむ", "決裁システム")])
def test_kana_finds_kanji_compounds(kb, query, word):
    """A compound's reading is found as its words' readings in one passage (ナイセイカ = ナイセイ + カ)."""
    hits = kb.search(query, role="member").hits
    assert hits and word in hits[0].text


def test_kana_match_marks_the_word_it_reads(kb):
    hits = [h for h in kb.search("ないせいか", role="member").hits if "内製化" in h.snippet]
    assert hits and all("<mark>内製化</mark>" in h.snippet for h in hits)
    assert not any("<mark>ない</mark>" in h.snippet for h in hits)
