"""研究会ナレッジベース: the Streamlit entry point (run with `kb serve`).

The frame around every page: page config, styles, who is logged in (sidebar) and the page
navigation. Pages (in `views/`) read widgets, call `indexer` and render; all searching, filtering
and visibility checks happen in the library. Everything rendered as HTML is escaped in `kb_ui`.

The role comes only from the login (`kb_app.current_role()` → `auth.current_role()`); nothing in
the URL can raise it. The 管理 page is registered only for the secretariat (and checks again).

`streamlit run` finds `app = st.App(...)` at the end of this file and serves it as Streamlit's ASGI app: the
pages (this file, run as `__main__` for every page view) plus the two routes that set and clear the login
cookie (`auth_routes.py`). Run as a plain script (AppTest), the pages work the same; a login then lasts as
long as the browser session.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import auth  # noqa: E402
import kb_app  # noqa: E402
import kb_ui as ui  # noqa: E402
import saved_panel  # noqa: E402

from indexer import KbError  # noqa: E402

log = logging.getLogger("kb.app")
TITLE = "研究会ナレッジベース検索"


def pages(role: str) -> list:
    out = [
        st.Page(kb_app.PAGES["search"], title="検索", icon=":material/search:", default=True),
        st.Page(kb_app.PAGES["document"], title="文書", icon=":material/description:", url_path="document"),
        st.Page(kb_app.PAGES["qa"], title="Q&A", icon=":material/forum:", url_path="qa"),
        st.Page(kb_app.PAGES["speakers"], title="話者", icon=":material/group:", url_path="speakers"),
        st.Page(kb_app.PAGES["trend"], title="推移", icon=":material/trending_up:", url_path="trend"),
    ]
    if role == "secretariat":
        out.append(st.Page(kb_app.PAGES["admin"], title="管理", icon=":material/settings:", url_path="admin"))
    # Hidden (not removed) once logged in, so the run right after a successful login stays on it.
    out.append(st.Page(kb_app.PAGES["login"], title="ログイン", icon=":material/login:", url_path="login",
                       visibility="visible" if role == "public" else "hidden"))
    return out


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":material/search:", layout="wide")
    st.html(ui.CSS)
    st.html(ui.JA_SCRIPT, unsafe_allow_javascript=True)  # Streamlit's own English words in Japanese (see kb_ui)
    st.html(ui.CITE_SCRIPT, unsafe_allow_javascript=True)  # the 引用をコピー buttons of every page (see kb_ui)
    role = kb_app.current_role()
    saved_panel.note_visit()  # a page view of the member's visit (the 「前回以降 N 件」 baseline)
    registered = pages(role)
    page = st.navigation(registered + kb_app.not_found_pages(registered))  # any other URL: a Japanese page
    with st.sidebar:
        if role == "public":
            st.caption("ログインしていません（公開の資料だけを表示しています）。会員・事務局の方は「ログイン」から。")
        else:
            auth.logout_button(after=kb_app.PAGES["search"])
    st.title(TITLE)
    try:
        kb_app.get_index()
    except KbError as e:
        st.error("索引を開けません。事務局の方は `kb index corpus` を実行して索引を作成してください。")
        st.caption(ui.md_escape(str(e)))
        auth.sync_cookie()
        return
    try:
        page.run()
    except KbError as e:
        st.error(ui.md_escape(str(e)))
    except Exception:  # never show a traceback to members (st.rerun/st.stop are BaseExceptions)
        log.exception("unexpected error")
        st.error("予期しないエラーが発生しました。時間をおいてもう一度お試しください。続く場合は事務局にご連絡ください。")
    # A run that ends here (no page switch): the page to go back to after logging in, and the login cookie.
    auth.remember_page(st.session_state.get("_kb_view"), st.query_params.to_dict())
    auth.sync_cookie()


if __name__ == "__main__":  # a page view: Streamlit runs this file as __main__ for every run (AppTest too)
    main()
else:  # imported by `streamlit run app/streamlit_app.py` (or `kb serve`): Streamlit's ASGI app, which serves
    # these pages and, beside them, the login cookie's routes (auth_routes.py: Set-Cookie needs an HTTP answer)
    import auth_routes  # noqa: E402

    app = st.App(__file__, routes=auth_routes.ROUTES)
