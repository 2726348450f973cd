"""ほかの回でも in a real headless Chromium, over the sample corpus: a hit's 「ほかの回でも」 line links to the
other session's turn (the document page opens on it), and the document page names the later session under
the turn (「第5回でも議論: …」); a logged-in member also sees the links to members-only turns."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from browser_kit import goto, log_in, search, streamlit_server, wait_idle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("followups")
    with streamlit_server(tmp, ROOT / "corpus") as srv:
        yield srv


def test_a_hits_line_leads_to_the_other_sessions_turn(server, page):
    goto(page, server["url"])
    search(page, "削減時間 集計")
    line = page.locator(".kb-followups", has_text="ほかの回でも").first
    line.wait_for()
    link = line.locator("a", has_text="第2回").first
    link.click()
    page.wait_for_url("**/document?*")
    wait_idle(page)
    query = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert query["doc"] == "s02-report"
    page.locator(".kb-pinned").wait_for()
    assert "一人一改善" in page.locator(".kb-pinned").inner_text()
    assert page.locator(".kb-followups", has_text="第5回でも議論").count() >= 1


def test_a_member_sees_the_answer_of_session_5_under_the_question_of_session_2(server, page):
    goto(page, server["url"])
    log_in(page, "kaiin")
    goto(page, server["url"] + "/document?doc=s02-transcript")
    lines = page.locator(".kb-followups", has_text="第5回でも議論")
    lines.first.wait_for()
    texts = lines.all_inner_texts()
    assert any("森下千晶" in t and "事務局から一点ご報告です" in t for t in texts), texts
