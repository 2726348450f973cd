"""The Streamlit page, driven through streamlit.testing (AppTest) against a tiny real index.

The role comes only from logging in through the ログイン page (accounts made with
`indexer.archive.accounts.add_user` in the data directory next to the index); `login()` does that here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

st = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from indexer.archive import accounts, audit  # noqa: E402
from indexer.archive.actions import index_corpus  # noqa: E402
from indexer.archive.datadir import DataDir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app" / "streamlit_app.py"
sys.path.insert(0, str(ROOT / "app"))

import kb_ui  # noqa: E402

SECRET = "機密合言葉"
PASSWORD = "correct horse 8"
#: name → role of the accounts every fixture creates (the password is PASSWORD).
USERS = {"kaiin": "member", "jimukyoku": "secretariat"}

DOCS = {
    "t1.md": """---
id: t1
session: 1
type: transcript
visibility: public
title: 第1回 トランスクリプト
date: 2025-06-17
members_only_parts: [discussion]
---
## 質疑応答
【北条座長】ネットワークの内製化について説明します。
田村：費用はどうでしたか？
【北条座長】タグの例として <script>alert(1)</script> と **太字** をそのまま書きます。
## ディスカッション
田村：{secret}の話です。
""".replace("{secret}", SECRET),
    "m1.md": """---
id: m1
session: 2
type: report
visibility: members
title: 第2回 会員向けレポート
date: 2025-08-01
---
会員だけが読める{secret}についての報告です。
""".replace("{secret}", SECRET),
    "p1.md": """---
id: p1
session: 3
type: transcript
visibility: public
title: 第3回 トランスクリプト
date: 2025-10-01
---
## 講義
"""
    + "".join(f"【北条座長】研修の進め方その{i}です。\n" for i in range(12)),
}


@pytest.fixture
def index_dir(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    data = DataDir.at(tmp_path)
    index_corpus(corpus, data)
    make_accounts(data.root)
    monkeypatch.setenv("KB_DATA", str(data.root))  # as `kb serve` passes it
    monkeypatch.delenv("KB_INDEX", raising=False)
    st.cache_resource.clear()
    yield data.index
    st.cache_resource.clear()


def make_accounts(data_dir: Path) -> None:
    for name, role in USERS.items():
        accounts.add_user(data_dir, name, role, PASSWORD)


def new_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=30)


def submit_login(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    """Fill in and submit the login form of the ログイン page (already shown)."""
    at.text_input(key="_auth_name").input(name)
    at.text_input(key="_auth_password").input(password)
    [b for b in at.button if b.label == "ログイン"][0].click().run()
    assert not at.exception, at.exception
    return at


def login(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    """Open the ログイン page and log in through its form, as a visitor would."""
    at.query_params = {}
    at.switch_page("views/login.py").run()
    assert not at.exception, at.exception
    submit_login(at, name, password)
    # logged in (and back on the page shown before the ログイン page)
    assert any(f"ログイン中: {name}" in c.value for c in at.sidebar.caption), [e.value for e in at.error]
    return at


def logout(at: AppTest) -> AppTest:
    at.button(key="kb_logout").click().run()
    assert not at.exception, at.exception
    return at


def sidebar_text(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in at.sidebar.caption)


def search(at: AppTest, q: str) -> AppTest:
    at.text_input(key="q").input(q).run()
    assert not at.exception, at.exception
    return at


def goto(at: AppTest, page: str, params: dict | None = None) -> AppTest:
    """Switch to a page (`views/<page>.py`) with URL query parameters, as a link would."""
    at.query_params = params or {}
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def html_values(at: AppTest) -> list[str]:
    return [h.value for h in at.html]


def all_text(at: AppTest) -> str:
    """Every rendered string: HTML bodies, markdown, captions, text, alerts, subheaders."""
    parts = html_values(at)
    for group in (at.markdown, at.caption, at.text, at.info, at.warning, at.error, at.subheader, at.title):
        parts.extend(str(e.value) for e in group)
    return "\n".join(parts)


def script_blocks(at: AppTest) -> list[str]:
    """The app's own `st.html` blocks that run JavaScript (the copy-link button, the scroll to a turn)."""
    return [h.value for h in at.html if h.proto.unsafe_allow_javascript]


def markdown_like(at: AppTest) -> list[str]:
    """Bodies rendered as Markdown or raw HTML (where an unescaped tag would be live); the app's own script
    blocks are checked apart (`test_only_the_apps_own_code_runs`)."""
    out = [h.value for h in at.html if not h.proto.unsafe_allow_javascript]
    for group in (at.markdown, at.caption, at.info, at.warning, at.error, at.subheader):
        out.extend(str(e.value) for e in group)
    return out


def open_doc_page(at: AppTest, params: dict) -> AppTest:
    """Open the document page as a reload of a copied URL would."""
    at.query_params = params
    at.switch_page("views/document.py").run()
    assert not at.exception, at.exception
    return at


def open_buttons(at: AppTest):
    return [b for b in at.button if b.key and b.key.startswith("open-")]


def test_search_shows_marked_snippet(index_dir):
    at = new_app()
    at.run()
    assert not at.exception
    assert at.title[0].value == "研究会ナレッジベース検索"
    search(at, "内製化")
    assert at.subheader[0].value == "1 件"
    assert any(re.search(r"<mark>内製(化)?</mark>", h) for h in html_values(at))
    assert any("第1回" in h and "北条（座長）" in h and "質疑応答" in h for h in html_values(at))
    # a shorter query marks just those characters
    search(at, "内製")
    assert any("<mark>内製</mark>" in h for h in html_values(at))
    assert at.query_params["q"] == "内製"


def test_public_never_sees_members_only(index_dir):
    at = new_app()
    at.run()
    assert not [b for b in at.selectbox if "閲覧者" in b.label or b.key == "role_select"]  # no role selector
    assert "ログインしていません" in sidebar_text(at)
    search(at, SECRET)
    text = all_text(at)
    assert SECRET not in text.replace(f"「{SECRET}」", "")
    assert 'class="kb-badge"' not in text
    assert at.subheader[0].value == "0 件"
    # the members-only turn of a public document is not in the public document view either
    open_doc_page(at, {"doc": "t1"})
    assert "タグの例として" in all_text(at)
    assert SECRET not in all_text(at)
    # a members-only document is simply "not found"
    open_doc_page(at, {"doc": "m1"})
    assert any("文書が見つかりません" in w.value for w in at.warning)
    assert SECRET not in all_text(at)


def test_member_sees_members_only_with_badge(index_dir):
    at = new_app()
    at.run()
    login(at, "kaiin")
    assert "ログイン中: kaiin（会員）" in sidebar_text(at)
    at.switch_page("views/search.py").run()
    search(at, SECRET)
    assert at.subheader[0].value == "2 件"
    htmls = html_values(at)
    assert any(f"<mark>{SECRET}</mark>" in h for h in htmls)
    assert sum("会員限定" in h and "kb-badge" in h for h in htmls) == 2
    # the counts per session are filters: clicking one narrows the search to it, clicking again undoes it
    facet = at.sidebar.button(key="facet-session-2")
    assert facet.label == "第2回（1 件）"
    facet.click().run()
    assert at.multiselect(key="sessions").value == [2] and at.subheader[0].value == "1 件"
    assert at.query_params["session"] == "2" and at.sidebar.button(key="facet-session-2").label.startswith("✓")
    at.sidebar.button(key="facet-session-2").click().run()
    assert at.multiselect(key="sessions").value == [] and at.subheader[0].value == "2 件"
    # every kind of count filters: the part (ディスカッション) and the speaker
    at.sidebar.button(key="facet-part-discussion").click().run()
    assert at.selectbox(key="part").value == "discussion" and at.subheader[0].value == "1 件"
    at.sidebar.button(key="facet-speaker-田村").click().run()
    assert at.text_input(key="speaker").value == "田村" and at.query_params["speaker"] == "田村"


def test_login_logout_and_wrong_password(index_dir):
    at = new_app()
    at.run()
    # the ログイン page is offered to the public; a wrong password is refused in Japanese
    at.switch_page("views/login.py").run()
    submit_login(at, "kaiin", "wrong password")
    assert at.error and "ユーザー名またはパスワードが違います" in at.error[0].value
    assert not at.session_state["_auth_password"]  # the password is not kept in the session
    at.switch_page("views/search.py").run()
    search(at, SECRET)
    assert at.subheader[0].value == "0 件"
    # the right one: the member sees members-only content, the sidebar says who is logged in
    login(at, "kaiin")
    at.switch_page("views/search.py").run()
    search(at, SECRET)
    assert at.subheader[0].value == "2 件"
    assert "ログイン中: kaiin（会員）" in sidebar_text(at)
    assert [b.label for b in at.sidebar.button if not (b.key or "").startswith("facet-")] == ["ログアウト"]
    # logging out returns to the search, as the public
    logout(at)
    assert "ログインしていません" in sidebar_text(at)
    assert not [b for b in at.sidebar.button if not (b.key or "").startswith("facet-")]
    search(at, SECRET + " ")
    assert at.subheader[0].value == "0 件" and SECRET not in all_text(at).replace(f"「{SECRET}」", "")
    kinds = [e["action"] for e in audit.entries(index_dir.parent) if e["action"] != "index"]
    assert kinds == ["login_failed", "login", "logout"]  # the logout ends the session kept on the server


@pytest.mark.parametrize("params", [{"role": "secretariat"}, {"role": "member", "q": SECRET},
                                    {"auth": "member", "visibility": "members", "q": SECRET}])
def test_url_and_session_values_cannot_raise_the_role(index_dir, params):
    at = new_app()
    at.query_params = {**params, "q": params.get("q", SECRET)}
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "0 件" and SECRET not in all_text(at).replace(f"「{SECRET}」", "")
    # the mirrored session value is not a way in either (only a valid login session counts)
    at.session_state["role"] = "secretariat"
    at.run()
    assert at.subheader[0].value == "0 件"
    with pytest.raises(ValueError):  # 管理 is not even registered
        at.switch_page("views/admin.py")
    # nor is a forged session object
    at.session_state["auth"] = accounts.Session(token="x", name="jimukyoku", role="secretariat",
                                                expires_at=9e99, stamp="forged")
    at.run()
    assert at.subheader[0].value == "0 件"


def test_expired_session_falls_back_to_public(index_dir):
    from dataclasses import replace

    at = new_app()
    at.run()
    login(at, "kaiin")
    at.session_state["auth"] = replace(at.session_state["auth"], expires_at=1.0)
    at.switch_page("views/search.py").run()
    search(at, SECRET)
    assert at.subheader[0].value == "0 件"
    assert "ログインしていません" in sidebar_text(at)


def test_open_document_shows_whole_text_and_hit(index_dir):
    at = new_app()
    at.run()
    search(at, "費用")
    buttons = open_buttons(at)
    assert len(buttons) == 1 and buttons[0].label == "文書を開く"
    buttons[0].click().run()
    assert not at.exception
    assert at.query_params["doc"] == "t1"
    body = "\n".join(html_values(at))
    for line in ("ネットワークの内製化について説明します。", "費用はどうでしたか？", "タグの例として"):
        assert line.replace("費用", "<mark>費用</mark>") in body or line in body
    assert "kb-hit" in body and "この発言" in body and "<mark>費用</mark>" in body
    assert 'href="#seg-0001"' in body and 'id="seg-0001"' in body
    # back to the results
    at.button(key="back").click().run()
    assert "doc" not in at.query_params and at.query_params["q"] == "費用"
    assert at.subheader[0].value == "1 件"


def test_markup_in_transcript_is_shown_literally(index_dir):
    at = new_app()
    at.run()
    search(at, "タグの例")
    assert at.subheader[0].value == "1 件"
    htmls = html_values(at)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in h for h in htmls)
    assert any("**太字**" in h for h in htmls)  # HTML does not interpret Markdown
    open_buttons(at)[0].click().run()
    body = "\n".join(html_values(at))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "**太字**" in body
    for value in markdown_like(at):
        assert "<script" not in value.lower()
    for e in list(at.markdown) + list(at.caption):
        assert "**太字**" not in e.value


def test_query_params_reproduce_a_search(index_dir):
    at = new_app()
    at.query_params = {"q": "研修", "session": "3", "type": "transcript", "size": "10", "page": "2"}
    at.run()
    assert not at.exception
    assert at.text_input(key="q").value == "研修"
    assert at.multiselect(key="sessions").value == [3]
    assert at.selectbox(key="doc_type").value == "transcript"
    assert at.subheader[0].value == "12 件"
    assert any("11〜12 件目" in c.value for c in at.caption)
    assert at.query_params["page"] == "2"
    # paging back
    at.button(key="prev").click().run()
    assert "page" not in at.query_params
    assert any("1〜10 件目" in c.value for c in at.caption)
    at.button(key="next").click().run()
    assert at.query_params["page"] == "2"
    # a new query starts again at page 1
    search(at, "研修 進め方")
    assert "page" not in at.query_params


def test_document_url_reproduces_document_view(index_dir):
    at = new_app()
    at.run()
    open_doc_page(at, {"q": "費用", "doc": "t1", "seg": "1"})
    body = "\n".join(html_values(at))
    assert "kb-hit" in body and "<mark>費用</mark>" in body
    assert "ネットワークの内製化について説明します。" in body


def test_empty_result_explains_and_suggests(index_dir):
    at = new_app()
    at.run()
    at.multiselect(key="sessions").set_value([3]).run()
    search(at, "存在しない語句ぴよぴよ")
    assert at.subheader[0].value == "0 件"
    assert at.warning and "見つかりませんでした" in at.warning[0].value
    tips = "\n".join(t.value for t in at.text)
    assert "絞り込み（回）を外して" in tips and "別の言い方" in tips and "ひらがな" in tips


def test_library_error_is_shown_in_japanese(index_dir):
    at = new_app()
    at.run()
    search(at, "内製化 session:abc")
    assert not at.exception
    assert at.error and "回の指定は数字" in at.error[0].value


def test_dates_are_picked_and_kept_in_the_url(index_dir):
    import datetime as dt

    at = new_app()
    at.run()
    search(at, "研修")
    assert at.subheader[0].value == "12 件"
    at.date_input(key="date_from").set_value(dt.date(2025, 9, 1)).run()
    assert at.query_params["from"] == "2025-09-01" and at.subheader[0].value == "12 件"
    at.date_input(key="date_to").set_value(dt.date(2025, 9, 30)).run()
    assert at.query_params["to"] == "2025-09-30" and at.subheader[0].value == "0 件"
    # a copied URL fills the pickers
    again = new_app()
    again.query_params = {"q": "研修", "from": "2025-09-01", "to": "2025-10-31"}
    again.run()
    assert again.date_input(key="date_from").value == dt.date(2025, 9, 1)
    assert again.date_input(key="date_to").value == dt.date(2025, 10, 31) and again.subheader[0].value == "12 件"
    # from after to is explained, in Japanese
    again.date_input(key="date_to").set_value(dt.date(2025, 1, 1)).run()
    assert again.error and "より後の日付" in again.error[0].value


def test_missing_index_shows_japanese_message(tmp_path, monkeypatch):
    monkeypatch.delenv("KB_DATA", raising=False)
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "nothing"))  # the older variable still works
    st.cache_resource.clear()
    at = new_app()
    at.run()
    assert not at.exception
    assert at.error and "kb index corpus" in at.error[0].value and "索引" in at.error[0].value


def test_url_state_round_trip():
    s = kb_ui.state_from_params({"q": "内製化", "session": "3,1", "from": "2025-01-01", "to": "bad",
                                 "type": "report", "part": "qa", "sort": "date", "size": "20", "page": "x"})
    assert (s.sessions, s.date_from, s.date_to, s.doc_type, s.part, s.sort, s.size, s.page) == (
        [1, 3], "2025-01-01", "", "report", "qa", "date", 20, 1)
    assert kb_ui.state_from_params(kb_ui.params_from_state(s)) == s


def test_turn_marks_query_terms_and_escapes_everything():
    from indexer.models import Segment

    out = kb_ui.turn_html(Segment(order=3, text="<b>内製化</b> **x**"), 3, "内製化")
    assert "&lt;b&gt;<mark>内製化</mark>&lt;/b&gt; **x**" in out
    assert kb_ui.fmt_time(65) == "01:05"
