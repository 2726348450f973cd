"""管理 (事務局のみ): upload and publish documents, replace or remove them, synonyms, rebuild.

Uploads are written only under the data directory (`kb_app.data()`, its `uploads/`) with the
name `indexer.archive.uploads.safe_filename` gives; parsing, visibility and writing happen in `indexer`.
Every write goes through `indexer.archive.actions`, as the command line does: the write lock (one writer at
a time; a busy lock is reported and nothing is lost), the stored sources (so `kb rebuild` keeps what
was published here) and the audit log. The archive records add/replace/import (with the SHA-256 of
the uploaded bytes), remove, rebuild, index and synonyms with `actor=<logged-in name>`. The page is
registered only for the secretariat and checks the role again itself.
"""

from __future__ import annotations

import kb_app
import kb_ui as ui
import streamlit as st

from indexer import KbError, archive
from indexer.archive import publish
from indexer.models import TYPE_LABELS, VISIBILITY_LABELS

UPLOAD_TYPES = [s.lstrip(".") for s in publish.UPLOAD_SUFFIXES]


def overrides() -> dict:
    ss = st.session_state
    out = {"id": ss.get("adm_id", "").strip(), "session": ss.get("adm_session", "").strip(),
           "date": ss.get("adm_date", "").strip(), "title": ss.get("adm_title", "").strip(),
           "type": ss.get("adm_type", ""), "visibility": ss.get("adm_visibility", "")}
    return {k: v for k, v in out.items() if v}


def preview_html(p: publish.Preview, exists: bool) -> str:
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


def write_failed(e: KbError, kept: str = "") -> None:
    """A refused write: the archive's message (a busy write lock says so), what was kept, what to do."""
    st.error(ui.md_escape(f"{e}{archive.hint(e)}"))
    if kept:
        st.info(kept)


STATUS_LABELS = {"added": "追加", "replaced": "差し替え", "unchanged": "変更なし", "imported": "取り込み"}


def upload_tab(index, actor: str) -> None:
    files = st.file_uploader("ファイルを選ぶ（複数可）", type=UPLOAD_TYPES, accept_multiple_files=True,
                             key="adm_files")
    st.caption("対応形式: " + " ".join(publish.UPLOAD_SUFFIXES) + "。文書 ID が既存の文書と同じなら置き換えます。"
               " .jsonl には公開範囲の指定だけが使われます。")
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
    fixed = overrides()
    docs, failed = [], False
    for f in files:
        st.markdown(f"**{ui.md_escape(f.name)}**")
        try:
            data = f.getvalue()
            publish.save_upload(kb_app.data(), f.name, data)
            with publish.staged_upload(kb_app.data(), f.name, data) as path:
                got = publish.load_upload(path, fixed)
            for doc in got:
                st.html(preview_html(publish.preview(doc), index.document_meta(doc.id) is not None))
                docs.append(doc)
        except KbError as e:
            failed = True
            st.error(ui.md_escape(f"{f.name}: {e}"))
    if failed:
        st.warning("読み込めないファイルがあります。直してからもう一度選んでください（どの文書も公開されていません）。")
        return
    if st.button(f"{len(docs)} 件の文書を公開する", key="adm_publish", type="primary"):
        try:
            with st.spinner("公開しています…（他の更新作業が終わるのを待つことがあります）"):
                res = publish.publish_uploads(kb_app.data(), [(f.name, f.getvalue()) for f in files],
                                             fixed, actor=actor)
        except KbError as e:
            kb_app.forget_caches()
            write_failed(e, "選んだファイルと指定はそのまま残っています。しばらくしてから、もう一度「公開する」を押してください。")
            return
        kb_app.forget_caches()
        if res.done:
            st.success("公開しました: " + ui.md_escape("、".join(f"{i}（{STATUS_LABELS.get(s, s)}）"
                                                                for i, s in res.done)))
        if res.errors:
            st.error(ui.md_escape(("公開できなかったファイルがあります: " if res.done else
                                   "公開できませんでした（どの文書も公開されていません）: ") + "／".join(res.errors)))


def manage_tab(index, role: str, actor: str) -> None:
    removed = st.session_state.pop("adm_removed", None)
    if removed:
        st.session_state.adm_sure = False  # the next removal asks again
        st.success(f"削除しました: {ui.md_escape(removed)}")
    docs = kb_app.documents(role)
    if not docs:
        st.info("索引に文書がありません。")
        return
    labels = {d.id: f"{d.id} ・ {ui.session_label(d.session)} ・ {d.title}" for d in docs}
    doc_id = st.selectbox("文書", list(labels), key="adm_doc", format_func=labels.get)
    st.caption("置き換えるには「文書の追加」で同じ文書 ID を指定してファイルを公開してください。"
               "削除すると、保存された原本も消えます。")
    sure = st.checkbox("この文書を索引から削除してよい", key="adm_sure")
    if st.button("削除する", key="adm_remove", disabled=not sure):
        try:
            with st.spinner("削除しています…"):
                n = archive.remove(kb_app.data(), doc_id, actor=actor)
        except KbError as e:
            write_failed(e, "何も削除していません。")
            return
        finally:
            kb_app.forget_caches()
        if not n:
            st.warning("その文書は見つかりませんでした。")
            return
        st.session_state.adm_removed = doc_id
        st.rerun()  # the list of documents, drawn above, no longer holds it


def synonyms_tab(index, actor: str) -> None:
    if "adm_syn" not in st.session_state:
        st.session_state.adm_syn = publish.load_synonyms_text(kb_app.data())
    st.text_area("同義語辞書（YAML。例：「DX: [デジタルトランスフォーメーション, デジタル変革]」）",
                 key="adm_syn", height=240)
    if st.button("保存する", key="adm_syn_save"):
        try:
            path = publish.save_synonyms(kb_app.data(), st.session_state.adm_syn, actor=actor)
        except KbError as e:
            st.error(ui.md_escape(str(e)))
        else:
            st.success(f"保存しました: {ui.md_escape(path.name)}")


def _count(ix) -> int:
    return len(ix.doc_ids())


def rebuild_tab(index, actor: str) -> None:
    data = kb_app.data()
    st.markdown("**保存された原本から作り直す**")
    st.caption("追加・差し替えのたびに保存した原本（`sources/`）から索引を作り直します。"
               "索引が壊れたときや版が変わったときに使います。")
    missing = publish.unsourced_documents(data, index) if index is not None else []
    if missing:
        st.warning(ui.md_escape(f"原本が保存されていない文書が索引に {len(missing)} 件あります（例: "
                                f"{'、'.join(missing[:5])}）。原本から作り直すとこれらは消えます。"
                                "元データのフォルダから作り直すと原本も保存されます。"))
    drop_ok = st.checkbox("原本のない文書が消えてもよい", key="adm_rebuild_drop") if missing else True
    if st.button("索引を再構築する", key="adm_rebuild", disabled=not drop_ok):
        _rebuild_with_progress(
            lambda progress: archive.rebuild(data, actor=actor, progress=progress),
            "索引を作り直しています…（他の更新作業が終わるのを待つことがあります）",
            "索引は作り直す前のままです。", "保存された原本から")
    st.divider()
    corpus = publish.corpus_dir()
    st.markdown(f"**{ui.md_escape(str(corpus))}/ から作り直す**")
    st.write(f"元データのフォルダ: `{ui.md_escape(str(corpus))}`")
    st.caption("元データのフォルダの内容で原本と索引を置き換えます。"
               "ここで追加しただけで元データのフォルダにない文書は、原本ごと消えます。")
    sure = st.checkbox("元データのフォルダにない文書が消えてもよい", key="adm_corpus_sure")
    if st.button(f"{corpus}/ から作り直す", key="adm_rebuild_corpus", disabled=not sure):
        _rebuild_with_progress(
            lambda progress: archive.index_corpus(corpus, data, actor=actor, progress=progress),
            "元データを読み込んでいます…", "原本と索引は作り直す前のままです。",
            f"{ui.md_escape(str(corpus))} から")


def _rebuild_with_progress(run, start: str, kept: str, origin: str) -> None:
    """Run one rebuild with a progress bar fed by the archive's steps; report the result in Japanese."""
    try:
        bar = st.progress(0.0, text=start)
        new = run(lambda f, label: bar.progress(f, text=label))
    except KbError as e:
        write_failed(e, kept)
        return
    finally:
        kb_app.forget_caches()
    st.success(f"索引を再構築しました（{origin}、文書 {_count(new)} 件）。")


def main() -> None:
    kb_app.enter_page("admin")
    role = kb_app.current_role()
    actor = kb_app.current_actor()
    if role != "secretariat" or not actor:
        st.error("このページは事務局の方だけが利用できます。ログインしてください。")
        return
    st.header("管理")
    try:
        index = kb_app.get_index()
    except KbError as e:  # a missing, damaged or other-version index: only a rebuild can help
        st.error(ui.md_escape(f"索引を開けません: {e}{archive.hint(e)}"))
        rebuild_tab(None, actor)
        return
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
