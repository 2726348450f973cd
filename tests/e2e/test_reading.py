"""Reading a document in a real headless Chromium: the jump link lands on the turn in the text, the next /
previous hit walks the document's matches, the copy button puts the turn's link on the clipboard, and a turn
the session holds twice (s01/qa.vtt and the transcript t1) is shown once with both records named, and
引用をコピー puts a turn's citation on the clipboard (the ▶ time link of a recorded session opens a new tab).

The archive (tests/helpers.write_subtitled_corpus) is built beforehand through `index_corpus`; everything
tested happens by clicks, typing and reloads.
"""

from __future__ import annotations

import csv
import re
from urllib.parse import parse_qs, urlparse

import pytest
from test_cite import RECORDING, write_recorded_corpus

from browser_kit import goto, search, shot, streamlit_server, wait_idle

#: Is the element's top inside the visible part of the page (Streamlit scrolls its own main area)?
IN_VIEW_JS = """(el) => {
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.top < window.innerHeight && r.bottom > 0;
}"""


@pytest.fixture(scope="module")
def server(subtitled_server):
    """This module's own server (conftest.subtitled_server)."""
    return subtitled_server


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def open_first_hit(page, server, q: str) -> None:
    goto(page, server["url"])
    search(page, q)
    page.locator(".kb-snippet mark").first.wait_for()
    page.get_by_role("button", name="文書を開く").first.click()
    page.wait_for_url("**/document?*")
    wait_idle(page)
    page.locator(".kb-pinned").wait_for()


def test_jump_link_scrolls_to_the_turn_in_the_text(server, page):
    open_first_hit(page, server, "庁内公募")
    seg = int(query_of(page.url)["seg"])
    anchor = f"seg-{seg:04d}"
    # one element with that id, and it is the turn in the text, not the pinned copy
    assert page.locator(f"[id='{anchor}']").count() == 1
    assert page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)").count(anchor) == 1
    target = page.locator(f"#{anchor}")
    assert target.evaluate("el => el.closest('.kb-pinned') === null")
    assert "kb-hit" in target.get_attribute("class")
    # the document is long enough that the turn starts out of view
    page.set_viewport_size({"width": 1400, "height": 600})
    page.wait_for_timeout(300)
    page.get_by_role("link", name="文書の中でこの発言の位置へ移動").click()
    page.wait_for_function(f"() => location.hash === '#{anchor}'")
    page.wait_for_timeout(500)
    assert target.evaluate(IN_VIEW_JS), "the jump did not bring the turn in the text into view"
    assert not page.locator(".kb-pinned").evaluate(
        "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; }")
    shot(page, "document-jump")


def test_next_and_previous_hit_and_copy_link(server, page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    goto(page, f"{server['url']}/document?doc=t1&q=%E5%86%85%E8%A3%BD%E5%8C%96")  # 内製化
    matches = [int(m) for m in re.findall(r"seg-(\d+)", " ".join(
        page.locator(".kb-turn.kb-match").evaluate_all("els => els.map(e => e.id)")))]
    assert len(matches) >= 2
    page.set_viewport_size({"width": 1400, "height": 520})
    page.get_by_role("button", name="次の該当箇所 ↓").click()
    page.wait_for_url(re.compile(rf"seg={matches[0]}\b"))
    wait_idle(page)
    assert page.get_by_text(f"該当箇所 1 / {len(matches)}").is_visible()
    first = page.locator(f"#seg-{matches[0]:04d}")
    assert "kb-hit" in first.get_attribute("class")
    page.wait_for_function(f"() => {{ const r = document.getElementById('seg-{matches[0]:04d}')"
                           ".getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }")
    page.get_by_role("button", name="次の該当箇所 ↓").click()
    page.wait_for_url(re.compile(rf"seg={matches[1]}\b"))
    wait_idle(page)
    page.wait_for_function(f"() => {{ const r = document.getElementById('seg-{matches[1]:04d}')"
                           ".getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }")
    page.get_by_role("button", name="↑ 前の該当箇所").click()
    page.wait_for_url(re.compile(rf"seg={matches[0]}\b"))
    wait_idle(page)
    assert page.get_by_role("button", name="↑ 前の該当箇所").is_disabled()
    # the copy button puts this turn's link on the clipboard; the link opens the same turn
    page.get_by_role("button", name="この発言へのリンクをコピー").click()
    page.get_by_text("リンクをコピーしました").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(server["url"] + "/document?")
    assert query_of(copied) == {"doc": "t1", "seg": str(matches[0]), "q": "内製化"}
    shot(page, "document-hits")
    fresh = page.context.new_page()
    goto(fresh, copied)
    fresh.locator(f"#seg-{matches[0]:04d}.kb-hit").wait_for()
    assert fresh.get_by_text(f"該当箇所 1 / {len(matches)}").is_visible()
    fresh.close()
    # 引用をコピー beside the turn puts its citation on the clipboard: the catalogue's names, then the turn's
    # permalink (without the query), which opens the same turn
    turn = page.locator(f"#seg-{matches[0]:04d}")
    speaker = turn.locator(".kb-who a").first.inner_text().split("（")[0]
    turn.get_by_role("button", name="引用をコピー").click()
    turn.get_by_text("引用をコピーしました").wait_for()
    cited = page.evaluate("navigator.clipboard.readText()")
    head, url = cited.split(" — ")
    assert head.startswith("第1回（2025-06-17）") and head.endswith(f"{speaker} 発言")
    assert url == f"{server['url']}/document?doc=t1&seg={matches[0]}"
    fresh = page.context.new_page()
    goto(fresh, url)
    fresh.locator(f"#seg-{matches[0]:04d}.kb-hit").wait_for()
    assert fresh.locator(".kb-pinned .kb-text").inner_text() == turn.locator(".kb-text").inner_text()
    fresh.close()


def test_a_hits_citation_and_the_recording_time_of_a_subtitled_turn(tmp_path_factory, page):
    """The recording link survives the page's HTML sanitizer (a new tab, noopener; Streamlit adds noreferrer);
    a hit's 引用をコピー copies too."""
    tmp = tmp_path_factory.mktemp("recorded")
    with streamlit_server(tmp, write_recorded_corpus(tmp / "corpus")) as srv:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        goto(page, f"{srv['url']}/document?doc=s01-qa")
        link = page.get_by_role("link", name="▶ 0:41:20")
        assert link.get_attribute("href") == f"{RECORDING}&t=2480"
        assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel").split()
        goto(page, srv["url"])
        search(page, "庁内公募")
        page.locator(".kb-snippet mark").first.wait_for()
        page.get_by_role("button", name="引用をコピー").first.click()
        page.get_by_text("引用をコピーしました").wait_for()
        cited = page.evaluate("navigator.clipboard.readText()")
        assert cited.startswith("自治体DX研究会 2025年度 第1回（2025-06-17）質疑応答 ") and " 発言 — " in cited
        assert cited.split(" — ")[1].startswith(f"{srv['url']}/document?doc=")


def test_turns_held_twice_are_shown_once_with_both_records(server, page):
    goto(page, f"{server['url']}/qa?session=1")
    page.get_by_text("2 組").wait_for()
    pairs = page.locator(".kb-sources")
    assert pairs.count() == 2
    for text in pairs.all_inner_texts():
        assert "第1回 トランスクリプト" in text and "第1回 質疑応答（字幕）" in text
    assert page.get_by_text("人材はどう確保しましたか？").count() == 1  # not twice
    shot(page, "qa-held-twice")
    # the subtitles' record opens its own turn
    page.locator(".kb-sources a", has_text="字幕").first.click()
    page.wait_for_url("**/document?doc=s01-qa*")
    wait_idle(page)
    page.locator(".kb-turn.kb-hit[id]").wait_for()
    # and a search hit held twice is one result card naming the other record
    goto(page, server["url"])
    search(page, "庁内公募")
    page.locator(".kb-snippet mark").first.wait_for()
    assert page.locator(".kb-snippet").count() == 1
    assert "同じ発言の別の記録" in page.locator(".kb-copies").first.inner_text()


def test_csv_in_japanese_with_links_that_open_the_turn(server, page, tmp_path):
    goto(page, server["url"])
    search(page, "庁内公募")
    page.locator(".kb-snippet mark").first.wait_for()
    with page.expect_download() as info:
        page.get_by_role("button", name="検索結果を CSV でダウンロード").click()
    path = tmp_path / "results.csv"
    info.value.save_as(path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][-1] == "リンク" and rows[0][2] == "種類" and len(rows) == 3
    for row in rows[1:]:
        assert row[2] == "トランスクリプト" and row[7] == "質疑応答" and row[9] == "公開"
        assert not {"transcript", "qa", "public"} & set(row)
    link = rows[1][-1]
    assert link.startswith(server["url"] + "/document?doc=")  # KB_BASE_URL: where this server runs
    goto(page, link)
    page.locator(f"#seg-{int(query_of(link)['seg']):04d}.kb-hit").wait_for()
    assert "庁内公募" in page.locator(".kb-pinned").inner_text()


def test_facet_counts_are_filters(server, page):
    goto(page, server["url"])
    search(page, "内製化")
    page.locator(".kb-snippet mark").first.wait_for()
    sidebar = page.locator('[data-testid="stSidebar"]')
    facet = sidebar.get_by_role("button", name=re.compile(r"^ゲスト講演（\d+ 件）$"))
    facet.click()
    page.wait_for_url(re.compile(r"part=guest_talk"))
    wait_idle(page)
    metas = page.locator(".kb-meta").all_inner_texts()
    assert metas and all("ゲスト講演" in t for t in metas)
    sidebar.get_by_role("button", name=re.compile(r"^✓ ゲスト講演")).click()  # clicked again: the filter is off
    page.wait_for_function("() => !location.search.includes('part=')")
    wait_idle(page)
    # the 回 count names the session by its title
    assert sidebar.get_by_role("button", name=re.compile(r"^第1回 推進体制と人材（\d+ 件）$")).is_visible()
