"""The app's 引用をコピー buttons and ▶ h:mm:ss recording links, through AppTest (issue 16, parts 2 and 5).

The archive is tests/test_cite.write_recorded_corpus (the tiny corpus, s01/qa.vtt, the group's name and
session 1's `recording:`), indexed through `indexer.archive`; the member logs in through the ログイン page.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

st = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402
from test_app import goto, html_values, kb_ui, login, make_accounts, script_blocks  # noqa: E402
from test_app_pages import app  # noqa: E402
from test_cite import GROUP, RECORDING, write_recorded_corpus  # noqa: E402

from indexer.archive.actions import index_corpus  # noqa: E402
from indexer.archive.datadir import DataDir  # noqa: E402

BASE = "https://kb.example.jp"


@pytest.fixture
def env(tmp_path, monkeypatch):
    corpus = write_recorded_corpus(tmp_path / "corpus")
    data = DataDir.at(tmp_path / "data")
    index_corpus(corpus, data)
    make_accounts(data.root)
    monkeypatch.setenv("KB_DATA", str(data.root))
    monkeypatch.delenv("KB_INDEX", raising=False)
    monkeypatch.setenv("KB_BASE_URL", BASE)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield data
    st.cache_resource.clear()
    st.cache_data.clear()


def cites(html: str) -> list[str]:
    return [unescape(c) for c in re.findall(r'data-cite="([^"]*)"', html)]


def turns(at: AppTest) -> list[str]:
    """Each turn of the document's text (the element with its `seg-NNNN` id), as HTML."""
    body = next(h for h in html_values(at) if 'id="seg-0000"' in h)
    return re.split(r'(?=<div class="kb-turn[^"]*" id="seg-)', body)[1:]


def test_document_page_shows_the_recording_time_beside_subtitled_turns(env):
    at = goto(app(), "document", {"doc": "s01-qa"})
    shown = turns(at)
    assert len(shown) == 4  # the six cues make four turns
    for turn in shown:
        start = re.search(r"<div class=\"kb-who\">.*?(\d\d:\d\d)", turn)
        link = re.search(r'<a class="kb-media" href="([^"]+)" target="_blank" rel="noopener"[^>]*>▶ (\d:\d\d:\d\d)</a>',
                         turn)
        assert start and link, turn
        h, m, s = (int(x) for x in link.group(2).split(":"))
        assert f"{m:02d}:{s:02d}" == start.group(1)  # the turn's own time, as h:mm:ss
        assert unescape(link.group(1)) == f"{RECORDING}&t={h * 3600 + m * 60 + s}"
    assert "▶ 0:41:20" in "".join(shown)  # 庁内公募 is said at 41:20


def test_turns_without_timestamps_have_no_recording_link(env):
    at = goto(app(), "document", {"doc": "t1"})
    assert turns(at) and not any("kb-media" in t for t in turns(at))


def test_every_turn_has_a_citation_button_in_the_catalogues_names(env):
    at = goto(app(), "document", {"doc": "t1", "seg": "5"})
    shown = turns(at)
    assert all("引用をコピー" in t for t in shown)
    texts = [c for t in shown for c in cites(t)]
    assert len(texts) == len(shown)
    assert f"{GROUP} 第1回（2025-06-17）質疑応答 佐伯一郎 発言 — {BASE}/document?doc=t1&seg=5" in texts
    assert all(c.startswith(f"{GROUP} 第1回（2025-06-17）") for c in texts)
    pinned = next(h for h in html_values(at) if "kb-pinned" in h)
    assert cites(pinned) == [f"{GROUP} 第1回（2025-06-17）質疑応答 佐伯一郎 発言 — {BASE}/document?doc=t1&seg=5"]
    # one static script copies them; no turn's text runs
    [block] = [b for b in script_blocks(at) if "kb-cite-button" in b]
    assert block == kb_ui.CITE_SCRIPT


def test_members_only_turns_are_cited_as_such_after_login(env):
    at = login(app(), "kaiin")
    at = goto(at, "document", {"doc": "t1"})
    members = [t for t in turns(at) if "翠嵐" in t]
    assert members
    for t in members:
        order = int(re.search(r'id="seg-(\d+)"', t).group(1))
        assert cites(t) == [f"{GROUP} 第1回（2025-06-17）ディスカッション 田村花子 発言（会員限定） — "
                            f"{BASE}/document?doc=t1&seg={order}"]
    public = [t for t in turns(at) if "庁内公募" in t]
    assert public and not any("会員限定" in c for t in public for c in cites(t))


def test_each_hit_has_the_citation_button_and_the_time_link(env):
    at = app()
    at.text_input(key="q").input("費用").run()
    hits = [h for h in html_values(at) if 'class="kb-snippet"' in h]
    assert hits and all(len(cites(h)) == 1 for h in hits)
    assert all(cites(h)[0].startswith(GROUP) for h in hits)
    timed = [h for h in hits if "kb-media" in h]
    assert timed and all(f'href="{RECORDING}&amp;t=' in h and 'rel="noopener"' in h for h in timed)


def test_the_citation_is_escaped():
    html = kb_ui.cite_button_html('研究会 "x" <script>alert(1)</script> & — https://kb/?a=1&b=2')
    assert "<script>" not in html and 'data-cite="研究会 &quot;x&quot; &lt;script&gt;' in html
    assert cites(html) == ['研究会 "x" <script>alert(1)</script> & — https://kb/?a=1&b=2']
    assert kb_ui.media_html('https://x/"><script>', 3).count("<script>") == 0
