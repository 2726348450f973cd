"""Login helpers for the Streamlit pages: a login form, the current role, a logout button.

The role shown to the search is always `current_role()`: derived from a valid, unexpired session in
`st.session_state["auth"]` (an `indexer.archive.accounts.Session`), never from a widget. Without one it is
"public". `st.session_state["role"]` mirrors it for pages that read it.

    import auth
    role = auth.current_role()          # first, on every run
    if role == "public":
        with st.sidebar:
            auth.login_form(data_dir)
    else:
        auth.logout_button(after="views/search.py")
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from indexer.archive import accounts
from indexer.errors import KbError

AUTH_KEY = "auth"
ROLE_KEY = "role"
_DIR_KEY = "_auth_data_dir"
_ERROR_KEY = "_auth_error"
_NAME_KEY = "_auth_name"
_PASSWORD_KEY = "_auth_password"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _set_role(role: str) -> None:
    if st.session_state.get(ROLE_KEY) != role:
        st.session_state[ROLE_KEY] = role


def _submit(data_dir: str) -> None:
    """Form callback (runs before the page, so it may set the role)."""
    name = st.session_state.get(_NAME_KEY, "")
    password = st.session_state.get(_PASSWORD_KEY, "")
    st.session_state[_PASSWORD_KEY] = ""  # never keep the password in the session
    st.session_state.pop(_ERROR_KEY, None)
    try:
        account = accounts.authenticate(data_dir, name, password)
    except accounts.LoginLocked as e:
        st.session_state[_ERROR_KEY] = str(e)
        return
    except KbError as e:
        st.session_state[_ERROR_KEY] = f"ログインできませんでした: {e}"
        return
    if account is None:
        st.session_state[_ERROR_KEY] = "ユーザー名またはパスワードが違います。"
        return
    st.session_state[AUTH_KEY] = accounts.new_session(account, data_dir=data_dir)
    st.session_state[_DIR_KEY] = data_dir
    _set_role(account.role)


def login_form(data_dir: str | Path) -> None:
    """ユーザー名/パスワードのフォーム. On success the session goes to `st.session_state["auth"]` and
    `st.session_state["role"]` is set; on failure a Japanese error (with the remaining lock time)."""
    data_dir = str(Path(data_dir).resolve())
    with st.form("kb_login", clear_on_submit=False):
        st.text_input("ユーザー名", key=_NAME_KEY, max_chars=accounts.MAX_NAME)
        st.text_input("パスワード", key=_PASSWORD_KEY, type="password", max_chars=accounts.MAX_PASSWORD)
        st.form_submit_button("ログイン", on_click=_submit, args=(data_dir,))
    error = st.session_state.get(_ERROR_KEY)
    if error:
        st.error(error)
        try:
            wait = accounts.lock_remaining(data_dir, st.session_state.get(_NAME_KEY, ""))
        except KbError:
            wait = 0
        if wait > 0:
            st.caption(f"次に試せるまで: あと {accounts.wait_label(wait)}")


def current_account(now: float | None = None) -> accounts.Account | None:
    """The logged-in account, or None; an expired or revoked session is removed (role back to public)."""
    session = st.session_state.get(AUTH_KEY)
    if session is None:
        _set_role("public")
        return None
    data_dir = st.session_state.get(_DIR_KEY)
    # Always checked against the accounts of the data directory it was issued for: a session object
    # that did not come from `login_form` (no directory, or a stale stamp) is worth nothing.
    account = accounts.check_session(session, now=now, data_dir=data_dir) if data_dir else None
    if account is None:
        st.session_state.pop(AUTH_KEY, None)
        st.session_state[_ERROR_KEY] = "ログインの有効期限が切れました。もう一度ログインしてください。"
        _set_role("public")
        return None
    _set_role(account.role)
    return account


def current_role(now: float | None = None) -> str:
    """"public" unless a valid, unexpired session says member or secretariat."""
    account = current_account(now)
    return account.role if account else "public"


def account_label(account: accounts.Account) -> str:
    """「ログイン中: 名前（会員）」 (the name escaped for Markdown)."""
    return f"ログイン中: {_md(account.name)}（{accounts.ROLE_LABELS.get(account.role, account.role)}）"


def _logout() -> None:
    st.session_state.pop(AUTH_KEY, None)
    st.session_state.pop(_ERROR_KEY, None)
    _set_role("public")


def logout_button(after: str | None = None) -> None:
    """Who is logged in (「ログイン中: 名前（会員/事務局）」) and a ログアウト button (nothing when nobody
    is). After logging out the app goes to the page `after` (one every role may see), or reruns."""
    account = current_account()
    if account is None:
        return
    st.caption(account_label(account))
    if st.button("ログアウト", key="kb_logout"):
        _logout()
        if after:
            st.switch_page(after)
        st.rerun()
