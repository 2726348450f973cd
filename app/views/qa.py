"""Q&A: questions with their answers, by answerer (自分への質問), session and query; state in the URL."""

from __future__ import annotations

import kb_app
import kb_ui as ui
import streamlit as st

MAX_SHOWN = 50


def init_state() -> None:
    if not kb_app.enter_page("qa"):
        return
    p = st.query_params.to_dict()
    st.session_state.qa_answerer = str(p.get("answerer", ""))[:100]
    st.session_state.qa_q = str(p.get("q", ""))[:1000]
    sess = str(p.get("session", ""))
    st.session_state.qa_session = int(sess) if sess.isdigit() else None


def main() -> None:
    init_state()
    role = kb_app.current_role()
    st.header("Q&A（質問と回答）")
    titles = {si.number: si.label for si in kb_app.sessions(role)}
    c1, c2, c3 = st.columns([2, 1, 2])
    c1.text_input("回答した話者（自分への質問）", key="qa_answerer", placeholder="例：佐伯")
    options = sorted(set(titles) | ({st.session_state.qa_session} - {None}))
    c2.selectbox("回", [None, *options], key="qa_session",
                 format_func=lambda v: "すべての回" if v is None else titles.get(v, ui.session_label(v)))
    c3.text_input("キーワード", key="qa_q", placeholder="例：費用")
    answerer = st.session_state.qa_answerer.strip()
    session = st.session_state.qa_session
    query = st.session_state.qa_q.strip()
    st.query_params.from_dict({k: v for k, v in {"answerer": answerer, "q": query,
                                                  "session": str(session) if session else ""}.items() if v})
    pairs = kb_app.qa_pairs(role=role, answerer=answerer, session=session, query=query)
    st.subheader(f"{len(pairs)} 組")
    if not pairs:
        st.warning("条件に合う質問と回答は見つかりませんでした。")
        st.text("・回答した話者の名前は一部だけでも探せます（例：「佐伯」）。")
        st.text("・回やキーワードの指定を外してみてください。")
        if role == "public":
            st.text("・会員限定の質疑は、公開の閲覧では表示されません。")
        return
    if len(pairs) > MAX_SHOWN:
        st.caption(f"先頭の {MAX_SHOWN} 組を表示しています。条件を加えて絞り込んでください。")
    for i, p in enumerate(pairs[:MAX_SHOWN]):
        with st.container(border=True):
            st.html(ui.qa_pair_html(p))
            if st.button("文書で見る", key=f"qa-open-{i}"):
                st.switch_page(kb_app.PAGES["document"],
                               query_params={"doc": p.doc_id, "seg": str(p.question.order)})


main()
