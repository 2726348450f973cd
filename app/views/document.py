"""文書: a whole report or transcript as the viewer may see it, the hit turn pinned on top and highlighted.

The URL (`?doc=…&seg=…&q=…` plus the search's own parameters) reproduces the view; the back button
returns to the search it came from. The pinned copy of the hit turn carries no element id, the turn
in the text does (`seg-NNNN`), so "文書の中でこの発言の位置へ移動" lands in the text. "前の該当箇所" /
"次の該当箇所" step through the turns of this document that match the query (the URL follows), and
"この発言へのリンクをコピー" copies the URL of the shown turn. Turns the session holds twice (subtitles and
transcript) name the other record under the turn.
"""

from __future__ import annotations

from dataclasses import replace

import kb_app
import kb_ui as ui
import streamlit as st

from indexer import KbError
from indexer.search import browse


def pick_document(role: str) -> None:
    docs = kb_app.documents(role)
    if not docs:
        st.info("表示できる文書がありません。")
        return
    labels = {d.id: " ・ ".join(b for b in (ui.session_label(d.session), d.date, d.title or d.id) if b)
              for d in docs}
    choice = st.selectbox("文書を選んでください", ["", *labels], key="doc_pick",
                          format_func=lambda v: labels.get(v, "（選択してください）"),
                          placeholder="文書を選んでください")
    if choice:
        st.query_params.from_dict({"doc": choice})
        st.rerun()


def go_to_turn(order: int) -> None:
    """next/previous hit: show that turn (the URL follows) and bring it into view in the text."""
    st.query_params["seg"] = str(int(order))
    st.session_state["_kb_doc_scroll"] = (int(order), st.session_state.get("_kb_doc_scroll", (0, 0))[1] + 1)


def hit_controls(state: ui.ViewState, matches: list[int], hit) -> None:
    """前の該当箇所 / 該当箇所 n / N / 次の該当箇所, and the copy-link button of the shown turn."""
    current = hit.order if hit is not None else None
    before, after = ui.neighbour_hits(matches, current)
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2], vertical_alignment="center")
    c1.button("↑ 前の該当箇所", key="hit_prev", disabled=before is None, on_click=go_to_turn, args=(before,),
              width="stretch")
    c2.caption(ui.hit_position_text(matches, current) if state.q.strip() else "検索語なしで表示しています")
    c3.button("次の該当箇所 ↓", key="hit_next", disabled=after is None, on_click=go_to_turn, args=(after,),
              width="stretch")
    if hit is not None:
        with c4:
            st.html(ui.copy_link_html(ui.doc_href(state.doc, hit.order, state.q)), unsafe_allow_javascript=True)


def main() -> None:
    kb_app.enter_page("document")
    role = kb_app.current_role()
    state = ui.state_from_params(st.query_params.to_dict())
    if not state.doc:
        pick_document(role)
        return
    back = ui.params_from_state(replace(state, doc="", seg=None))
    if st.button("← 検索結果に戻る", key="back"):
        st.switch_page(kb_app.PAGES["search"], query_params=back)
    doc = kb_app.document(state.doc, role=role)
    if doc is None:
        st.warning("文書が見つかりません。公開範囲の外にあるか、削除された可能性があります。")
        return
    st.html(ui.document_header_html(doc))
    links = {s.order: browse.qa_links(doc, s.order) for s in doc.segments if s.qa}
    copies = kb_app.copies_in_session(doc, role=role)
    try:
        matches = kb_app.matching_turns(doc, state.q, role=role)
    except KbError:
        matches = []
    hit = next((s for s in doc.segments if s.order == state.seg), None) if state.seg is not None else None
    hit_controls(state, matches, hit)
    cites = kb_app.turn_links(doc)  # ▶ h:mm:ss and 引用をコピー beside each turn
    follow = kb_app.followups_of(doc, role=role)  # 「第5回でも議論: …」 under a turn
    if hit is not None:
        ql = links.get(hit.order)
        st.html(ui.pinned_turn_html(hit, state.q, ql.question if ql else None, ql.answers if ql else (),
                                    copies.get(hit.order, ()), cites.get(hit.order))
                + ui.followups_html(follow.get(hit.order), state.q))
    with st.container(border=True):
        st.html(ui.document_body_html(doc, hit.order if hit else None, state.q, links, matches, copies, cites,
                                      withdrawn=kb_app.withdrawn(doc.id, role=role), followups=follow))
    scroll = st.session_state.pop("_kb_doc_scroll", None)
    if scroll is not None and hit is not None and scroll[0] == hit.order:
        st.session_state["_kb_doc_scroll"] = (0, scroll[1])  # keep the counter, not the request
        st.html(ui.scroll_to_turn_html(hit.order, scroll[1]), unsafe_allow_javascript=True)


main()
