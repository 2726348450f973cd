"""ほかの回でも in the app (AppTest): the document page's 「第5回でも議論: …」 lines and a hit's 「ほかの回でも」 line,
for the public and for a logged-in member, over the sample corpus indexed through `indexer.archive`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

st = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402
from test_app import goto, html_values, login, make_accounts  # noqa: E402
from test_app_pages import app  # noqa: E402

from indexer.archive.actions import index_corpus  # noqa: E402
from indexer.archive.datadir import DataDir  # noqa: E402
from indexer.bench.followup_eval import resolve  # noqa: E402
from indexer.index.store import Index  # noqa: E402
from indexer.search.kb import KnowledgeBase  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    data = DataDir.at(tmp_path / "data")
    index_corpus(ROOT / "corpus", data)
    make_accounts(data.root)
    monkeypatch.setenv("KB_DATA", str(data.root))
    monkeypatch.delenv("KB_INDEX", raising=False)
    monkeypatch.delenv("KB_BASE_URL", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    kb = KnowledgeBase(Index(data.index), data_dir=data.root)
    yield kb
    st.cache_resource.clear()
    st.cache_data.clear()


def followup_lines(at: AppTest) -> list[str]:
    return [m for h in html_values(at) for m in re.findall(r'<div class="kb-followups">.*?</div>', h)]


def test_document_page_names_the_later_session_under_the_public_report(env):
    here = resolve(env, {"doc": "s02-report", "text": "野々宮委員から「一人一改善」"})
    there = resolve(env, {"doc": "s05-report", "text": "第2回で宿題となっていた"})
    at = goto(app(), "document", {"doc": "s02-report"})
    lines = followup_lines(at)
    order = there.split("#")[1].lstrip("0")
    assert any(line.startswith('<div class="kb-followups">第5回でも議論: <a href="document?doc=s05-report&amp;seg='
                               f'{order}"') for line in lines), lines
    hidden = resolve(env, {"doc": "s05-transcript", "text": "第2回で野々宮さんから質問のあった"})  # discussion
    members_only = ("s02-transcript", f"doc=s05-transcript&amp;seg={hidden.split('#')[1].lstrip('0')}\"")
    assert here and all(m not in line for line in lines for m in members_only), lines


def test_member_sees_the_answer_in_session_5_under_the_question_of_session_2(env):
    at = login(app(), "kaiin")
    at = goto(at, "document", {"doc": "s02-transcript"})
    lines = followup_lines(at)
    assert any("第5回でも議論:" in line and "森下千晶" in line and "s05-transcript" in line for line in lines), lines


def search(at: AppTest, q: str) -> AppTest:
    at = goto(at, "search")
    at.text_input(key="q").input(q).run()
    assert not at.exception, at.exception
    return at


def test_a_hit_has_a_small_line_linking_the_other_sessions(env):
    at = search(app(), "削減時間 集計")
    lines = [line for line in followup_lines(at) if "ほかの回でも" in line]
    assert lines and any('href="document?doc=s02-report&amp;seg=' in line and "第2回" in line for line in lines)
    assert all("s02-transcript" not in line for line in lines)  # 第2回's transcript is members-only
    at = search(login(app(), "kaiin"), "削減時間 集計")
    assert any("s02-transcript" in line for line in followup_lines(at) if "ほかの回でも" in line)
