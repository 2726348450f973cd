"""管理 (事務局のみ): upload and publish documents, replace or remove them, synonyms, rebuild.

Uploads are written only under the managed data directory (`Index.data_dir / "uploads"`) with the
name `indexer.uploads.safe_filename` gives; parsing, visibility and writing happen in `indexer`.
The page is registered only for the secretariat and checks the role again itself. Every change is
written to the audit log (`indexer.audit`) with the logged-in name: add/replace (with the SHA-256 of
the uploaded bytes), remove, synonyms, rebuild.
"""

from __future__ import annotations

import hashlib

import kb_app
import kb_ui as ui
import streamlit as st

from indexer import KbError, audit, browse
from indexer.models import TYPE_LABELS, VISIBILITY_LABELS

UPLOAD_TYPES = [s.lstrip(".") for s in browse.UPLOAD_SUFFIXES]


def overrides() -> dict:
    ss = st.session_state
    out = {"id": ss.get("adm_id", "").strip(), "session": ss.get("adm_session", "").strip(),
           "date": ss.get("adm_date", "").strip(), "title": ss.get("adm_title", "").strip(),
           "type": ss.get("adm_type", ""), "visibility": ss.get("adm_visibility", "")}
    return {k: v for k, v in out.items() if v}


def preview_html(p: browse.Preview, exists: bool) -> str:
    rows = [
        ["文書 ID", p.doc_id + ("（既存の文書を置き換えます）" if exists else "（新規）")],
        ["タイトル", p.title], ["回", ui.session_label(p.session)], ["日付", p.date or "（なし）"],
        ["種類", TYPE_LABELS.get(p.type, p.type)], ["公開範囲", VISIBILITY_LABELS.get(p.visibility, p.visibility)],
        ["文字コード", p.encoding or "（不明）"], ["発言数", p.turns],
        ["話者", "、".join(f"{n}（{c}）" for n, c in p.speakers[:20])],
        ["質問・回答", f"質問 {p.questions} 件・回答 {p.answers} 件"],
        ["質問と回答のつながり", "、".join(f"#{q}→{'・'.join(f'#{a}' for a in ans) or '回答なし'}"
                                  for q, ans in p.links[:20]) or "なし"],
        ["時刻（字幕）", "あり" if p.timestamps else "なし"],
    ]
    return ui.table_html(["項目", "内容"], rows)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload_tab(index, actor: str) -> None:
    files = st.file_uploader("ファイルを選ぶ（複数可）", type=UPLOAD_TYPES, accept_multiple_files=True,
                             key="adm_files")
    st.caption("対応形式: " + " ".join(browse.UPLOAD_SUFFIXES) + "。文書 ID が既存の文書と同じなら置き換えます。")
    with st.expander("メタデータを指定する（空欄はファイルの記載・既定値のまま）", expanded=True):
        c1, c2, c3 = st.columns(3)
        c1.text_input("文書 ID（置き換えるときは既存の ID）", key="adm_id")
        c2.text_input("回", key="adm_session", placeholder="例：3")
        c3.text_input("日付", key="adm_date", placeholder="2025-10-01")
        st.text_input("タイトル", key="adm_title")
        c4, c5 = st.columns(2)
        c4.selectbox("種類", ["", *TYPE_LABELS], key="adm_type", format_func=lambda v: TYPE_LABELS.get(v, "自動"))
        c5.selectbox("公開範囲", ["", *VISIBILITY_LABELS], key="adm_visibility",
                     format_func=lambda v: VISIBILITY_LABELS.get(v, "自動（トランスクリプトは会員限定）"))
    if not files:
        return
    docs, failed = [], False
    origin: dict[str, tuple[str, str, bool]] = {}  # doc id → (file hash, stored name, replaces one)
    for f in files:
        st.markdown(f"**{ui.md_escape(f.name)}**")
        try:
            data = f.getvalue()
            path = browse.save_upload(index, f.name, data)
            for doc in browse.load_upload(path, overrides()):
                exists = index.document_meta(doc.id) is not None
                st.html(preview_html(browse.preview(doc), exists))
                docs.append(doc)
                origin[doc.id] = (sha256(data), path.name, exists)
        except KbError as e:
            failed = True
            st.error(ui.md_escape(f"{f.name}: {e}"))
    if failed:
        st.warning("読み込めないファイルがあります。直してからもう一度選んでください（どの文書も公開されていません）。")
        return
    if st.button(f"{len(docs)} 件の文書を公開する", key="adm_publish", type="primary"):
        done = index.put(docs)
        for doc_id in done:
            file_hash, name, replaced = origin.get(doc_id, ("", "", False))
            audit.record(index.data_dir, actor=actor, action="replace" if replaced else "add", doc_id=doc_id,
                         file_hash=file_hash, detail=f"app upload: {name}")
        kb_app.forget_caches()
        st.success(f"公開しました: {ui.md_escape('、'.join(done))}")


def manage_tab(index, role: str, actor: str) -> None:
    docs = kb_app.documents(kb_app.index_path(), kb_app.version(), role)
    if not docs:
        st.info("索引に文書がありません。")
        return
    labels = {d.id: f"{d.id} ・ {ui.session_label(d.session)} ・ {d.title}" for d in docs}
    doc_id = st.selectbox("文書", list(labels), key="adm_doc", format_func=labels.get)
    st.caption("置き換えるには「文書の追加」で同じ文書 ID を指定してファイルを公開してください。")
    sure = st.checkbox("この文書を索引から削除してよい", key="adm_sure")
    if st.button("削除する", key="adm_remove", disabled=not sure):
        file_hash = index.content_hash(doc_id) or ""
        n = index.remove(doc_id)
        kb_app.forget_caches()
        if n:
            audit.record(index.data_dir, actor=actor, action="remove", doc_id=doc_id, file_hash=file_hash,
                         detail=f"app: passages={n}")
            st.success(f"削除しました: {ui.md_escape(doc_id)}")
        else:
            st.warning("その文書は見つかりませんでした。")


def synonyms_tab(index, actor: str) -> None:
    if "adm_syn" not in st.session_state:
        st.session_state.adm_syn = browse.load_synonyms_text(index)
    st.text_area("同義語辞書（YAML。例：「DX: [デジタルトランスフォーメーション, デジタル変革]」）",
                 key="adm_syn", height=240)
    if st.button("保存する", key="adm_syn_save"):
        try:
            path = browse.save_synonyms(index, st.session_state.adm_syn)
        except KbError as e:
            st.error(ui.md_escape(str(e)))
        else:
            audit.record(index.data_dir, actor=actor, action="synonyms", file_hash=sha256(path.read_bytes()),
                         detail=f"app: {path.name}")
            st.success(f"保存しました: {ui.md_escape(path.name)}")


def rebuild_tab(index, actor: str) -> None:
    corpus = browse.corpus_dir()
    st.write(f"元データのフォルダ: `{ui.md_escape(str(corpus))}`")
    st.caption("元データから索引を作り直します。アップロードで追加しただけで元データのフォルダにない文書は消えます。")
    if st.button("索引を再構築する", key="adm_rebuild"):
        bar = st.progress(0.0, text="準備中…")
        try:
            new = browse.rebuild(corpus, index.path, lambda f, msg: bar.progress(min(1.0, f), text=msg))
        except KbError as e:
            st.error(ui.md_escape(str(e)))
            return
        audit.record(index.data_dir, actor=actor, action="rebuild",
                     detail=f"app: corpus={corpus} documents={len(new.doc_ids())}")
        kb_app.forget_caches()
        st.success("索引を再構築しました。")


def main() -> None:
    kb_app.enter_page("admin")
    role = kb_app.current_role()
    actor = kb_app.current_actor()
    if role != "secretariat" or not actor:
        st.error("このページは事務局の方だけが利用できます。ログインしてください。")
        return
    st.header("管理")
    index = kb_app.get_index()
    t1, t2, t3, t4 = st.tabs(["文書の追加", "差し替え・削除", "同義語辞書", "索引の再構築"])
    with t1:
        upload_tab(index, actor)
    with t2:
        manage_tab(index, role, actor)
    with t3:
        synonyms_tab(index, actor)
    with t4:
        rebuild_tab(index, actor)


main()
