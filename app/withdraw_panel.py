"""管理 › 発言の取り消し (事務局のみ): withdraw a turn or a part of it with a reason, list the withdrawals, restore.

The secretariat picks a document and a turn (shown with its original text), types the part to withdraw
(copied from the text; empty withdraws the whole turn) or its START:END, and a reason. The write goes through
`indexer.archive.redaction` as `kb redact` / `kb unredact` do (write lock, the record, the document re-indexed,
the audit log with the logged-in name), in a button callback before the page is drawn again.
"""

from __future__ import annotations

import kb_app
import kb_ui as ui
import streamlit as st

from indexer import KbError
from indexer.archive import redaction
from indexer.ingest import withdrawals


def _redact(turn_id: str, actor: str) -> None:
    """Button callback: withdraw through the archive; the result is shown when the page is drawn again."""
    ss = st.session_state
    span = ss.get("adm_wd_span", "").strip()
    try:
        w = redaction.redact(kb_app.data(), turn_id, ss.get("adm_wd_reason", ""),
                             span=redaction.parse_span(span) if span else None,
                             fragment=ss.get("adm_wd_text", "") if not span else "", actor=actor)
    except KbError as e:
        ss.adm_wd_result = ("failed", str(e))
    else:
        ss.adm_wd_result = ("done", f"取り消しました: {w.turn_id}（{w.span_label}、{len(w.text)} 文字）")
        ss.adm_wd_text, ss.adm_wd_span, ss.adm_wd_reason = "", "", ""
    finally:
        kb_app.forget_caches()


def _restore(turn_id: str, actor: str) -> None:
    """Button callback: restore every withdrawal of the turn."""
    ss = st.session_state
    try:
        gone = redaction.unredact(kb_app.data(), turn_id, actor=actor)
    except KbError as e:
        ss.adm_wd_result = ("failed", str(e))
    else:
        ss.adm_wd_result = ("done", f"元に戻しました: {turn_id}（{len(gone)} 件）")
    finally:
        ss.adm_wd_sure = False  # the next restoration asks again
        kb_app.forget_caches()


def _result() -> None:
    result = st.session_state.pop("adm_wd_result", None)
    if result is None:
        return
    if result[0] == "failed":
        st.error(ui.md_escape(result[1]) + "（何も変更していません）")
    else:
        st.success(ui.md_escape(result[1]))


def withdraw_form(actor: str) -> None:
    """Pick a document and a turn, then the part and the reason."""
    docs = kb_app.documents("secretariat")
    labels = {d.id: " ・ ".join(b for b in (d.id, ui.session_label(d.session), d.title) if b) for d in docs}
    doc_id = st.selectbox("文書", ["", *labels], key="adm_wd_doc", format_func=lambda v: labels.get(v, "（選んでください）"))
    if not doc_id:
        return
    doc = kb_app.document(doc_id, role="secretariat")
    if doc is None:
        st.warning("文書が見つかりません。")
        return
    mine = kb_app.withdrawn(doc_id, role="secretariat")
    texts = {s.order: withdrawals.original_text(s.text, mine[s.order]) if s.order in mine else s.text
             for s in doc.segments}
    turns = {s.order: f"#{s.order} {s.speaker or '（話者なし）'}：{texts[s.order][:40]}" for s in doc.segments}
    order = st.selectbox("発言", list(turns), key=f"adm_wd_turn:{doc_id}", format_func=turns.get)
    seg = next(s for s in doc.segments if s.order == order)
    turn_id = doc.segment_id(order)
    st.html(ui.table_html(["発言 ID", "本文（取り消し前。文字数）"], [[turn_id, f"{texts[order]}（{len(texts[order])} 文字）"]])
            + ui.withdrawn_html(mine.get(seg.order)))
    st.text_input("取り消す部分（本文からそのまま写す。空欄なら発言全体）", key="adm_wd_text")
    st.text_input("または範囲 START:END（文字の位置。0 から数え、END の文字は含まない）", key="adm_wd_span",
                  placeholder="例：12:30")
    st.text_input("理由（必須）", key="adm_wd_reason", max_chars=redaction.MAX_REASON)
    st.caption("取り消した部分は、事務局以外のすべての画面・検索・件数・集計・CSV・コマンドラインから消え、"
               "「（発言取り消し）」と表示されます。原本はそのまま残り、いつでも元に戻せます（監査ログに記録）。")
    st.button("取り消す", key="adm_wd_go", type="primary", on_click=_redact, args=(turn_id, actor))


def restore_form(items: list[withdrawals.Withdrawal], actor: str) -> None:
    """Choose a withdrawn turn, confirm, restore."""
    turns = sorted({w.turn_id for w in items})
    turn_id = st.selectbox("元に戻す発言", turns, key="adm_wd_restore_turn")
    sure = st.checkbox("この発言の取り消しをすべて元に戻してよい（本文が再び全員に表示されます）", key="adm_wd_sure")
    st.button("元に戻す", key="adm_wd_restore", disabled=not sure, on_click=_restore, args=(turn_id, actor))


def withdrawals_tab(actor: str) -> None:
    """The 管理 page's tab: the result of the last action, the form, the list with restore."""
    _result()
    st.markdown("**発言を取り消す**")
    withdraw_form(actor)
    st.markdown("**取り消した発言**")
    try:
        items = redaction.listing(kb_app.data())
    except KbError as e:
        st.error(ui.md_escape(str(e)))
        return
    if not items:
        st.info("取り消した発言はありません。")
        return
    st.html(ui.withdrawals_table_html(items))
    restore_form(items, actor)
