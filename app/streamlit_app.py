"""研究会ナレッジベース検索: the Streamlit page (run with `kb serve`).

Thin page: read the widgets (state mirrored in the URL), call `indexer`, render. All searching,
filtering and visibility checks happen in `indexer.KnowledgeBase`. Everything rendered as HTML is
escaped in `kb_ui`; library snippets arrive already escaped.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from dataclasses import replace
from pathlib import Path

import streamlit as st

from indexer import Filters, Index, KbError, KnowledgeBase, default_index_dir
from indexer.models import PART_LABELS, ROLES, TYPE_LABELS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kb_ui as ui  # noqa: E402

log = logging.getLogger("kb.app")
TITLE = "研究会ナレッジベース検索"


@st.cache_resource(show_spinner=False)
def open_index(path: str) -> Index:
    """One Index per process and path (each search opens a fresh searcher, so new commits show)."""
    return Index(path)


def index_path() -> str:
    return str(Path(os.environ.get("KB_INDEX") or default_index_dir()).resolve())


# -- state ---------------------------------------------------------------------------------------
WIDGET_KEYS = ("q", "sessions", "date_from", "date_to", "doc_type", "speaker", "part", "sort", "size")


def init_state() -> None:
    """On a session's first run, fill the widgets from the URL."""
    if st.session_state.get("_kb_init"):
        return
    s = ui.state_from_params(st.query_params.to_dict())
    for key in WIDGET_KEYS:
        st.session_state[key] = getattr(s, key)
    st.session_state.page = s.page
    st.session_state.doc = s.doc
    st.session_state.seg = s.seg
    st.session_state.role = "public"
    st.session_state._kb_init = True


def selected_sessions() -> list[int]:
    return [v for v in st.session_state.get("sessions") or [] if isinstance(v, int)]


def current_state() -> ui.ViewState:
    ss = st.session_state
    return ui.ViewState(q=ss.q, page=ss.page, doc=ss.doc, seg=ss.seg, sessions=selected_sessions(),
                        date_from=ss.date_from.strip(), date_to=ss.date_to.strip(), doc_type=ss.doc_type,
                        speaker=ss.speaker.strip(), part=ss.part, sort=ss.sort, size=ss.size)


def open_doc(doc_id: str, order: int | None) -> None:
    st.session_state.doc = doc_id
    st.session_state.seg = order


def close_doc() -> None:
    st.session_state.doc = ""
    st.session_state.seg = None


def go_page(page: int) -> None:
    st.session_state.page = max(1, page)


# -- sidebar -------------------------------------------------------------------------------------
def sidebar(kb: KnowledgeBase) -> None:
    with st.sidebar:
        st.selectbox("閲覧者の種別（デモ：ログイン機能は準備中）", ROLES, key="role",
                     format_func=lambda r: ui.ROLE_LABELS.get(r, r))
        st.header("絞り込み")
        try:
            known = [int(s) for s in kb.stats(st.session_state.role)["sessions"] if str(s).isdigit()]
        except KbError:
            known = []
        options = sorted(set(known) | set(selected_sessions()))
        st.multiselect("回", options, key="sessions", format_func=ui.session_label, placeholder="すべての回")
        c1, c2 = st.columns(2)
        c1.text_input("期間（から）", key="date_from", placeholder="2025-01-01")
        c2.text_input("期間（まで）", key="date_to", placeholder="2025-12-31")
        st.selectbox("種類", ["", *TYPE_LABELS], key="doc_type",
                     format_func=lambda v: TYPE_LABELS.get(v, "すべて"))
        st.text_input("話者", key="speaker", placeholder="例：北条")
        st.selectbox("パート", ["", *PART_LABELS], key="part",
                     format_func=lambda v: PART_LABELS.get(v, "すべて"))
        st.header("表示")
        st.selectbox("並び順", list(ui.SORT_LABELS), key="sort", format_func=ui.SORT_LABELS.get)
        st.selectbox("1 ページの件数", list(ui.PAGE_SIZES), key="size")


def check_dates(state: ui.ViewState) -> bool:
    bad = [d for d in (state.date_from, state.date_to) if d and not ui.DATE_RE.fullmatch(d)]
    if bad:
        st.error("期間は 2025-06-17 のように YYYY-MM-DD の形で入力してください。")
    return not bad


# -- views ---------------------------------------------------------------------------------------
def search_view(kb: KnowledgeBase, state: ui.ViewState, role: str) -> None:
    if not state.q.strip():
        st.info("検索語を入力してください。例：内製化、ガバメントクラウド、「費用は下がったか」")
        try:
            stats = kb.stats(role)
            st.caption(f"検索できる文書 {int(stats['documents'])} 件・発言 {int(stats['turns'])} 件")
        except KbError as e:
            st.error(ui.md_escape(str(e)))
        return
    if not check_dates(state):
        return
    filters = Filters(sessions=state.sessions, date_from=state.date_from, date_to=state.date_to,
                      doc_type=state.doc_type, speaker=state.speaker, part=state.part)
    res = kb.search(state.q, filters, role=role, page=state.page, page_size=state.size, sort=state.sort)
    pages = max(1, math.ceil(res.total / state.size))
    if res.total and state.page > pages:
        go_page(pages)
        res = kb.search(state.q, filters, role=role, page=pages, page_size=state.size, sort=state.sort)

    st.subheader(f"{res.total} 件")
    if res.message:
        st.info(ui.md_escape(res.message))
    if res.total == 0:
        st.warning("検索語に一致する発言は見つかりませんでした。次のことを試してみてください。")
        for tip in ui.empty_result_tips(state, role):
            st.text(f"・{tip}")
        return
    with st.expander("件数の内訳（回・話者・種類・パート）"):
        st.html(ui.facets_html(res.facets))

    first = (res.page - 1) * res.page_size + 1
    st.caption(f"{first}〜{first + len(res.hits) - 1} 件目を表示（{res.page} / {pages} ページ）")
    for hit in res.hits:
        with st.container(border=True):
            st.html(ui.hit_header_html(hit))
            st.html(ui.snippet_html(hit))
            st.button("文書を開く", key=f"open-{hit.id}", on_click=open_doc, args=(hit.doc_id, hit.order))
    pager(res.page, pages)


def pager(page: int, pages: int) -> None:
    if pages <= 1:
        return
    c1, c2, c3 = st.columns([1, 2, 1])
    c1.button("← 前へ", key="prev", disabled=page <= 1, on_click=go_page, args=(page - 1,))
    c2.caption(f"{page} / {pages} ページ")
    c3.button("次へ →", key="next", disabled=page >= pages, on_click=go_page, args=(page + 1,))


def document_view(kb: KnowledgeBase, state: ui.ViewState, role: str) -> None:
    st.button("← 検索結果に戻る", key="back", on_click=close_doc)
    doc = kb.document(state.doc, role)
    if doc is None:
        st.warning("文書が見つかりません。")
        return
    st.html(ui.document_header_html(doc))
    hit_seg = next((s for s in doc.segments if s.order == state.seg), None) if state.seg is not None else None
    if hit_seg is not None:
        st.html(ui.turn_html(hit_seg, hit_seg.order, state.q)
                + f'<div><a href="#{ui.seg_anchor(hit_seg.order)}">文書の中でこの発言の位置へ移動</a></div>')
    with st.container(border=True):
        st.html(ui.document_body_html(doc, hit_seg.order if hit_seg else None, state.q))


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon="🔎", layout="wide")
    init_state()
    st.title(TITLE)
    st.html(ui.CSS)
    try:
        index = open_index(index_path())
    except KbError as e:
        st.error("索引を開けません。事務局の方は `kb index corpus` を実行して索引を作成してください。")
        st.caption(ui.md_escape(str(e)))
        return
    kb = KnowledgeBase(index)
    try:
        sidebar(kb)
        role = st.session_state.role
        st.text_input("検索語", key="q", placeholder="例：内製化　ガバメントクラウド　speaker:北条")
        state = current_state()
        # A new query, filter, order, page size or role starts again at page 1.
        signature = (state.q, tuple(state.sessions), state.date_from, state.date_to, state.doc_type,
                     state.speaker, state.part, state.sort, state.size, role)
        if st.session_state.get("_kb_sig") not in (None, signature):
            st.session_state.page = 1
            state = replace(state, page=1)
        st.session_state._kb_sig = signature
        if state.doc:
            document_view(kb, state, role)
        else:
            search_view(kb, state, role)
    except KbError as e:
        st.error(ui.md_escape(str(e)))
    except Exception:  # never show a traceback to members
        log.exception("unexpected error")
        st.error("予期しないエラーが発生しました。時間をおいてもう一度お試しください。続く場合は事務局にご連絡ください。")
    finally:
        st.query_params.from_dict(ui.params_from_state(current_state()))


main()
