"""Saved searches and 「前回以降 N 件」 in a real headless Chromium against `streamlit run`, through the browser only.

A member logs in, searches and clicks 「この検索を保存」; the secretariat, in another browser, uploads a new
transcript with the 管理 page's file chooser and publishes it; the member comes back to 検索 (a reload: still
logged in, the same visit) and sees 「前回以降 1 件」 beside the saved search, clicks it and sees only the new
hit; 「すべての結果を表示」 shows the older hits again.
"""

from __future__ import annotations

from browser_kit import goto, log_in, nav, new_page, search, shot, visible_text, wait_idle

NAME = "dai7kai_mozuhoukoku.md"
#: A new report with a word nobody said before (ツミ計画) next to the saved query's word (内製化).
NEW = ("---\nid: mozu7\nsession: 2\ntype: report\nvisibility: public\ntitle: 第7回 モズ報告\n---\n"
       "# 第7回 モズ報告\n\nツミ計画では、窓口予約の内製化を三か月で終えました。\n")


def panel(page):
    """The 管理 tab on screen."""
    return page.locator('[role="tabpanel"]:visible')


def open_admin(page) -> None:
    nav(page, "管理")
    page.get_by_role("tab", name="文書の追加").click()
    wait_idle(page)


def fill(page, label: str, value: str) -> None:
    box = panel(page).get_by_label(label, exact=True)
    box.fill(value)
    box.press("Tab")
    wait_idle(page)


def upload(page, path) -> None:
    """Choose a file with the uploader's file chooser."""
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for()
    wait_idle(page)


def test_member_sees_new_hits_of_a_saved_search_after_an_upload(server, page, browser, tmp_path):
    goto(page, server["url"])
    log_in(page, "kaiin")
    search(page, "内製化")
    before = visible_text(page)
    assert "ツミ計画" not in before
    page.get_by_role("button", name="この検索を保存").click()
    wait_idle(page)
    page.get_by_text("検索を保存しました:「内製化」").first.wait_for()
    search(page, "")
    page.get_by_role("button", name="前回以降 0 件").wait_for()
    shot(page, "saved-searches-start")

    # the secretariat publishes a new report through 管理's file chooser, in a browser of their own
    admin = new_page(browser)
    try:
        goto(admin, server["url"])
        log_in(admin, "jimukyoku")
        open_admin(admin)
        fill(admin, "回", "2")
        f = tmp_path / NAME
        f.write_text(NEW, encoding="utf-8")
        upload(admin, f)
        admin.get_by_role("button", name="1 件の文書を公開する").click()
        admin.get_by_text("公開しました: mozu7（追加）").wait_for()
    finally:
        admin.context.close()

    # the member comes back (a reload: the same login, the same visit) and sees the new hit counted
    page.reload()
    wait_idle(page)
    new = page.get_by_role("button", name="前回以降 1 件")
    new.wait_for()
    shot(page, "saved-searches-new")
    new.click()
    wait_idle(page)
    page.get_by_text("前回の訪問以降に追加・差し替えられた文書の発言だけ").first.wait_for()
    text = visible_text(page)
    assert "ツミ計画" in text and "第7回 モズ報告" in text
    assert "第1回レポート" not in text  # only the new hit
    assert page.get_by_label("検索語", exact=True).input_value() == "内製化"
    shot(page, "saved-searches-only-new")
    page.get_by_role("button", name="すべての結果を表示").click()
    wait_idle(page)
    page.get_by_text("第1回レポート").first.wait_for()
