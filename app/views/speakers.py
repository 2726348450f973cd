"""話者: every speaker the viewer may see, with sessions, documents and turn counts."""

from __future__ import annotations

import kb_app
import kb_ui as ui
import streamlit as st


def main() -> None:
    kb_app.enter_page("speakers")
    role = kb_app.current_role()
    st.header("話者一覧")
    if "spk_filter" not in st.session_state:
        st.session_state.spk_filter = str(st.query_params.get("name", ""))[:100]
    needle = st.text_input("名前で絞り込み", key="spk_filter", placeholder="例：北条").strip()
    st.query_params.from_dict({"name": needle} if needle else {})
    rows = kb_app.speakers(role)
    shown = [s for s in rows if needle in s.name or any(needle in r for r in s.roles)] if needle else rows
    st.caption(f"話者 {len(shown)} 人（発言数は閲覧できる発言だけを数えています）")
    if not shown:
        st.warning("該当する話者はいません。名前の一部だけで試してみてください。")
        return
    st.html(ui.table_html(["話者", "役職", "発言数", "出席した回", "文書数"],
                          [[s.name, "・".join(s.roles), s.turns, ui.sessions_text(s.sessions), s.documents]
                           for s in shown]))


main()
