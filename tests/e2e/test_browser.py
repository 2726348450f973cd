"""End to end in a real headless Chromium (Playwright) against `streamlit run` on a tiny index.

Needs Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it where it can) and the
`playwright` package. Without them the tests skip, except under CI=true where they fail.
Screenshots of every page are written to docs/screenshots/. Members and the secretariat log in
through the ログイン page with accounts made by `indexer.archive.accounts.add_user`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from indexer.archive import accounts
from indexer.archive.actions import index_corpus
from indexer.archive.datadir import DataDir

from helpers import write_corpus

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app" / "streamlit_app.py"
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse 8"
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


def _missing(reason: str):
    if IN_CI:
        pytest.fail(f"CI=true なのにブラウザ試験を実行できません: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} がありません（apt-get install chromium fonts-noto-cjk で入ります）")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("playwright パッケージがありません（pip install -e '.[dev]'）")
    tmp = tmp_path_factory.mktemp("e2e")
    corpus = write_corpus(tmp / "corpus")
    data = DataDir.at(tmp / "data")
    index_corpus(corpus, data)
    accounts.add_user(data.root, "jimukyoku", "secretariat", PASSWORD)
    accounts.add_user(data.root, "kaiin", "member", PASSWORD)
    port = _free_port()
    env = {**os.environ, **data.environ(), "KB_CORPUS": str(corpus), "PYTHONUNBUFFERED": "1"}
    log = open(tmp / "streamlit.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("streamlit が起動しませんでした:\n" + (tmp / "streamlit.log").read_text(errors="replace"))
        time.sleep(0.3)
    yield {"url": url, "tmp": tmp, "data": data}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    ctx.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached")
    page.wait_for_timeout(200)


def search(page, q: str) -> None:
    box = page.get_by_label("検索語")
    box.fill(q)
    box.press("Enter")
    wait_idle(page)


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def log_in(page, name: str, password: str = PASSWORD, screenshot: str = "") -> None:
    """Through the ログイン page, as a member of staff would."""
    nav(page, "ログイン")
    page.get_by_label("ユーザー名").fill(name)
    page.get_by_label("パスワード").fill(password)
    if screenshot:
        page.evaluate("document.activeElement && document.activeElement.blur()")
        shot(page, screenshot)
    page.get_by_role("button", name="ログイン").click()
    wait_idle(page)
    page.get_by_text(f"ログイン中: {name}").first.wait_for()


def nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_idle(page)


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
    wait_idle(page)
    assert "ログインしていません" in sidebar_text(page)
    # a reload is a new session: public again
    page.goto(f"{server['url']}/document?doc=m2")
    wait_idle(page)
    page.get_by_text("文書が見つかりません").first.wait_for()
    assert "カワセミ" not in page.locator("body").inner_text()


def test_no_deploy_toolbar(server, page):
    page.goto(server["url"])
    wait_idle(page)
    page.get_by_label("検索語").wait_for()
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
