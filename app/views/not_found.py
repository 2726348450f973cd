"""ページが見つかりません: shown (in Japanese) at a URL no page of the app has, instead of Streamlit's English
"Page not found" dialog. `kb_app.not_found_pages` registers it, hidden, at the URL that was asked for.

`/admin` for someone who is not logged in as the secretariat lands here too: it says what the page is and
offers the ログイン page.
"""

from __future__ import annotations

import kb_app
import streamlit as st


def main() -> None:
    kb_app.enter_page("not_found")
    asked = kb_app.requested_page_name()
    if asked == "admin":
        st.header("管理（事務局のみ）", anchor=False)
        st.warning("「管理」は事務局の方がログインすると使えるページです。")
        if kb_app.current_role() == "public":
            st.page_link(kb_app.PAGES["login"], label="ログインする", icon=":material/login:")
    else:
        st.header("ページが見つかりません", anchor=False)
        st.warning("お探しのページは見つかりませんでした。アドレスが正しいかご確認ください。")
    st.page_link(kb_app.PAGES["search"], label="検索ページへ", icon=":material/search:")


main()
