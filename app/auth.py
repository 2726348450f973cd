"""Login helpers for the Streamlit pages: a login form, the current account and role, a logout button.

The role shown to the search is always `current_role()`: derived from a valid, unexpired session kept
server-side (`indexer.archive.accounts`: `sessions.json` in the data directory), never from a widget.
Without one it is "public". `st.session_state["role"]` mirrors it for pages that read it.

A login outlives the page: the browser keeps the session's opaque token in the cookie `kb_session`
(HttpOnly, SameSite=Strict, Path=/, Max-Age = what is left of `KB_SESSION_TTL`), set by the app's own HTTP
route (`auth_routes.py`) from a one-time code; on a reload, a new tab or an opened link the token is read
back with `st.context.cookies` and checked against the server's store. Logging out deletes the session on
the server (the cookie is then worth nothing) and asks the route to drop the cookie.

    import auth
    role = auth.current_role()          # first, on every run
    ...
    auth.sync_cookie()                  # last, on every run: hand a new login to the cookie route, or clear it
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st
from kb_ui import md_escape

from indexer.archive import accounts
from indexer.archive.audit import record
from indexer.archive.datadir import DataDir
from indexer.errors import KbError

AUTH_KEY = "auth"
ROLE_KEY = "role"
_DIR_KEY = "_auth_data_dir"
_ERROR_KEY = "_auth_error"
_NAME_KEY = "_auth_name"
_PASSWORD_KEY = "_auth_password"
_HANDOFF_KEY = "_auth_handoff"  # a one-time code for the cookie route, after a login
_CLEAR_KEY = "_auth_clear_cookie"  # after a logout or a dead cookie: ask the route to drop it
_SEEN_KEY = "_auth_cookie_seen"  # the cookie token already looked at in this browser session
_RETURN_KEY = "_auth_return"  # (page name, query params) of the last page shown before logging in
_RETURN_PENDING = "_auth_return_pending"
COOKIE_ROUTE = "/kb-auth/session"
LOGOUT_ROUTE = "/kb-auth/logout"

def default_data_dir() -> str:
    """The app's data directory (`$KB_DATA` / `$KB_INDEX` as `kb serve` sets them, else `.kb`)."""
    return str(DataDir.resolve().resolved().root)


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
        if account is None:
            st.session_state[_ERROR_KEY] = "ユーザー名またはパスワードが違います。"
            return
        session = accounts.start_session(data_dir, account)
        code = accounts.handoff(data_dir, session)
    except accounts.LoginLocked as e:
        st.session_state[_ERROR_KEY] = str(e)
        return
    except KbError as e:
        st.session_state[_ERROR_KEY] = f"ログインできませんでした: {e}"
        return
    st.session_state[AUTH_KEY] = session
    st.session_state[_DIR_KEY] = data_dir
    st.session_state[_HANDOFF_KEY] = code
    st.session_state.pop(_CLEAR_KEY, None)
    st.session_state[_RETURN_PENDING] = True
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


def _cookie_token() -> str:
    try:
        value = st.context.cookies.get(accounts.COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no browser request behind this run (tests, bare scripts)
        return ""
    return value if isinstance(value, str) else ""  # AppTest's context is a stand-in object


def _from_cookie() -> accounts.Session | None:
    """The session of the browser's cookie, once per browser session and token (then kept in session state)."""
    token = _cookie_token()
    if not token or st.session_state.get(_SEEN_KEY) == token:
        return None
    st.session_state[_SEEN_KEY] = token
    data_dir = default_data_dir()
    try:
        session = accounts.resume_session(data_dir, token)
    except KbError:
        session = None
    if session is None:  # logged out, expired or unknown: the browser may forget it
        st.session_state[_CLEAR_KEY] = True
        return None
    st.session_state[AUTH_KEY] = session
    st.session_state[_DIR_KEY] = data_dir
    return session


def current_account(now: float | None = None) -> accounts.Account | None:
    """The logged-in account, or None; an expired or revoked session is removed (role back to public)."""
    session = st.session_state.get(AUTH_KEY)
    if session is None:
        session = _from_cookie()
    if session is None:
        _set_role("public")
        return None
    data_dir = st.session_state.get(_DIR_KEY)
    # Always checked against the data directory it was issued for, and against the server's store (a
    # logout in another tab ends it here too): a session object that did not come from a login is worth nothing.
    account = None
    if data_dir and isinstance(session, accounts.Session):
        try:
            account = accounts.check_session(session, now=now, data_dir=data_dir)
            if account is not None and accounts.resume_session(data_dir, session.token, now) is None:
                account = None
        except KbError:
            account = None
    if account is None:
        st.session_state.pop(AUTH_KEY, None)
        st.session_state.pop(_HANDOFF_KEY, None)
        st.session_state[_CLEAR_KEY] = True
        st.session_state[_ERROR_KEY] = "ログインの有効期限が切れたか、ログアウトされました。もう一度ログインしてください。"
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
    return f"ログイン中: {md_escape(account.name)}（{accounts.ROLE_LABELS.get(account.role, account.role)}）"


def _logout() -> None:
    session = st.session_state.pop(AUTH_KEY, None)
    data_dir = st.session_state.get(_DIR_KEY)
    if isinstance(session, accounts.Session) and data_dir:
        try:
            if accounts.end_session(data_dir, session.token):
                record(data_dir, session.name, "logout")
        except KbError:
            pass  # the session still dies with its expiry; the cookie is dropped below
    st.session_state.pop(_ERROR_KEY, None)
    st.session_state.pop(_HANDOFF_KEY, None)
    st.session_state[_CLEAR_KEY] = True
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


# -- going back after logging in -------------------------------------------------------------------------
def remember_page(name: str | None, params: dict) -> None:
    """Note the page just shown (its name in `kb_app.PAGES` and its query parameters): after logging in,
    the user goes back there."""
    if name and name != "login":
        st.session_state[_RETURN_KEY] = (name, {str(k): str(v) for k, v in params.items()})


def take_return() -> tuple[str, dict] | None:
    """Right after a login: the page to go back to (once), else None."""
    if not st.session_state.pop(_RETURN_PENDING, False):
        return None
    target = st.session_state.get(_RETURN_KEY)
    return target if isinstance(target, tuple) and len(target) == 2 else None


# -- the cookie ----------------------------------------------------------------------------------------
def sync_cookie() -> None:
    """At the end of a run: after a login, have the browser fetch its cookie from the app's route with the
    one-time code (the token itself never reaches the page); after a logout, have the route drop it.

    The script only posts to the route; the route answers with `Set-Cookie` (HttpOnly, so no script, this
    one included, can read the token)."""
    code = st.session_state.pop(_HANDOFF_KEY, None)
    clear = st.session_state.pop(_CLEAR_KEY, False)
    if code:
        route, body = COOKIE_ROUTE, code
    elif clear and _cookie_token_may_exist():
        route, body = LOGOUT_ROUTE, ""
    else:
        return
    st.html(f"<script>fetch({json.dumps(route)}, {{method: 'POST', credentials: 'same-origin', "
            f"headers: {{'Content-Type': 'text/plain'}}, body: {json.dumps(body)}}}).catch(() => {{}});</script>",
            unsafe_allow_javascript=True)


def _cookie_token_may_exist() -> bool:
    """Whether the browser may hold our cookie: it sent one, or this browser session logged in."""
    return bool(_cookie_token()) or st.session_state.get(_DIR_KEY) is not None
