"""The secretariat's workflows in a real headless Chromium against `streamlit run`, through the browser only.

Upload a CP932 transcript with the file chooser and publish it; upload it again (変更なし); upload changed
content under the same name (the preview says 差し替え, and the title, 回, date, type and visibility are kept);
edit a document's metadata from the documents table and see it on the document and search pages; remove
documents and rebuild without any warning; edit the synonym dictionary and see a search's result change.
The server starts from the tiny corpus and two accounts (conftest.py); everything tested is done by clicks,
the file chooser and reloads.
"""

from __future__ import annotations

import re

from browser_kit import goto, log_in, nav, search, shot, visible_text, wait_idle

#: A transcript as a Windows PC saves it: CP932, CRLF, ① and ㈱, no front matter (the id comes from the name).
NAME = "sangiin_8978_soumu_20260423.txt"
FIRST = ("## 質疑応答\r\n"
         "【北条座長】本日はメジロ計画①の報告です。\r\n"
         "【田村】メジロ計画の費用はどうでしたか？㈱への委託ですか？\r\n"
         "【北条座長】予算内に収まりました。\r\n")
SECOND = FIRST.replace("予算内に収まりました。", "予算内に収まり、ルリビタキ方式で運用しています。")


def panel(page):
    """The 管理 tab on screen."""
    return page.locator('[role="tabpanel"]:visible')


def open_admin(page, tab: str = "文書の追加") -> None:
    if "/admin" not in page.url:
        nav(page, "管理")
    page.get_by_role("tab", name=tab).click()
    wait_idle(page)


def choose(page, scope, label: str, option: str) -> None:
    """Pick `option` in the select box labelled `label` (as a user does: open it, click the option)."""
    scope.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def fill(page, scope, label: str, value: str) -> None:
    box = scope.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Tab")
    wait_idle(page)


def upload(page, path) -> None:
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for()
    wait_idle(page)


def edit_dictionary(page, text: str) -> None:
    """Type the synonym dictionary and commit the text area (Ctrl+Enter), as before pressing 保存する."""
    box = panel(page).get_by_label("同義語辞書", exact=False)
    box.fill(text)
    box.press("Control+Enter")
    wait_idle(page)


def preview_text(page) -> str:
    return "\n".join(panel(page).locator(".kb-table").all_inner_texts())


def test_upload_reupload_and_replace_keeping_metadata(server, page, tmp_path):
    f = tmp_path / NAME
    f.write_bytes(FIRST.encode("cp932"))
    goto(page, server["url"])
    log_in(page, "jimukyoku")
    open_admin(page)
    tab = panel(page)
    fill(page, tab, "回", "4")
    fill(page, tab, "日付", "2026-04-23")
    fill(page, tab, "タイトル", "第4回 参議院資料の報告")
    choose(page, tab, "公開範囲", "公開")
    upload(page, f)
    text = preview_text(page)
    assert "sangiin_8978_soumu_20260423（新規）" in text and "staging" not in text and "uploads" not in text
    assert "cp932" in text.lower() and "質問 1 件・回答 1 件" in text
    shot(page, "admin-upload-preview")
    page.get_by_role("button", name="1 件の文書を公開する").click()
    page.get_by_text("公開しました: sangiin_8978_soumu_20260423（追加）").wait_for()
    # the preview is read again after publishing: no stale 新規
    page.get_by_text("sangiin_8978_soumu_20260423（変更なし: 同じ内容が公開済みです）").wait_for()

    # the same file again, in a new visit of 管理 (a reload: still logged in), with an empty form
    page.reload()
    wait_idle(page)
    open_admin(page)
    upload(page, f)
    assert "sangiin_8978_soumu_20260423（変更なし: 同じ内容が公開済みです）" in preview_text(page)
    page.get_by_text("選んだファイルはすべて公開済みの内容と同じです（変更なし）。").wait_for()
    page.get_by_role("button", name="1 件の文書を公開する").click()
    page.get_by_text("変更はありません（公開済みの内容と同じです）: sangiin_8978_soumu_20260423（変更なし）").wait_for()

    # changed content under the same name, the form left empty: a replacement that keeps the metadata
    f.write_bytes(SECOND.encode("cp932"))
    page.reload()
    wait_idle(page)
    open_admin(page)
    upload(page, f)
    text = preview_text(page)
    assert "sangiin_8978_soumu_20260423（差し替え: 既存の文書を置き換えます）" in text
    assert "タイトル・回・日付・種類・公開範囲" in text and "第4回 参議院資料の報告" in text and "第4回" in text
    shot(page, "admin-replace-preview")
    page.get_by_role("button", name="1 件の文書を公開する").click()
    page.get_by_text("公開しました: sangiin_8978_soumu_20260423（差し替え）").wait_for()

    # a visitor finds the new words under the kept title, session and date
    visitor = page.context.browser.new_context(locale="ja-JP").new_page()
    try:
        goto(visitor, server["url"])
        search(visitor, "ルリビタキ")
        visitor.locator(".kb-snippet mark").first.wait_for()
        head = visitor.locator(".kb-meta").first.inner_text() + visitor.locator(".kb-title").first.inner_text()
        assert "第4回" in head and "2026-04-23" in head and "第4回 参議院資料の報告" in head
    finally:
        visitor.context.close()


def test_edit_metadata_from_the_documents_table(server, page):
    goto(page, server["url"])
    log_in(page, "jimukyoku")
    open_admin(page, "文書の一覧・編集")
    tab = panel(page)
    table = tab.locator(".kb-table").first.inner_text()
    assert "r1" in table and "第1回レポート" in table and "最終更新" in table
    choose(page, tab, "文書を選ぶ（編集・削除）", "r1 ・ 第1回 ・ 第1回レポート")
    fill(page, tab, "タイトル", "第1回レポート（改訂版）")
    fill(page, tab, "日付", "2025-06-18")
    tab.get_by_role("button", name="メタデータを保存する").click()
    wait_idle(page)
    page.get_by_text("保存しました: r1（タイトル・日付）").wait_for()
    table = panel(page).locator(".kb-table").first.inner_text()
    assert "第1回レポート（改訂版）" in table and "jimukyoku" in table
    shot(page, "admin-documents")
    # on the document page and in the search results
    goto(page, f"{server['url']}/document?doc=r1")
    page.get_by_text("第1回レポート（改訂版）").first.wait_for()
    assert "2025-06-18" in page.locator("body").inner_text()
    nav(page, "検索")
    search(page, "防災")
    page.locator(".kb-snippet mark").first.wait_for()
    assert "第1回レポート（改訂版）" in page.locator("body").inner_text()


def test_remove_documents_then_rebuild_without_a_warning(server, page):
    goto(page, server["url"])
    log_in(page, "jimukyoku")
    open_admin(page, "文書の一覧・編集")
    for label in ("t1 ・ 第1回 ・ 第1回 トランスクリプト", "m2 ・ 第2回 ・ 第2回 会員限定"):
        tab = panel(page)
        choose(page, tab, "文書を選ぶ（編集・削除）", label)
        remove = tab.get_by_role("button", name="削除する")
        assert remove.is_disabled()  # asks first
        tab.get_by_text("この文書を索引から削除してよい").click()
        wait_idle(page)
        remove.click()
        wait_idle(page)
        page.get_by_text(f"削除しました: {label.split(' ')[0]}").wait_for()
    assert "t1" not in panel(page).locator(".kb-table").first.inner_text()
    open_admin(page, "索引の再構築")
    tab = panel(page)
    assert "原本が保存されていない" not in tab.inner_text()
    rebuild = tab.get_by_role("button", name="索引を再構築する")
    assert rebuild.is_enabled() and tab.get_by_text("原本のない文書が消えてもよい").count() == 0
    rebuild.click()
    page.get_by_text("索引を再構築しました").wait_for()
    assert "原本が保存されていない" not in panel(page).inner_text()
    shot(page, "admin-rebuild")
    # the removed documents stay removed
    goto(page, f"{server['url']}/document?doc=t1")
    page.get_by_text("文書が見つかりません").first.wait_for()


def test_synonym_edit_takes_effect_on_the_next_search(server, page):
    goto(page, server["url"])
    search(page, "インハウス")  # searched (and cached) before the dictionary knows the word
    page.get_by_text("検索語に一致する発言は見つかりませんでした").first.wait_for()
    log_in(page, "jimukyoku")
    open_admin(page, "同義語辞書")
    edit_dictionary(page, "内製化: [インハウス]\n")
    panel(page).get_by_role("button", name="保存する").click()
    page.get_by_text("保存しました: synonyms.yaml").wait_for()
    nav(page, "検索")
    search(page, "インハウス")
    page.locator(".kb-snippet mark").first.wait_for()
    assert "内製" in page.locator(".kb-snippet").first.inner_text()
    # a bad dictionary is refused with a message, and the saved one stays in use
    open_admin(page, "同義語辞書")
    edit_dictionary(page, "内製化: インハウス\n")
    panel(page).get_by_role("button", name="保存する").click()
    panel(page).get_by_text("文字列のリスト").first.wait_for()
    nav(page, "検索")
    search(page, "インハウス")
    page.locator(".kb-snippet mark").first.wait_for()


def test_withdraw_a_span_then_members_see_the_placeholder(server, page):
    """管理 › 発言の取り消し: pick r1 and its turn on 防災, withdraw a part with a reason (by clicks); a member's
    document page then says （発言取り消し） without the words, and the secretariat sees them struck through."""
    goto(page, server["url"])
    log_in(page, "jimukyoku")
    open_admin(page, "発言の取り消し")
    tab = panel(page)
    tab.get_by_label("文書", exact=True).click()
    page.get_by_role("option", name=re.compile(r"^r1 ・")).click()
    wait_idle(page)
    tab.get_by_label("発言", exact=True).click()
    page.get_by_role("option", name=re.compile("防災の取り組み")).click()
    wait_idle(page)
    assert "防災の取り組みも紹介されました。" in tab.locator(".kb-table").first.inner_text()
    fill(page, tab, "取り消す部分（本文からそのまま写す。空欄なら発言全体）", "防災の取り組み")
    fill(page, tab, "理由（必須）", "講師の申し出")
    tab.get_by_role("button", name="取り消す").click()
    wait_idle(page)
    page.get_by_text("取り消しました: r1#").first.wait_for()
    listing = panel(page).locator(".kb-withdrawals").inner_text()
    assert "防災の取り組み" in listing and "講師の申し出" in listing and "jimukyoku" in listing
    shot(page, "admin-withdraw")
    # the secretariat's document page: the placeholder, and the words struck through with the reason
    goto(page, f"{server['url']}/document?doc=r1")
    page.locator(".kb-withdrawn del").first.wait_for()
    assert page.locator(".kb-withdrawn del").first.inner_text() == "防災の取り組み"
    assert "理由: 講師の申し出" in page.locator(".kb-withdrawn").first.inner_text()
    assert "（発言取り消し）も紹介されました。" in page.locator(".kb-text").all_inner_texts()
    shot(page, "document-withdrawn-secretariat")
    # a member: only the placeholder
    member = page.context.browser.new_context(locale="ja-JP").new_page()
    try:
        goto(member, server["url"])
        log_in(member, "kaiin")
        goto(member, f"{server['url']}/document?doc=r1")
        member.get_by_text("（発言取り消し）も紹介されました。").first.wait_for()
        text = visible_text(member)
        assert "防災の取り組み" not in text and "講師の申し出" not in text
        assert member.locator(".kb-withdrawn").count() == 0
        shot(member, "document-withdrawn-member")
        nav(member, "検索")
        search(member, "防災")
        assert "防災の取り組み" not in visible_text(member)
    finally:
        member.context.close()
