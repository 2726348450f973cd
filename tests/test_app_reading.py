"""Reading through AppTest: the document page (unique ids, jump, next/previous hit, copy link), turns a session
holds twice (subtitles and transcript), session titles, the trend chart, and the cache after a synonym edit.

The archive is the tiny corpus plus `s01/qa.vtt`, the subtitles of t1's Q&A (tests/helpers.write_subtitled_corpus),
indexed through `indexer.archive`; members and the secretariat log in through the ログイン page.
"""

from __future__ import annotations

import json
import re

import pytest

st = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402
from test_app import goto, html_values, kb_ui, login, make_accounts, script_blocks  # noqa: E402
from test_app_pages import app  # noqa: E402

from indexer.archive.actions import index_corpus  # noqa: E402
from indexer.archive.datadir import DataDir  # noqa: E402

from helpers import write_subtitled_corpus  # noqa: E402


@pytest.fixture
def env(tmp_path, monkeypatch):
    corpus = write_subtitled_corpus(tmp_path / "corpus")
    data = DataDir.at(tmp_path / "data")
    index_corpus(corpus, data)
    make_accounts(data.root)
    monkeypatch.setenv("KB_DATA", str(data.root))
    monkeypatch.delenv("KB_INDEX", raising=False)
    monkeypatch.delenv("KB_BASE_URL", raising=False)
    monkeypatch.setenv("KB_CORPUS", str(corpus))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield data
    st.cache_resource.clear()
    st.cache_data.clear()


def body(at: AppTest) -> str:
    return "\n".join(html_values(at))


# -- the document page -----------------------------------------------------------------------------
def test_every_element_id_is_unique_and_the_jump_lands_in_the_text(env):
    at = goto(app(), "document", {"doc": "t1", "seg": "4", "q": "人材"})
    html = body(at)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert ids and len(ids) == len(set(ids)), ids
    pinned = next(h for h in html_values(at) if "kb-pinned" in h)
    assert 'id="' not in pinned  # the pinned copy carries no id ...
    assert '<a href="#seg-0004" target="_self">文書の中でこの発言の位置へ移動</a>' in pinned
    text = next(h for h in html_values(at) if 'id="seg-0004"' in h)  # ... the turn in the text does
    assert re.search(r'<div class="kb-turn kb-hit" id="seg-0004"[^>]*>', text)


def test_next_and_previous_hit_step_through_the_documents_matches(env):
    at = goto(app(), "document", {"doc": "t1", "q": "内製化"})
    matches = [int(m) for m in re.findall(r'class="kb-turn kb-match" id="seg-(\d+)"', body(at))]
    assert len(matches) >= 2  # t1 says 内製化 more than once
    assert any("該当箇所 " in c.value and " 件" in c.value for c in at.caption)
    assert at.button(key="hit_prev").disabled and not at.button(key="hit_next").disabled
    at.button(key="hit_next").click().run()
    assert at.query_params["seg"] == str(matches[0])
    assert any(c.value == f"該当箇所 1 / {len(matches)}" for c in at.caption)
    assert f'class="kb-turn kb-hit" id="seg-{matches[0]:04d}"' in body(at)
    # the click brings the turn in the text into view (the app's own scroll block, once per click)
    assert any(f'getElementById("seg-{matches[0]:04d}")' in b for b in script_blocks(at))
    at.button(key="hit_next").click().run()
    assert at.query_params["seg"] == str(matches[1])
    at.button(key="hit_prev").click().run()
    assert at.query_params["seg"] == str(matches[0]) and at.button(key="hit_prev").disabled
    # the query is kept in the URL for the copied link
    assert at.query_params["q"] == "内製化"


def test_copy_link_of_the_shown_turn(env):
    at = goto(app(), "document", {"doc": "t1", "seg": "4", "q": "人材"})
    [block] = [b for b in script_blocks(at) if "kb-copylink" in b]
    assert "この発言へのリンクをコピー" in block
    href = kb_ui.doc_href("t1", 4, "人材")
    assert href == "document?doc=t1&seg=4&q=%E4%BA%BA%E6%9D%90"
    assert json.dumps(href).replace("&", "\\u0026") in block


def test_only_the_apps_own_code_runs(env):
    """Script blocks are the copy button and the scroll only: never a turn's text, never a value from the URL
    unescaped."""
    at = goto(app(), "document", {"doc": "t1", "seg": "4", "q": "</script><script>alert(1)</script>"})
    blocks = script_blocks(at)
    assert blocks
    for block in blocks:
        assert block.count("<script>") == 1 and block.count("</script>") == 1  # the query cannot close it
        assert "<script>alert(1)" not in block
        assert "庁内公募" not in block and "人材はどう確保" not in block


# -- turns one session holds twice --------------------------------------------------------------------
def test_qa_page_shows_a_pair_held_twice_once_naming_both_records(env):
    at = goto(app(), "qa", {"session": "1"})
    assert at.subheader[0].value == "2 組"
    pairs = [h for h in html_values(at) if "質問" in h and "kb-turn" in h]
    assert len(pairs) == 2
    for h in pairs:
        assert "同じ質疑が 2 つの記録にあります" in h
        assert "第1回 トランスクリプト" in h and "第1回 質疑応答（字幕）" in h
        assert 'href="document?doc=s01-qa&amp;seg=' in h and 'href="document?doc=t1&amp;seg=' in h
    assert "第1回 質疑応答（字幕） 41:02" in "".join(pairs)  # the subtitles are named with their time


def test_search_shows_a_hit_held_twice_once(env):
    at = app()
    at.text_input(key="q").input("庁内公募").run()
    assert at.subheader[0].value == "2 件"  # the count is the library's: two turns match
    hits = [h for h in html_values(at) if 'class="kb-snippet"' in h]
    assert len(hits) == 1 and len([b for b in at.button if (b.key or "").startswith("open-")]) == 1
    assert "同じ発言の別の記録" in hits[0]


def test_document_names_the_other_record_under_each_turn(env):
    at = goto(app(), "document", {"doc": "s01-qa"})
    html = body(at)
    assert html.count("同じ発言の別の記録") == 4
    assert 'href="document?doc=t1&amp;seg=3"' in html


# -- filters and charts --------------------------------------------------------------------------------
def test_session_list_shows_titles(env):
    at = app()
    assert at.multiselect(key="sessions").options == ["第1回 推進体制と人材"]
    login(at, "kaiin")
    goto(at, "search")
    assert at.multiselect(key="sessions").options == ["第1回 推進体制と人材", "第2回 クラウド契約"]
    goto(at, "qa")
    assert at.selectbox(key="qa_session").options == ["すべての回", "第1回 推進体制と人材", "第2回 クラウド契約"]


def test_trend_chart_has_upright_short_labels(env):
    at = goto(app(), "trend", {"q": "内製化"})
    [chart] = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    y, x = spec["encoding"]["y"], spec["encoding"]["x"]
    assert (y["field"], y["axis"]["labelAngle"], y["axis"]["labelLimit"]) == ("回", 0, 0)
    assert x["field"] == "発言数" and x["axis"]["format"] == "d"
    assert {t["field"] for t in spec["encoding"]["tooltip"]} == {"回", "日付", "テーマ", "発言数"}
    values = chart.proto.datasets[0].data if chart.proto.datasets else None
    assert values is not None or chart.proto.data


# -- the cache follows the synonym dictionary ------------------------------------------------------------
def test_saved_synonyms_take_effect_on_the_next_search_even_when_cached(env):
    reader = app()
    reader.text_input(key="q").input("自前開発").run()
    assert reader.subheader[0].value == "0 件"
    reader.run()  # cached now
    admin = app()
    login(admin, "jimukyoku")
    goto(admin, "admin")
    admin.text_area(key="adm_syn").input("内製化: [自前開発]\n").run()
    admin.button(key="adm_syn_save").click().run()
    assert admin.success
    reader.run()  # the same query, the same page: a new result, not the cached 0
    assert reader.subheader[0].value != "0 件"
    assert any("<mark>" in h for h in html_values(reader))


def test_speaker_names_link_to_their_turns_and_qa(env):
    """A speaker's name in a hit and in the document's text links to that speaker's Q&A and turns."""
    link = re.compile(r'<a class="kb-speaker" href="qa\?answerer=([^"]+)"')
    at = app()
    at.text_input(key="q").input("内製化").run()
    hits = [h for h in html_values(at) if 'class="kb-title"' in h]
    assert hits and all(link.search(h) for h in hits if "佐伯" in h)
    assert any("qa?answerer=%E4%BD%90%E4%BC%AF" in h for h in hits), [h[:300] for h in hits]  # 佐伯
    doc = body(goto(app(), "document", {"doc": "t1"}))
    assert len(link.findall(doc)) >= 4 and "qa?answerer=%E7%94%B0%E6%9D%91" in doc  # 田村
