"""Logins that persist, in a real headless Chromium against `streamlit run`: through the browser only.

Log in, reload, open a new tab, open a colleague's link, log out: the role follows the login cookie
(`kb_session`: an opaque token, HttpOnly, SameSite=Strict, Path=/), which the server can revoke.
The accounts exist beforehand (`kb user add`, in the `server` fixture); everything tested happens by clicks.
"""

from __future__ import annotations

import json

from indexer.archive import accounts

from browser_kit import PASSWORD, goto, log_in, nav, shot, sidebar_text, wait_idle

#: Words only in members-only content of the tiny corpus (カワセミ: document m2).
SECRET = "カワセミ"


def session_cookie(page, timeout_ms: int = 10_000) -> dict:
    """The login cookie as the browser keeps it (waits for the route's answer after a login)."""
    for _ in range(timeout_ms // 100):
        found = [c for c in page.context.cookies() if c["name"] == accounts.COOKIE_NAME]
        if found:
            return found[0]
        page.wait_for_timeout(100)
    raise AssertionError("ログインの Cookie が設定されませんでした")


def is_logged_in(page, name: str) -> bool:
    return f"ログイン中: {name}" in sidebar_text(page)


def test_login_survives_reload_new_tab_and_links_until_logout(server, page):
    url = server["url"]
    # a colleague's link to a members-only transcript, opened before logging in
    goto(page, f"{url}/document?doc=m2")
    page.get_by_text("文書が見つかりません").first.wait_for()
    log_in(page, "kaiin")
    # back on the page (and its query) shown before the ログイン page: the transcript is there now
    page.wait_for_url("**/document?doc=m2")
    page.get_by_text(SECRET).first.wait_for()
    cookie = session_cookie(page)
    # the cookie: an opaque token, unreadable by scripts, sent only by this site, for every page
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["expires"] > 0  # kept across browser restarts until it expires (KB_SESSION_TTL)
    token = cookie["value"]
    assert "kaiin" not in token and "member" not in token and PASSWORD not in token and len(token) >= 43
    assert page.evaluate("document.cookie").find(accounts.COOKIE_NAME) == -1  # HttpOnly: no script sees it
    kept = (server["data"].root / accounts.SESSIONS_FILE).read_text(encoding="utf-8")
    assert token not in kept and len(json.loads(kept)["sessions"]) >= 1  # only its hash at rest
    assert token not in page.url and token not in page.content()

    # reload: still logged in, still on the transcript
    page.reload()
    wait_idle(page)
    page.get_by_text(SECRET).first.wait_for()
    assert is_logged_in(page, "kaiin")
    shot(page, "login-after-reload")

    # a new tab of the same browser: logged in; a bookmark of a search with its query works the same
    tab = page.context.new_page()
    tab.set_default_timeout(30_000)
    goto(tab, f"{url}/?q=%E3%82%AB%E3%83%AF%E3%82%BB%E3%83%9F")
    tab.locator(".kb-snippet mark").first.wait_for()
    assert is_logged_in(tab, "kaiin") and SECRET in tab.locator(".kb-snippet").first.inner_text()
    goto(tab, f"{url}/document?doc=m2")
    tab.get_by_text(SECRET).first.wait_for()

    # log out in the first tab: public again, and the cookie is dropped
    page.get_by_role("button", name="ログアウト").click()
    page.locator('[data-testid="stSidebar"]').get_by_text("ログインしていません").wait_for()
    for _ in range(100):
        if not [c for c in page.context.cookies() if c["name"] == accounts.COOKIE_NAME]:
            break
        page.wait_for_timeout(100)
    assert not [c for c in page.context.cookies() if c["name"] == accounts.COOKIE_NAME]
    # the session is gone on the server: the other tab is public on its next page view ...
    goto(tab, f"{url}/document?doc=m2")
    tab.get_by_text("文書が見つかりません").first.wait_for()
    assert "ログインしていません" in sidebar_text(tab) and SECRET not in tab.locator("body").inner_text()
    # ... and so is a reload of the first
    goto(page, f"{url}/document?doc=m2")
    page.get_by_text("文書が見つかりません").first.wait_for()
    assert SECRET not in page.locator("body").inner_text()
    tab.close()


def test_a_copied_cookie_is_worthless_after_logout(server, browser, page):
    """The token is revoked on the server, not only forgotten by the browser that logged out."""
    goto(page, server["url"])
    log_in(page, "kaiin")
    cookie = session_cookie(page)
    other = browser.new_context(locale="ja-JP")
    try:
        other.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path", "httpOnly", "sameSite")}])
        copy = other.new_page()
        goto(copy, f"{server['url']}/document?doc=m2")
        copy.get_by_text(SECRET).first.wait_for()  # the same token, while the session lives
        page.get_by_role("button", name="ログアウト").click()
        page.locator('[data-testid="stSidebar"]').get_by_text("ログインしていません").wait_for()
        goto(copy, f"{server['url']}/document?doc=m2")
        copy.get_by_text("文書が見つかりません").first.wait_for()
        assert "ログインしていません" in sidebar_text(copy)
    finally:
        other.close()


def test_secretariat_reloads_the_admin_page(server, page):
    """管理 is registered for the secretariat from the first run of a reload (no "Page not found")."""
    goto(page, server["url"])
    log_in(page, "jimukyoku")
    nav(page, "管理")
    page.get_by_text("ファイルを選ぶ（複数可）").first.wait_for()
    session_cookie(page)
    page.reload()
    wait_idle(page)
    page.get_by_text("ファイルを選ぶ（複数可）").first.wait_for()
    assert is_logged_in(page, "jimukyoku")
