"""検索: query, filters with facet counts, ranked hits, paging, related turns, CSV export.

Every piece of state is mirrored in the URL, so a copied link reproduces the search.
"""

from __future__ import annotations

import math
from dataclasses import replace
from html import escape

import kb_app
import kb_ui as ui
import streamlit as st

from indexer import Filters, KbError
from indexer.models import PART_LABELS, TYPE_LABELS
from indexer.search import browse

WIDGET_KEYS = ("q", "sessions", "date_from", "date_to", "doc_type", "speaker", "part", "sort", "size")


def init_state() -> None:
    """On entering the page, fill the widgets from the URL (or the last search of this session)."""
    if not kb_app.enter_page("search"):
        return
    params = st.query_params.to_dict() or st.session_state.get("_kb_search_params") or {}
    s = ui.state_from_params(params)
    for key in WIDGET_KEYS:
        st.session_state[key] = getattr(s, key)
    st.session_state.page = s.page
    st.session_state.rel = s.rel
    st.session_state["_kb_sig"] = None


def selected_sessions() -> list[int]:
    return [v for v in st.session_state.get("sessions") or [] if isinstance(v, int)]


def current_state() -> ui.ViewState:
    ss = st.session_state
    return ui.ViewState(q=ss.q, page=ss.page, sessions=selected_sessions(), date_from=ss.date_from.strip(),
                        date_to=ss.date_to.strip(), doc_type=ss.doc_type, speaker=ss.speaker.strip(),
                        part=ss.part, sort=ss.sort, size=ss.size, rel=ss.get("rel", ""))


def go_page(page: int) -> None:
    st.session_state.page = max(1, page)


def toggle_related(hit_id: str) -> None:
    st.session_state.rel = "" if st.session_state.get("rel") == hit_id else hit_id


def open_document(state: ui.ViewState, doc_id: str, order: int | None) -> None:
    params = ui.params_from_state(replace(state, doc=doc_id, seg=order, rel=""))
    st.switch_page(kb_app.PAGES["document"], query_params=params)


def sidebar(role: str) -> None:
    with st.sidebar:
        st.header("絞り込み")
        known = kb_app.known_sessions(role)
        options = sorted(set(known) | set(selected_sessions()))
        st.multiselect("回", options, key="sessions", format_func=ui.session_label, placeholder="すべての回")
        c1, c2 = st.columns(2)
        c1.text_input("期間（から）", key="date_from", placeholder="2025-01-01")
        c2.text_input("期間（まで）", key="date_to", placeholder="2025-12-31")
        st.selectbox("種類", ["", *TYPE_LABELS], key="doc_type", format_func=lambda v: TYPE_LABELS.get(v, "すべて"))
        st.text_input("話者", key="speaker", placeholder="例：北条")
        st.selectbox("パート", ["", *PART_LABELS], key="part", format_func=lambda v: PART_LABELS.get(v, "すべて"))
        st.header("表示")
        st.selectbox("並び順", list(ui.SORT_LABELS), key="sort", format_func=ui.SORT_LABELS.get)
        st.selectbox("1 ページの件数", list(ui.PAGE_SIZES), key="size")


def check_dates(state: ui.ViewState) -> bool:
    bad = [d for d in (state.date_from, state.date_to) if d and not ui.DATE_RE.fullmatch(d)]
    if bad:
        st.error("期間は 2025-06-17 のように YYYY-MM-DD の形で入力してください。")
    return not bad


def filters_of(state: ui.ViewState) -> Filters:
    return Filters(sessions=state.sessions, date_from=state.date_from, date_to=state.date_to,
                   doc_type=state.doc_type, speaker=state.speaker, part=state.part)


def run_search(state: ui.ViewState, role: str, page: int):
    return kb_app.search(kb_app.index_path(), kb_app.version(), state.q, kb_app.filters_tuple(filters_of(state)),
                         role, page, state.size, state.sort)


def related_block(state: ui.ViewState, hit, role: str) -> None:
    rel = kb_app.related(kb_app.index_path(), kb_app.version(), hit.id, role)
    with st.container(border=True):
        st.markdown("**関連する議論**")
        if not rel:
            st.caption("関連する発言は見つかりませんでした。")
        for r in rel:
            st.html(ui.hit_header_html(r))
            st.html(f'<div class="kb-snippet">{escape(r.text[:200] + ("…" if len(r.text) > 200 else ""))}</div>')
            if st.button("この発言を文書で開く", key=f"relopen-{hit.id}-{r.id}"):
                open_document(state, r.doc_id, r.order)


def search_view(state: ui.ViewState, role: str) -> None:
    if not state.q.strip():
        st.info("検索語を入力してください。例：内製化、ガバメントクラウド、「費用は下がったか」")
        try:
            stats = kb_app.stats(kb_app.index_path(), kb_app.version(), role)
            st.caption(f"検索できる文書 {int(stats['documents'])} 件・発言 {int(stats['turns'])} 件")
        except KbError as e:
            st.error(ui.md_escape(str(e)))
        return
    if not check_dates(state):
        return
    res = run_search(state, role, state.page)
    pages = max(1, math.ceil(res.total / state.size))
    if res.total and state.page > pages:
        go_page(pages)
        res = run_search(state, role, pages)

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
    c1, c2 = st.columns([1, 1])
    c1.download_button("検索結果を CSV でダウンロード", key="csv", file_name="search-results.csv",
                       mime="text/csv", on_click="ignore",
                       data=lambda: browse.results_csv(kb_app.kb(), state.q, filters_of(state), role,
                                                       state.sort).encode("utf-8-sig"))
    c2.page_link(kb_app.PAGES["trend"], label="この語の推移を見る", icon=":material/trending_up:", query_params={"q": state.q})

    first = (res.page - 1) * res.page_size + 1
    st.caption(f"{first}〜{first + len(res.hits) - 1} 件目を表示（{res.page} / {pages} ページ）")
    for hit in res.hits:
        with st.container(border=True):
            st.html(ui.hit_header_html(hit))
            st.html(ui.snippet_html(hit))
            b1, b2 = st.columns([1, 1])
            if b1.button("文書を開く", key=f"open-{hit.id}"):
                open_document(state, hit.doc_id, hit.order)
            b2.button("関連する議論を隠す" if state.rel == hit.id else "関連する議論", key=f"rel-{hit.id}",
                      on_click=toggle_related, args=(hit.id,))
            if state.rel == hit.id:
                related_block(state, hit, role)
    pager(res.page, pages)


def pager(page: int, pages: int) -> None:
    if pages <= 1:
        return
    c1, c2, c3 = st.columns([1, 2, 1])
    c1.button("← 前へ", key="prev", disabled=page <= 1, on_click=go_page, args=(page - 1,))
    c2.caption(f"{page} / {pages} ページ")
    c3.button("次へ →", key="next", disabled=page >= pages, on_click=go_page, args=(page + 1,))


def main() -> None:
    init_state()
    role = kb_app.current_role()
    sidebar(role)
    st.text_input("検索語", key="q", placeholder="例：内製化　ガバメントクラウド　speaker:北条")
    state = current_state()
    # A new query, filter, order, page size or role starts again at page 1 (and closes related turns).
    signature = (state.q, tuple(state.sessions), state.date_from, state.date_to, state.doc_type,
                 state.speaker, state.part, state.sort, state.size, role)
    if st.session_state.get("_kb_sig") not in (None, signature):
        st.session_state.page = 1
        st.session_state.rel = ""
        state = replace(state, page=1, rel="")
    st.session_state["_kb_sig"] = signature
    save_url()
    search_view(state, role)  # may switch to the document page (which then owns the URL)
    save_url()


def save_url() -> None:
    params = ui.params_from_state(current_state())
    st.session_state["_kb_search_params"] = params
    st.query_params.from_dict(params)


main()
