"""Fixtures for the browser tests: a `streamlit run` server on the tiny corpus, a headless Chromium, pages.

Needs Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it where it can) and the
`playwright` package. Without them the tests skip, except under CI=true where they fail.

- `server` (per module): the app on a free port, its data directory built by `index_corpus` from
  tests/helpers.write_corpus, accounts `jimukyoku` (事務局) and `kaiin` (会員) with browser_kit.PASSWORD.
  A module that needs another corpus calls `browser_kit.streamlit_server(tmp, corpus)` itself.
- `browser` (per module): headless Chromium.
- `page`: a fresh 1400x1000 context (a new visitor); `phone_page`: the same at 390x844.

The helpers (log_in, nav, search, shot, visible_text, wait_idle, ...) are in browser_kit.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# This folder is a package (see __init__.py); its modules import the helpers as `browser_kit`.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_kit import ARGS, CHROMIUM, PHONE, new_page, require_browser, streamlit_server  # noqa: E402
from helpers import write_corpus, write_subtitled_corpus  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("e2e")
    corpus = write_corpus(tmp / "corpus")
    with streamlit_server(tmp, corpus) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    pg = new_page(browser)
    yield pg
    pg.context.close()


@pytest.fixture
def phone_page(browser):
    pg = new_page(browser, PHONE)
    yield pg
    pg.context.close()


@pytest.fixture(scope="module")
def subtitled_server(tmp_path_factory, request):
    """A server of its own for a module, on the tiny corpus plus t1's subtitles (turns held twice)."""
    require_browser()
    tmp = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with streamlit_server(tmp, write_subtitled_corpus(tmp / "corpus")) as srv:
        yield srv
