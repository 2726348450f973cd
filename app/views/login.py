"""ログイン: the login form for members and the secretariat (accounts are made with `kb user add`).

The form and the session live in `auth`; the role the other pages use comes only from that session.
Right after logging in, the user goes back to the page (and its query parameters) shown before.
"""

from __future__ import annotations

import auth
import kb_app
import streamlit as st


def main() -> None:
    kb_app.enter_page("login")
    st.header("ログイン")
    account = auth.current_account()
    if account is not None:
        back = auth.take_return()
        if back is not None and back[0] in kb_app.PAGES and back[0] != "login":
            if back[0] != "admin" or account.role == "secretariat":
                st.switch_page(kb_app.PAGES[back[0]], query_params=back[1])
        st.success(auth.account_label(account))
        st.page_link(kb_app.PAGES["search"], label="検索へ", icon=":material/search:")
        if account.role == "secretariat":
            st.page_link(kb_app.PAGES["admin"], label="管理へ", icon=":material/settings:")
        return
    st.caption("会員・事務局の方は、事務局から届いたユーザー名とパスワードでログインしてください。"
               "ログインしなくても公開の資料は検索できます。ログインは再読み込みや新しいタブでも続きます"
               "（「ログアウト」を押すか、有効期限が切れるまで）。")
    auth.login_form(kb_app.data_dir())


main()
