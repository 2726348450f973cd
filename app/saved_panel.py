"""保存した検索 on the search page: 「この検索を保存」, the start area with 「前回以降 N 件」, and the new hits only.

The library does the work (`indexer.archive.saved`, `visits`, `news`); this module only calls it and draws
Streamlit widgets (no HTML: labels are Markdown, escaped with `kb_ui.md_escape`).

- `note_visit()` runs on every page view of a logged-in account (from streamlit_app.py): a page view of the
  visit (`visits.record_visit`, marked with the login's token hash, so a new login starts a new visit).
- `start_area(role)`: each saved search as a button that runs it, its 「前回以降 N 件」 as a button that runs
  it on the new documents only, and 「削除」.
- `narrow(filters, state)`: the filters of the search on screen, narrowed to the new documents while the
  search shown is still the one clicked (any change of query or filter shows every hit again).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import auth
import kb_app
import kb_ui as ui
import streamlit as st

from indexer import Filters, KbError
from indexer.archive import news, saved, visits
from indexer.archive.accounts import Session

ONLY_KEY = "_kb_saved_only"  # {"sig": the search's signature, "doc_ids": [...], "name": ..., "new": N}
NOTE_KEY = "_kb_saved_note"  # a message for the next run (saved, removed, or why not)


def _account():
    return auth.current_account()


def note_visit() -> None:
    """A page view of the logged-in account (nothing for a public visitor)."""
    account = _account()
    session = st.session_state.get(auth.AUTH_KEY)
    if account is None or not isinstance(session, Session):
        return
    mark = hashlib.sha256(f"kb-visit|{session.token}".encode()).hexdigest()[:16]
    try:
        visits.record_visit(kb_app.data_dir(), account.name, login=mark)
    except KbError:
        pass  # a visit not written down only makes the next counts start earlier


def _signature(q: str, f: Filters) -> tuple:
    return q.strip(), tuple(f.sessions), f.date_from, f.date_to, f.doc_type, f.speaker.strip(), f.part


def _state_filters(state: ui.ViewState) -> Filters:
    return Filters(sessions=tuple(state.sessions), date_from=state.date_from, date_to=state.date_to,
                   doc_type=state.doc_type, speaker=state.speaker, part=state.part)


def narrow(filters: Filters, state: ui.ViewState) -> Filters:
    """`filters` limited to the new documents of the saved search clicked, while it is the search shown."""
    only = st.session_state.get(ONLY_KEY)
    if not only or only.get("sig") != _signature(state.q, _state_filters(state)):
        return filters
    return Filters(**{**{k: getattr(filters, k) for k in saved.FILTER_KEYS}, "doc_ids": tuple(only["doc_ids"])})


def only_banner(state: ui.ViewState) -> None:
    """When only the new hits are shown: say so, with a button showing every hit."""
    only = st.session_state.get(ONLY_KEY)
    if not only:
        return
    if only.get("sig") != _signature(state.q, _state_filters(state)):
        st.session_state.pop(ONLY_KEY, None)
        return
    st.info(f"保存した検索「{ui.md_escape(only['name'])}」の、前回の訪問以降に追加・差し替えられた文書の発言だけを"
            "表示しています。")
    st.button("すべての結果を表示", key="saved-show-all", on_click=st.session_state.pop, args=(ONLY_KEY, None))


def _note() -> None:
    kind, text = st.session_state.pop(NOTE_KEY, ("", ""))
    if kind == "ok":
        st.success(ui.md_escape(text))
    elif kind:
        st.error(ui.md_escape(text))


def _save(name: str, q: str, f: Filters) -> None:
    try:
        s = saved.add_search(kb_app.data_dir(), name, q, f)
        st.session_state[NOTE_KEY] = ("ok", f"検索を保存しました:「{s.name}」。検索ページの最初の画面に新着の件数が出ます。")
    except KbError as e:
        st.session_state[NOTE_KEY] = ("error", str(e))


def _saved_as(name: str, q: str, f: Filters) -> str:
    """The name under which this account saved this very search ("" when it did not)."""
    try:
        kept = saved.clean_filters(f)
        return next((s.name for s in saved.list_searches(kb_app.data_dir(), name)
                     if s.query == q.strip() and s.filters == kept), "")
    except KbError:
        return ""


def save_button(state: ui.ViewState) -> None:
    """「この検索を保存」 for a logged-in account with a query (the name is the query)."""
    account = _account()
    if account is not None and state.q.strip():
        same = _saved_as(account.name, state.q, _state_filters(state))
        if same:
            st.caption(f"この検索は「{ui.md_escape(same)}」として保存済みです。")
            _note()
            return
        st.button("この検索を保存", key="saved-add", icon=":material/bookmark_add:", on_click=_save,
                  args=(account.name, state.q, _state_filters(state)),
                  help="検索語と絞り込みを保存します。保存した検索は、検索語を入れる前の画面に前回以降の新着件数とともに並びます。")
    _note()


def _run(s: saved.SavedSearch, new_docs: tuple[str, ...]) -> None:
    """A saved search was clicked: put its query and filters in the widgets (and, for 前回以降, its new docs)."""
    ss, f = st.session_state, s.to_filters()
    # the page has no widget for a speaker's role (`kb saved add --speaker-role`): it goes into the query
    q = s.query + (f" speaker_role:{f.speaker_role}" if f.speaker_role and " " not in f.speaker_role else "")
    ss.q, ss.sessions, ss.doc_type, ss.speaker, ss.part = q, list(f.sessions), f.doc_type, f.speaker, f.part
    ss.date_from, ss.date_to = _date(f.date_from), _date(f.date_to)
    ss.page = 1
    ss.pop(ONLY_KEY, None)
    if new_docs:
        ss[ONLY_KEY] = {"sig": _signature(q, f), "doc_ids": list(new_docs), "name": s.name}


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _remove(name: str, key: str) -> None:
    try:
        s = saved.remove_search(kb_app.data_dir(), name, key)
        st.session_state[NOTE_KEY] = ("ok", f"保存した検索を削除しました:「{s.name}」")
    except KbError as e:
        st.session_state[NOTE_KEY] = ("error", str(e))


def _overview(name: str, role: str) -> list[news.SavedStatus]:
    """`news.overview`, cached until the index, the synonyms or the saved searches (and visits) change."""
    try:
        stamp = (kb_app.data_dir() / saved.SAVED_FILE).stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _cached_overview(kb_app.cache_key(), name, role, stamp)


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_overview(key: tuple, name: str, role: str, stamp: int) -> list[news.SavedStatus]:
    return news.overview(kb_app.data(), kb_app.kb(), name)


def start_area(role: str) -> None:
    """Before a query is typed: the account's saved searches with 「前回以降 N 件」 (nothing for the public)."""
    account = _account()
    if account is None:
        return
    _note()
    try:
        rows = _overview(account.name, account.role)
    except KbError as e:
        st.error(ui.md_escape(str(e)))
        return
    st.subheader("保存した検索", anchor=False)
    if not rows:
        st.caption("保存した検索はまだありません。検索したあと「この検索を保存」を押すと、ここに前回以降の新着件数とともに並びます。")
        return
    st.caption("前回以降: 前回の訪問（30 分以上あいだが空くか、ログインし直すと次の訪問）の始まり以降に追加・差し替えられた"
               "文書の発言の件数です。押すと、その新着だけを表示します。")
    for r in rows:
        s = r.search
        cond = news.describe_filters(s.filters)
        with st.container(border=True):
            c1, c2, c3 = st.columns([5, 2, 1], vertical_alignment="center")
            c1.button(ui.md_escape(s.name), key=f"saved-run-{s.id}", type="tertiary", on_click=_run, args=(s, ()),
                      help=f"検索語: {s.query}" + (f"（{cond}）" if cond else ""))
            c1.caption(ui.md_escape(f"検索語: {s.query}" + (f"（{cond}）" if cond else "")
                                    + (f" ・ 検索できません: {r.error}" if r.error else f" ・ 全 {r.total} 件")))
            c2.button(r.new_label, key=f"saved-new-{s.id}", type="primary" if r.new else "secondary",
                      disabled=not r.new, on_click=_run, args=(s, r.new_docs))
            c3.button("削除", key=f"saved-del-{s.id}", on_click=_remove, args=(account.name, s.id))
