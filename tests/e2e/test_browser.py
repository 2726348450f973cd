"""End to end in a real headless Chromium (Playwright) against `streamlit run` on a tiny index.

Needs Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it where it can) and the
`playwright` package. Without them the tests skip, except under CI=true where they fail.
Screenshots of every page are written to docs/screenshots/. Members and the secretariat log in
through the ログイン page with accounts made by `indexer.archive.accounts.add_user`. The server, browser
and page fixtures are in conftest.py, the helpers in browser_kit.py.
"""

from __future__ import annotations

import pytest

from browser_kit import log_in, nav, search, shot, sidebar_text, wait_idle

#: Words only in members-only content of the tiny corpus (カワセミ: document m2; 翠嵐: t1's discussion).
MARKERS = ("カワセミ", "翠嵐")

XSS_TRANSCRIPT = """---
id: xss1
session: 4
date: 2025-12-01
type: transcript
visibility: public
title: 第4回 表示確認
---
## 質疑応答
【田村】表示確認ハヤブサの件です <script>window.__xss = 1; alert('x')</script> と書きます。
【北条座長】画像タグ <img src=x onerror="window.__xss = 2; alert('y')"> も **太字** もハヤブサとして文字のまま出ます。
"""


def test_search_open_document_and_reload(server, page):
    page.goto(server["url"])
    wait_idle(page)
    search(page, "内製化")
    mark = page.locator(".kb-snippet mark").first
    mark.wait_for()
    assert "内製" in mark.inner_text()
    assert "q=" in page.url
    shot(page, "search")
    page.get_by_role("button", name="文書を開く").first.click()
    page.wait_for_url("**/document?*")
    page.locator(".kb-hit mark").first.wait_for()
    url = page.url
    assert "doc=" in url and "seg=" in url
    shot(page, "document")
    # the copied URL, opened anew, shows the same document at the same turn
    page.goto(url)
    wait_idle(page)
    page.locator(".kb-hit mark").first.wait_for()
    assert page.url == url
    assert page.locator(".kb-hit").first.inner_text() != ""
    # a copied search URL reproduces the search
    page.goto(server["url"] + "/?q=%E5%86%85%E8%A3%BD%E5%8C%96&sort=date")
    wait_idle(page)
    page.locator(".kb-snippet mark").first.wait_for()
    assert page.get_by_label("検索語").input_value() == "内製化"


def test_other_pages_render(server, page):
    page.goto(server["url"] + "/qa")
    wait_idle(page)
    page.get_by_text("庁内公募です。").first.wait_for()
    shot(page, "qa")
    page.goto(server["url"] + "/speakers")
    wait_idle(page)
    page.locator(".kb-table").first.wait_for()
    assert "佐伯一郎" in page.locator(".kb-table").first.inner_text()
    shot(page, "speakers")
    page.goto(server["url"] + "/trend?q=%E5%86%85%E8%A3%BD%E5%8C%96")
    wait_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.wait_for_timeout(800)
    shot(page, "trend")


def test_secretariat_uploads_and_markup_stays_text(server, page, tmp_path):
    page.goto(server["url"])
    wait_idle(page)
    assert "管理" not in page.locator('[data-testid="stSidebarNav"]').inner_text()
    log_in(page, "jimukyoku", screenshot="login")
    assert "ログイン中: jimukyoku（事務局）" in sidebar_text(page)
    nav(page, "管理")
    page.get_by_text("ファイルを選ぶ（複数可）").wait_for()
    f = tmp_path / "第4回 表示確認.md"
    f.write_text(XSS_TRANSCRIPT, encoding="utf-8")
    page.locator('input[type="file"]').set_input_files(str(f))
    publish = page.get_by_role("button", name="1 件の文書を公開する")
    publish.wait_for()
    wait_idle(page)
    shot(page, "admin")
    publish.click()
    page.get_by_text("公開しました").wait_for()
    assert (server["data"].root / "uploads" / "第4回_表示確認.md").exists()
    nav(page, "検索")
    search(page, "ハヤブサ")
    page.locator(".kb-snippet mark").first.wait_for()
    assert "<script>window.__xss = 1" in page.locator(".kb-snippet").first.inner_text() or \
        "<img src=x" in page.locator(".kb-snippet").first.inner_text()
    page.get_by_role("button", name="文書を開く").first.click()
    page.wait_for_url("**/document?*")
    page.locator(".kb-hit mark").first.wait_for()
    wait_idle(page)
    body = page.locator(".kb-turn").all_inner_texts()
    text = "\n".join(body)
    assert "<script>window.__xss = 1; alert('x')</script>" in text
    assert '<img src=x onerror="window.__xss = 2; alert(\'y\')">' in text and "**太字**" in text
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    # the login survives page switches
    assert "ログイン中: jimukyoku（事務局）" in sidebar_text(page)
    assert page.locator(".kb-turn img").count() == 0 and page.locator(".kb-turn script").count() == 0
    shot(page, "document-markup-as-text")


@pytest.mark.parametrize("query", ["doc=m2", "doc=m2&role=secretariat&visibility=members", "doc=m2&q=%E3%82%AB"])
def test_public_cannot_open_members_only_document_by_url(server, page, query):
    page.goto(f"{server['url']}/document?{query}")
    wait_idle(page)
    page.get_by_text("文書が見つかりません").first.wait_for()
    text, html = page.locator("body").inner_text(), page.content()
    assert not [m for m in MARKERS if m in text or m in html]
    assert "ログインしていません" in sidebar_text(page)
    # nor does the URL make 管理 appear
    page.goto(f"{server['url']}/admin?role=secretariat")
    wait_idle(page)
    assert page.get_by_text("ファイルを選ぶ（複数可）").count() == 0
    assert "管理" not in page.locator('[data-testid="stSidebarNav"]').inner_text()


def test_member_logs_in_sees_members_only_then_logs_out(server, page):
    page.goto(f"{server['url']}/document?doc=m2")
    wait_idle(page)
    page.get_by_text("文書が見つかりません").first.wait_for()
    log_in(page, "kaiin")
    assert "ログイン中: kaiin（会員）" in sidebar_text(page)
    assert "管理" not in page.locator('[data-testid="stSidebarNav"]').inner_text()
    nav(page, "検索")
    search(page, "カワセミ")
    page.locator(".kb-snippet mark").first.wait_for()
    page.get_by_role("button", name="文書を開く").first.click()
    page.wait_for_url("**/document?*doc=m2*")
    page.locator(".kb-hit mark").first.wait_for()
    assert "カワセミ" in page.locator("body").inner_text()
    page.get_by_role("button", name="ログアウト").click()
    page.locator('[data-testid="stSidebar"]').get_by_text("ログインしていません").wait_for()  # the run may start late
    wait_idle(page)
    # logged out for good: a reload (the session's cookie is revoked) is public
    page.goto(f"{server['url']}/document?doc=m2")
    wait_idle(page)
    page.get_by_text("文書が見つかりません").first.wait_for()
    assert "カワセミ" not in page.locator("body").inner_text()


def test_no_deploy_toolbar(server, page):
    page.goto(server["url"])
    wait_idle(page)
    page.get_by_label("検索語").wait_for()
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
