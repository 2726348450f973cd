"""推移: how often a query comes up in each session over time, and who spoke about it.

The chart has one horizontal bar per session, labelled 第N回 (short, never rotated or cut), in date order
from the top; the date and the session's title are in the tooltip and in the table beside it.
"""

from __future__ import annotations

import kb_app
import kb_ui as ui
import pandas as pd
import streamlit as st


def main() -> None:
    if kb_app.enter_page("trend"):
        last = (st.session_state.get("_kb_search_params") or {}).get("q", "")
        st.session_state.trend_q = str(st.query_params.get("q", "") or last)[:1000]
    role = kb_app.current_role()
    st.header("話題の推移")
    q = st.text_input("検索語", key="trend_q", placeholder="例：内製化").strip()
    st.query_params.from_dict({"q": q} if q else {})
    if not q:
        st.info("検索語を入力すると、回ごとの発言数の推移と、その話題を話した人を表示します。")
        return
    t = kb_app.trend(q, role=role)
    st.subheader(f"「{q}」を含む発言 {t.total} 件")
    if t.message:
        st.info(ui.md_escape(t.message))
    if not t.points or t.total == 0:
        st.warning("この語を含む発言は見つかりませんでした。別の言い方や、語を減らして試してみてください。")
        return
    titles = {s.number: s.title for s in kb_app.sessions(role)}
    df = pd.DataFrame({"回": [ui.session_label(p.session) for p in t.points],
                       "日付": [p.date or "不明" for p in t.points],
                       "テーマ": [titles.get(p.session, "") or "—" for p in t.points],
                       "発言数": [p.count for p in t.points]})
    st.vega_lite_chart(df, ui.trend_chart_spec(len(df)), width="stretch")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**回ごとの発言数**")
        st.html(ui.table_html(["回", "日付", "発言数"],
                              [[ui.session_label(p.session), p.date, p.count] for p in t.points]))
    with c2:
        st.markdown("**この話題を話した人**")
        st.html(ui.table_html(["話者", "発言数"], [[n, c] for n, c in t.speakers]))


main()
