"""ログイン: the login form for members and the secretariat (accounts are made with `kb user add`).

The form and the session live in `auth`; the role the other pages use comes only from that session.
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
        st.success(auth.account_label(account))
        st.page_link(kb_app.PAGES["search"], label="検索へ", icon=":material/search:")
        if account.role == "secretariat":
            st.page_link(kb_app.PAGES["admin"], label="管理へ", icon=":material/settings:")
        return
    st.caption("会員・事務局の方は、事務局から届いたユーザー名とパスワードでログインしてください。"
               "ログインしなくても公開の資料は検索できます。")
    auth.login_form(kb_app.data_dir())


main()
