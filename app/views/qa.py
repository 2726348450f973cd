"""Q&A: questions with their answers, by answerer (自分への質問), session and query; state in the URL.

An account linked to a speaker (`kb user link`, 管理 → アカウント) sees its own questions first: entering the page
without a query string fills 「回答した話者」 with that speaker, and a button does it again. The answerer may be
typed as a part of the name or its reading in kana (さえき → 佐伯一郎: `indexer.search.people`). When the answerer
names one speaker, that speaker's turns are listed too (speaker names elsewhere link here: `kb_ui.speaker_link_html`).
"""

from __future__ import annotations

import auth
import kb_app
import kb_ui as ui
import streamlit as st

from indexer.search import people

MAX_SHOWN = 50
MAX_TURNS = 100


def init_state(own_speaker: str) -> None:
    if not kb_app.enter_page("qa"):
        return
    p = st.query_params.to_dict()
    answerer = str(p.get("answerer", ""))[:100]
    st.session_state.qa_answerer = answerer or (own_speaker if not p else "")
    st.session_state.qa_q = str(p.get("q", ""))[:1000]
    sess = str(p.get("session", ""))
    st.session_state.qa_session = int(sess) if sess.isdigit() else None


def show_mine(speaker: str) -> None:
    st.session_state.qa_answerer = speaker


def speaker_turns(name: str, role: str) -> None:
    turns = people.speaker_turns(kb_app.kb(), name, role, limit=MAX_TURNS + 1)
    count = f"{MAX_TURNS} 件以上" if len(turns) > MAX_TURNS else f"{len(turns)} 件"
    with st.expander(f"{name} の発言（{count}）"):
        if not turns:
            st.caption("閲覧できる発言はありません。")
        for i, t in enumerate(turns[:MAX_TURNS]):
            meta = " ・ ".join(b for b in (ui.session_label(t.session), t.date, t.title) if b)
            st.caption(meta)
            st.text(t.text if len(t.text) <= 300 else t.text[:300] + "…")
            if st.button("文書で見る", key=f"qa-turn-{i}"):
                st.switch_page(kb_app.PAGES["document"], query_params={"doc": t.doc_id, "seg": str(t.order)})


def main() -> None:
    account = auth.current_account()
    own = account.speaker if account is not None else ""
    init_state(own)
    role = kb_app.current_role()
    st.header("Q&A（質問と回答）")
    if own:
        c1, c2 = st.columns([3, 1])
        c1.caption(f"このアカウントは話者「{ui.md_escape(own)}」に結び付けられています。")
        c2.button("自分への質問", key="qa_mine", on_click=show_mine, args=(own,), icon=":material/person:")
    titles = {si.number: si.label for si in kb_app.sessions(role)}
    c1, c2, c3 = st.columns([2, 1, 2])
    c1.text_input("回答した話者（自分への質問）", key="qa_answerer", placeholder="例：佐伯、さえき")
    options = sorted(set(titles) | ({st.session_state.qa_session} - {None}))
    c2.selectbox("回", [None, *options], key="qa_session",
                 format_func=lambda v: "すべての回" if v is None else titles.get(v, ui.session_label(v)))
    c3.text_input("キーワード", key="qa_q", placeholder="例：費用")
    answerer = st.session_state.qa_answerer.strip()
    session = st.session_state.qa_session
    query = st.session_state.qa_q.strip()
    st.query_params.from_dict({k: v for k, v in {"answerer": answerer, "q": query,
                                                  "session": str(session) if session else ""}.items() if v})
    names = people.matching_speakers([s.name for s in kb_app.speakers(role)], answerer) if answerer else []
    if answerer and own and answerer == own:
        st.caption(f"自分への質問（{ui.md_escape(own)} が回答した質問）を表示しています。"
                   "欄を空にすると、すべての質問を表示します。")
    elif names:
        st.caption("該当する話者: " + ui.md_escape("、".join(names[:20])))
    if len(names) == 1:
        speaker_turns(names[0], role)
    pairs = kb_app.qa_pairs(role=role, answerer=answerer, session=session, query=query)
    st.subheader(f"{len(pairs)} 組")
    if not pairs:
        st.warning("条件に合う質問と回答は見つかりませんでした。")
        st.text("・回答した話者の名前は一部や読みだけでも探せます（例：「佐伯」「さえき」）。")
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
