"""文書: a whole report or transcript as the viewer may see it, the hit turn first and highlighted.

The URL (`?doc=…&seg=…&q=…` plus the search's own parameters) reproduces the view; the back button
returns to the search it came from. Scrolling needs no script: the hit turn is shown first with a
link to its anchor in the full text.
"""

from __future__ import annotations

from dataclasses import replace

import kb_app
import kb_ui as ui
import streamlit as st

from indexer.search import browse


def pick_document(role: str) -> None:
    docs = kb_app.documents(kb_app.index_path(), kb_app.version(), role)
    if not docs:
        st.info("表示できる文書がありません。")
        return
    labels = {d.id: " ・ ".join(b for b in (ui.session_label(d.session), d.date, d.title or d.id) if b)
              for d in docs}
    choice = st.selectbox("文書を選んでください", ["", *labels], key="doc_pick",
                          format_func=lambda v: labels.get(v, "（選択してください）"))
    if choice:
        st.query_params.from_dict({"doc": choice})
        st.rerun()


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
    doc = kb_app.kb().document(state.doc, role)
    if doc is None:
        st.warning("文書が見つかりません。公開範囲の外にあるか、削除された可能性があります。")
        return
    st.html(ui.document_header_html(doc))
    links = {s.order: browse.qa_links(doc, s.order) for s in doc.segments if s.qa}
    hit = next((s for s in doc.segments if s.order == state.seg), None) if state.seg is not None else None
    if hit is not None:
        html = ui.turn_html(hit, hit.order, state.q)
        ql = links.get(hit.order)
        if ql is not None and ql.question is not None:
            html += ui.plain_turn_html(ql.question, "この回答への質問")
        for a in ql.answers if ql is not None else []:
            html += ui.plain_turn_html(a, "この質問への回答")
        html += f'<div><a href="#{ui.seg_anchor(hit.order)}">文書の中でこの発言の位置へ移動</a></div>'
        st.html(html)
    with st.container(border=True):
        st.html(ui.document_body_html(doc, hit.order if hit else None, state.q, links))


main()
