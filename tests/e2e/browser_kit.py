"""Helpers for the browser tests (tests/e2e): start `streamlit run`, drive pages, read what a user sees.

The fixtures built on these live in tests/e2e/conftest.py (`server`, `browser`, `page`, `phone_page`).
Test modules import the helpers by name: `from browser_kit import log_in, nav, search, visible_text`.

Everything a test sets up for the app goes through the product's own write paths: the index through
`indexer.archive.index_corpus` (what `kb index` runs), accounts through `indexer.archive.accounts.add_user`
(what `kb user add` runs). What is being tested is then done through clicks, uploads and reloads only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.archive import accounts
from indexer.archive.actions import index_corpus
from indexer.archive.datadir import DataDir

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app" / "streamlit_app.py"
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse 8"
#: The accounts every test server has: name -> role.
USERS = {"jimukyoku": "secretariat", "kaiin": "member"}
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}


def missing(reason: str) -> None:
    """Skip (or, under CI=true, fail) when the browser tests cannot run here."""
    if IN_CI:
        pytest.fail(f"CI=true なのにブラウザ試験を実行できません: {reason}")
    pytest.skip(reason)


def require_browser() -> None:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} がありません（apt-get install chromium fonts-noto-cjk で入ります）")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing("playwright パッケージがありません（pip install -e '.[dev]'）")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(tmp: Path, corpus: Path, *, users: dict[str, str] | None = None,
                     env: dict[str, str] | None = None) -> Iterator[dict]:
    """Index `corpus` into a fresh data directory under `tmp`, add `users`, and serve the app.

    Yields {"url", "tmp", "data", "corpus", "port"}. The server runs in its own process group (a new
    session), and the whole group is stopped afterwards, so no child of `streamlit run` outlives the test.
    """
    data = DataDir.at(tmp / "data")
    index_corpus(corpus, data)
    for name, role in (USERS if users is None else users).items():
        accounts.add_user(data.root, name, role, PASSWORD)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **data.environ(), "KB_CORPUS": str(corpus), "PYTHONUNBUFFERED": "1",
                "KB_BASE_URL": url, **(env or {})}
    log_path = tmp / "streamlit.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=tmp, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_healthy(proc, url, log_path)
            yield {"url": url, "tmp": tmp, "data": data, "corpus": corpus, "port": port}
        finally:
            _stop_group(proc)


def _wait_healthy(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            _stop_group(proc)
            pytest.fail("streamlit が起動しませんでした:\n" + log_path.read_text(errors="replace"))
        time.sleep(0.3)


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, then SIGKILL to whatever is left of it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def new_page(browser, viewport: dict | None = None):
    """A page in a fresh browser context (its own cookies: a new visitor). Close it with `page.context.close()`.

    `page.dialogs` collects the messages of any alert/confirm, which are dismissed.
    """
    ctx = browser.new_context(viewport=viewport or DESKTOP, locale="ja-JP")
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)  # a loaded 2-core CI machine can take long over one rerun
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    return pg


def shot(page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot as docs/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached")
    page.wait_for_timeout(200)


def goto(page, url: str) -> None:
    page.goto(url)
    wait_idle(page)


def search(page, q: str) -> None:
    box = page.get_by_label("検索語", exact=True)
    box.fill(q)
    box.press("Enter")
    wait_idle(page)


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def nav(page, title: str) -> None:
    """Click a page in the sidebar's navigation."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_idle(page)


def log_in(page, name: str, password: str = PASSWORD, screenshot: str = "") -> None:
    """Through the ログイン page, as a member of staff would."""
    nav(page, "ログイン")
    page.get_by_label("ユーザー名", exact=True).fill(name)
    page.get_by_label("パスワード", exact=True).fill(password)  # not the 「パスワードを表示」 toggle
    if screenshot:
        page.evaluate("document.activeElement && document.activeElement.blur()")
        shot(page, screenshot)
    page.get_by_role("button", name="ログイン").click()
    wait_idle(page)
    page.get_by_text(f"ログイン中: {name}").first.wait_for()


#: Everything a user can read on the page: the text of visible elements (not the names of icons, which show
#: as glyphs), and the words elements carry without showing them as text (placeholders, aria-labels,
#: titles, alt texts) when they are visible. With `chrome`, only what Streamlit itself writes: the app's
#: own content (its kb-* blocks, Markdown bodies, code) is left out of the text.
_VISIBLE_TEXT_JS = """(chrome) => {
  const out = [];
  const CONTENT = '[class*="kb-"], [data-testid="stMarkdownContainer"], code, pre, [data-testid="stText"]';
  const hidden = (el) => {
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden') return true;
    }
    return false;
  };
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && !hidden(el); };
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = w.nextNode())) {
    const el = n.parentElement;
    const t = n.nodeValue.trim();
    if (!t || !el || el.closest('script, style, noscript, [data-testid="stIconMaterial"]')) continue;
    if (chrome && el.closest(CONTENT)) continue;
    if (!hidden(el)) out.push(t);
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [title], img[alt]')) {
    if (!shown(el)) continue;
    for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {
      const v = el.getAttribute(a);
      if (v) out.push(v);
    }
  }
  return out.join('\\n');
}"""


def visible_text(page, *, chrome: bool = False) -> str:
    """The page's visible text plus the placeholders, aria-labels, titles and alt texts of visible elements
    (`chrome`: only the words Streamlit itself puts around the app's content)."""
    return page.evaluate(_VISIBLE_TEXT_JS, chrome)
