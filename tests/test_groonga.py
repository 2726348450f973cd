"""Groonga as a benchmark peer: a missing `groonga` is reported with how to install it; installed, a tiny
database is built, keywords are ANDed, a phrase is a phrase, and a question's page is filled from an OR."""

from __future__ import annotations

import pytest

from indexer.bench import groonga

DOCS = [
    {"id": "a", "title": "防災", "text": "首都直下地震に備えた防災対策を進めます。"},
    {"id": "b", "title": "予算", "text": "来年度の予算案と防災の予算について伺います。"},
    {"id": "c", "title": "教育", "text": "学校教育の現場での働き方改革について伺います。"},
    {"id": "d", "title": "住宅", "text": "震災に強い都営住宅への建替えを進めます。"},
]

needs_groonga = pytest.mark.skipif(groonga.missing() is not None, reason="groonga is not installed")


def test_missing_groonga_names_the_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `groonga` here
    why = groonga.missing()
    assert why is not None and "apt-get install groonga-bin groonga-tokenizer-mecab" in why


def test_question_words_are_nouns_only():
    tokens = [("待機", "名詞", "サ変接続"), ("児童", "名詞", "一般"), ("を", "助詞", "格助詞"), ("減らす", "動詞", "自立"),
              ("ため", "名詞", "非自立"), ("何", "名詞", "代名詞"), ("児童", "名詞", "一般")]
    assert groonga.content_words(tokens) == ["待機", "児童"]
    assert groonga.is_question(tokens) and not groonga.is_question(tokens[:2])


@pytest.fixture(scope="module", params=sorted(groonga.CONFIGS.values()))
def search(request, tmp_path_factory):
    if groonga.missing() is not None:
        pytest.skip("groonga is not installed")
    analyser = groonga.Analyser()
    s = groonga.GroongaSearch(groonga.build(DOCS, tmp_path_factory.mktemp("groonga"), request.param), analyser)
    yield s
    s.close()
    analyser.close()


@needs_groonga
def test_keywords_are_anded_with_highlighted_snippets(search):
    assert {key for key, _ in search.search("防災")} == {"a", "b"}
    hits = search.search("防災 予算")
    assert [key for key, _ in hits] == ["b"]
    assert '<span class="keyword">予算</span>' in hits[0][1]


@needs_groonga
def test_a_quoted_phrase_is_a_phrase(search):
    assert [key for key, _ in search.search('"都営住宅"')] == ["d"]
    assert search.search('"住宅都営"') == []


@needs_groonga
def test_a_question_fills_its_page_from_an_or(search):
    ids = search("首都直下地震に備えた学校教育はどうなっているのか")  # no document holds every noun
    assert set(ids) >= {"a", "c"}
    assert {key for key, _ in search.search("首都直下地震に備えた学校教育はどうなっているのか")} == set(ids)
