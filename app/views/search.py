"""検索: query, filters with clickable facet counts, ranked hits, paging, related turns, CSV export.

Every piece of state is mirrored in the URL, so a copied link reproduces the search. A turn the session
holds twice (subtitles and transcript) is shown once on a page, naming the other record.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import kb_app
import kb_ui as ui
import saved_panel
import streamlit as st

from indexer import Filters, KbError
from indexer.models import PART_LABELS, TYPE_LABELS
from indexer.search import browse

#: The date picker's range (the study group's archive; nothing is dated outside it).
DATE_MIN, DATE_MAX = dt.date(2000, 1, 1), dt.date(2100, 12, 31)

WIDGET_KEYS = ("q", "sessions", "date_from", "date_to", "doc_type", "speaker", "part", "sort", "size")


def init_state() -> None:
    """On entering the page, fill the widgets from the URL (or the last search of this session)."""
    if not kb_app.enter_page("search"):
        return
    params = st.query_params.to_dict() or st.session_state.get("_kb_search_params") or {}
    s = ui.state_from_params(params)
    for key in WIDGET_KEYS:
        st.session_state[key] = getattr(s, key)
    st.session_state.date_from = _date(s.date_from)
    st.session_state.date_to = _date(s.date_to)
    st.session_state.page = s.page
    st.session_state.rel = s.rel
    st.session_state["_kb_sig"] = None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else ""


def selected_sessions() -> list[int]:
    return [v for v in st.session_state.get("sessions") or [] if isinstance(v, int)]


def current_state() -> ui.ViewState:
    ss = st.session_state
    return ui.ViewState(q=ss.q, page=ss.page, sessions=selected_sessions(), date_from=_iso(ss.date_from),
                        date_to=_iso(ss.date_to), doc_type=ss.doc_type, speaker=ss.speaker.strip(),
                        part=ss.part, sort=ss.sort, size=ss.size, rel=ss.get("rel", ""))


def go_page(page: int) -> None:
    st.session_state.page = max(1, page)


def toggle_related(hit_id: str) -> None:
    st.session_state.rel = "" if st.session_state.get("rel") == hit_id else hit_id


def open_document(state: ui.ViewState, doc_id: str, order: int | None) -> None:
    params = ui.params_from_state(replace(state, doc=doc_id, seg=order, rel=""))
    st.switch_page(kb_app.PAGES["document"], query_params=params)


def session_titles(role: str) -> dict[int, str]:
    """第N回 and its title (from the catalogue), for the 回 list and the facet counts."""
    return {s.number: s.label for s in kb_app.sessions(role)}


def sidebar(role: str) -> None:
    with st.sidebar:
        st.header("絞り込み")
        titles = session_titles(role)
        options = sorted(set(titles) | set(selected_sessions()))
        st.multiselect("回", options, key="sessions", format_func=lambda n: titles.get(n, ui.session_label(n)),
                       placeholder="すべての回", select_all=False)
        st.date_input("期間（から）", key="date_from", min_value=DATE_MIN, max_value=DATE_MAX, format="YYYY/MM/DD",
                      help="この日以降の回だけを検索します。空欄なら指定なし。")
        st.date_input("期間（まで）", key="date_to", min_value=DATE_MIN, max_value=DATE_MAX, format="YYYY/MM/DD",
                      help="この日までの回だけを検索します。空欄なら指定なし。")
        st.selectbox("種類", ["", *TYPE_LABELS], key="doc_type", format_func=lambda v: TYPE_LABELS.get(v, "すべて"),
                     placeholder="選んでください")
        st.text_input("話者", key="speaker", placeholder="例：北条")
        st.selectbox("パート", ["", *PART_LABELS], key="part", format_func=lambda v: PART_LABELS.get(v, "すべて"),
                     placeholder="選んでください")
        st.header("表示")
        st.selectbox("並び順", list(ui.SORT_LABELS), key="sort", format_func=ui.SORT_LABELS.get, placeholder="選んでください")
        st.selectbox("1 ページの件数", list(ui.PAGE_SIZES), key="size", placeholder="選んでください")


def check_dates(state: ui.ViewState) -> bool:
    if state.date_from and state.date_to and state.date_from > state.date_to:
        st.error("期間の「から」が「まで」より後の日付になっています。日付を入れ替えてください。")
        return False
    return True


def filters_of(state: ui.ViewState) -> Filters:
    return Filters(sessions=tuple(state.sessions), date_from=state.date_from, date_to=state.date_to,
                   doc_type=state.doc_type, speaker=state.speaker, part=state.part)


def run_search(state: ui.ViewState, role: str, page: int):
    return kb_app.search(state.q, saved_panel.narrow(filters_of(state), state), role=role, page=page,
                         size=state.size, sort=state.sort)


def apply_facet(key: str, value: str) -> None:
    """A facet count was clicked: filter by it (or, when it is the filter already, remove the filter)."""
    ss = st.session_state
    if key == "session":
        n = int(value)
        ss.sessions = [] if selected_sessions() == [n] else [n]
    elif key == "speaker":
        ss.speaker = "" if ss.speaker.strip() == value else value
    else:
        ss[key] = "" if ss[key] == value else value


def facet_filters(res, state: ui.ViewState, role: str) -> None:
    """The counts of the whole result, by 回・話者・種類・パート; each count is a filter to click (as NDL's)."""
    titles = session_titles(role)
    active = {"session": [str(n) for n in state.sessions], "speaker": [state.speaker], "doc_type": [state.doc_type],
              "part": [state.part]}
    with st.sidebar:
        st.header("件数で絞り込む")
        st.caption("件数を押すと、その条件で絞り込みます（もう一度押すと解除）。")
        for key, heading in ui.FACET_GROUPS:
            items = ui.facet_items(res.facets, key, titles)
            if not items:
                continue
            st.markdown(f"**{ui.md_escape(heading)}**")
            for value, label, count in items:
                on = value in active[key]
                st.button(f"{'✓ ' if on else ''}{ui.md_escape(label)}（{count} 件）", key=f"facet-{key}-{value}",
                          type="tertiary", on_click=apply_facet, args=(key, value))


def related_block(state: ui.ViewState, hit, role: str) -> None:
    rel = kb_app.related(hit.id, role=role)
    with st.container(border=True):
        st.markdown("**関連する議論**")
        if not rel:
            st.caption("関連する発言は見つかりませんでした。")
        for r in rel:
            st.html(ui.related_html(r))
            if st.button("この発言を文書で開く", key=f"relopen-{hit.id}-{r.id}"):
                open_document(state, r.doc_id, r.order)


def search_view(state: ui.ViewState, role: str) -> None:
    if not state.q.strip():
        st.info("検索語を入力してください。例：内製化、ガバメントクラウド、「費用は下がったか」")
        try:
            stats = kb_app.stats(role)
            st.caption(f"検索できる文書 {int(stats['documents'])} 件・発言 {int(stats['turns'])} 件")
        except KbError as e:
            st.error(ui.md_escape(str(e)))
        saved_panel.start_area(role)  # 保存した検索 and their 「前回以降 N 件」
        return
    if not check_dates(state):
        return
    saved_panel.only_banner(state)
    res = run_search(state, role, state.page)
    pages = max(1, math.ceil(res.total / state.size))
    if res.total and state.page > pages:
        go_page(pages)
        res = run_search(state, role, pages)

    st.subheader(res.counts, anchor=False)
    if res.message:
        st.info(ui.md_escape(res.message))
    if res.suggestions:
        st.caption("次の検索語なら見つかります（押すと検索します）。")
        cols = st.columns(min(4, len(res.suggestions)))
        for i, q in enumerate(res.suggestions[:8]):
            cols[i % len(cols)].button(ui.md_escape(q), key=f"suggest-{i}", on_click=set_query, args=(q,))
    if res.total == 0:
        st.warning("検索語に一致する発言は見つかりませんでした。次のことを試してみてください。")
        for tip in ui.empty_result_tips(state, role):
            st.text(f"・{tip}")
        return
    facet_filters(res, state, role)
    first = (res.page - 1) * res.page_size + 1
    st.caption(f"{first}〜{first + len(res.hits) - 1} 件目を表示（{res.page} / {pages} ページ）")
    # A turn the session holds twice is shown once (naming the other record); consecutive hits of one
    # document fold under the first (the library's groups).
    shown = {h.id: (h, copies) for h, copies in browse.fold_hits(res.hits)}
    for group in res.groups:
        members = [shown[i] for i in (group.lead, *group.others) if i in shown]
        if not members:
            continue
        hit_block(state, role, *members[0])
        if len(members) > 1:
            with st.expander(f"同じ文書のほか {len(members) - 1} 件"):
                for hit, copies in members[1:]:
                    hit_block(state, role, hit, copies)
    pager(res.page, pages)
    c1, c2 = st.columns([1, 1])
    shown = saved_panel.narrow(filters_of(state), state)  # the CSV holds what the page lists (a saved search's 新着 only)
    c1.download_button("検索結果を CSV でダウンロード", key="csv", file_name="search-results.csv",
                       mime="text/csv", on_click="ignore",
                       data=lambda: kb_app.results_csv(state.q, shown, role=role, sort=state.sort))
    c2.page_link(kb_app.PAGES["trend"], label="この語の推移を見る", icon=":material/trending_up:", query_params={"q": state.q})


def set_query(q: str) -> None:
    st.session_state.q = q


def hit_block(state: ui.ViewState, role: str, hit, copies) -> None:
    with st.container(border=True):
        st.html(ui.hit_html(hit, copies, state.q)
                + ui.hit_followups_html(hit.followups)  # ほかの回でも
                + ui.withdrawn_html(kb_app.withdrawn(hit.doc_id, role=role).get(hit.order)))  # 事務局のみ
        b1, b2 = st.columns([1, 1])
        if b1.button("文書を開く", key=f"open-{hit.id}"):
            open_document(state, hit.doc_id, hit.order)
        b2.button("関連する議論を隠す" if state.rel == hit.id else "関連する議論", key=f"rel-{hit.id}",
                  on_click=toggle_related, args=(hit.id,))
        if state.rel == hit.id:
            related_block(state, hit, role)


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
    saved_panel.save_button(state)
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
