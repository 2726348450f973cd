"""No English from Streamlit's defaults on any page, in a real headless Chromium; screenshots of every page.

Every page is visited as its users reach it (search with results, a document, Q&A, speakers, trend, the
ログイン page, 管理 as the secretariat with its uploader, /admin reloaded, /admin and an unknown URL opened
by a visitor), with the dropdowns, the date picker and the uploader's drop zone on screen. On each, the
visible text and the placeholders, aria-labels and titles of visible elements are checked against
Streamlit's English defaults, and the words Streamlit itself writes around the app's content must hold no
English word at all. Screenshots go to docs/screenshots/ (page-*.png, and phone-*.png at 390 px wide).
"""

from __future__ import annotations

import re

import pytest

from browser_kit import (
    PHONE,
    USERS,
    goto,
    log_in,
    nav,
    new_page,
    search,
    shot,
    visible_text,
    wait_idle,
)

#: Streamlit 1.67's own English words that can show in this app (its widgets, dialogs and frame).
STREAMLIT_ENGLISH = [
    "Drag and drop", "per file", "Limit 200MB", "Browse files", "Upload", "Add files",
    "Select all", "Choose an option", "No results", "Select...", "Clear all", "Clear value", "Remove ",
    "Page not found", "does not seem to exist", "Running the app's main page", "Running...",
    "Choose date", "Clear date", "yyyy", "year, ", "month, ", "day, ", "Help for",
    "Show password", "Hide password", "Press Enter", "Clear entry",
    "Skip to main content", "Sidebar", "App pages", "Collapse sidebar", "Expand sidebar", "Main menu",
    "Link to heading", "Open", "Close", "Fullscreen", "Show data", "Download as", "Copy Vega-Lite spec",
    "Vega visualization", "X-axis", "Y-axis", "Deploy", "Made with Streamlit", "Connecting", "Please wait",
    "Stop", "Rerun", "Search", "Notifications", "option available", "options available", "Dismiss",
    "Use arrow keys", "Previous month", "Next month", "Choose date,",
]
#: Words allowed in Streamlit's own frame: the query syntax shown as an example, keys, the file formats the
#: uploader accepts, and the names of the test accounts (shown as who is logged in).
ALLOWED = {"speaker", "Enter", "Ctrl", "Esc", "CSV", "PNG", "MB", "KB", "GB",
           "md", "txt", "vtt", "srt", "docx", "pdf", "htm", "html", "jsonl", "yaml", "yml", *USERS}


@pytest.fixture(scope="module")
def server(subtitled_server):
    """This module's own server (conftest.subtitled_server)."""
    return subtitled_server


def english_on(page) -> list[str]:
    """Streamlit's English defaults anywhere on the page, and English words in Streamlit's own frame."""
    page.wait_for_timeout(400)  # the translation runs on the next animation frame
    everything = visible_text(page)
    found = [s for s in STREAMLIT_ENGLISH if s in everything]
    frame = visible_text(page, chrome=True)
    found += sorted({w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", frame) if w not in ALLOWED and not w.isupper()})
    return found


def check(page, name: str, checked: dict[str, list[str]], *, full_page: bool = False) -> None:
    checked[name] = english_on(page)
    shot(page, name, full_page=full_page)


def test_no_english_ui_string_on_any_page(server, browser, page):
    url = server["url"]
    checked: dict[str, list[str]] = {}

    goto(page, url + "/")
    page.get_by_label("検索語").wait_for()
    check(page, "page-search-empty", checked)
    search(page, "内製化")
    page.locator(".kb-snippet mark").first.wait_for()
    check(page, "page-search", checked)
    # the 回 list opened (Streamlit would offer "Select all"), then typed into with no match ("No results")
    box = page.locator('[data-testid="stMultiSelect"]').first
    box.click()
    page.get_by_role("option").first.wait_for()
    check(page, "page-search-sessions-open", checked)
    page.keyboard.type("zzz")
    page.get_by_text("該当なし").wait_for()
    checked["page-search-sessions-none"] = english_on(page)
    page.locator("h1").first.click()  # a click elsewhere closes the list
    # the date picker's calendar
    page.get_by_role("button", name="カレンダーから選ぶ").first.click()
    page.locator('[data-testid="stDateInputCalendar"]').first.wait_for()
    check(page, "page-search-calendar", checked)
    page.locator("h1").first.click()

    page.get_by_role("button", name="文書を開く").first.click()
    page.wait_for_url("**/document?*")
    wait_idle(page)
    page.locator(".kb-pinned").wait_for()
    check(page, "page-document", checked)
    goto(page, url + "/document")
    page.get_by_text("文書を選んでください").first.wait_for()
    check(page, "page-document-pick", checked)
    nav(page, "Q&A")
    page.locator(".kb-turn").first.wait_for()
    check(page, "page-qa", checked)
    nav(page, "話者")
    page.locator(".kb-table").first.wait_for()
    check(page, "page-speakers", checked)
    goto(page, url + "/trend?q=%E5%86%85%E8%A3%BD%E5%8C%96")
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').first.hover()  # its toolbar shows on hover
    page.wait_for_timeout(800)
    check(page, "page-trend", checked)

    # a visitor at /admin, and at a URL the app does not have: a Japanese page, no English dialog
    goto(page, url + "/admin")
    page.get_by_text("「管理」は事務局の方がログインすると使えるページです。").wait_for()
    assert page.locator('[data-testid="stDialog"]').count() == 0
    check(page, "page-admin-visitor", checked)
    goto(page, url + "/no-such-page")
    page.get_by_text("お探しのページは見つかりませんでした").wait_for()
    assert page.locator('[data-testid="stDialog"]').count() == 0
    check(page, "page-not-found", checked)

    log_in(page, "jimukyoku")
    check(page, "page-login-done", checked)
    nav(page, "管理")
    page.locator('[data-testid="stFileUploader"]').first.wait_for()
    check(page, "page-admin", checked, full_page=True)
    # the reloaded /admin URL (the login is kept by its cookie): 管理 again, never "Page not found"
    page.reload()
    wait_idle(page)
    page.wait_for_timeout(500)
    assert page.locator('[data-testid="stDialog"]').count() == 0
    check(page, "page-admin-reloaded", checked)

    # the ログイン page, as a new visitor sees it (the password field has a show/hide button)
    visitor = new_page(browser)
    goto(visitor, url + "/login")
    visitor.get_by_label("パスワード", exact=True).fill("abc")
    check(visitor, "page-login", checked)
    visitor.context.close()

    left = {name: words for name, words in checked.items() if words}
    assert not left, f"英語のまま残っている表示: {left}"


def test_phone_first_result_on_the_first_screen(server, browser):
    phone = new_page(browser, PHONE)
    try:
        goto(phone, server["url"] + "/?q=%E5%86%85%E8%A3%BD%E5%8C%96")
        first = phone.locator(".kb-snippet").first
        first.wait_for()
        phone.wait_for_timeout(500)
        box = first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
        card_top = first.evaluate("el => el.closest('[data-testid=\"stVerticalBlock\"]').getBoundingClientRect().top")
        assert 0 < card_top < PHONE["height"]
        # the title keeps its words whole: 研究会・ナレッジベース・検索 each on one line
        tops = phone.locator("h1").first.evaluate("""(h) => {
            const node = [...h.querySelectorAll('*'), h].flatMap(e => [...e.childNodes])
              .find(n => n.nodeType === 3 && n.nodeValue.includes('ナレッジベース'));
            const text = node.nodeValue, tops = [];
            for (let i = 0; i < text.length; i++) {
              const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
              tops.push([text[i], Math.round(r.getBoundingClientRect().top)]);
            }
            return tops;
        }""")
        header = phone.locator('[data-testid="stHeader"]').bounding_box()
        title = phone.locator("h1").first.bounding_box()
        assert title["y"] >= header["y"] + header["height"] - 1, (title, header)  # not under the header
        text = "".join(c for c, _ in tops)
        for word in ("研究会", "ナレッジベース", "検索"):
            i = text.index(word)
            assert len({t for _, t in tops[i:i + len(word)]}) == 1, (word, tops)
        assert not phone.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")  # no sideways scroll
        shot(phone, "phone-search")
        assert english_on(phone) == []
        phone.get_by_role("button", name="文書を開く").first.click()
        phone.wait_for_url("**/document?*")
        wait_idle(phone)
        phone.locator(".kb-pinned").wait_for()
        assert phone.locator(".kb-pinned").bounding_box()["y"] < PHONE["height"]
        shot(phone, "phone-document")
    finally:
        phone.context.close()
