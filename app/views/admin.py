"""管理 (事務局のみ): upload and publish documents, the documents table (edit metadata, remove), synonyms,
rebuild, accounts' speaker links, withdrawn remarks (発言の取り消し: `withdraw_panel.py`).

The page reads widgets, calls `indexer` and renders. Uploads are planned by `indexer.archive.publish`
(`preview_uploads`: the document id from the original file name or the catalogue, 新規 / 差し替え / 変更なし,
the metadata a replacement keeps) and written only through `indexer.archive`, as the command line does: the
write lock (one writer at a time; a busy lock is reported and nothing is lost), the stored sources (so
`kb rebuild` keeps what was published here) and the audit log, with `actor=<logged-in name>`. Writes run in
button callbacks, before the page is drawn, so what the page shows afterwards (the preview, the table) is
read from the archive as it is now. The page is registered only for the secretariat and checks the role again.
"""

from __future__ import annotations

import kb_app
import kb_ui as ui
import streamlit as st
import withdraw_panel

from indexer import KbError, archive
from indexer.archive import accounts, publish
from indexer.archive.actions import EDITABLE
from indexer.models import TYPE_LABELS, VISIBILITY_LABELS

UPLOAD_TYPES = [s.lstrip(".") for s in publish.UPLOAD_SUFFIXES]
STATUS_LABELS = {"added": "追加", "replaced": "差し替え", "unchanged": "変更なし", "imported": "取り込み"}
PLAN_LABELS = {"new": "新規", "replace": "差し替え: 既存の文書を置き換えます",
               "unchanged": "変更なし: 同じ内容が公開済みです", "import": "取り込み"}
KEPT_LABELS = {"title": "タイトル", "session": "回", "date": "日付", "type": "種類", "visibility": "公開範囲"}
KEPT_HINT = "選んだファイルと指定はそのまま残っています。しばらくしてから、もう一度「公開する」を押してください。"


def overrides() -> dict:
    ss = st.session_state
    out = {"id": ss.get("adm_id", "").strip(), "session": ss.get("adm_session", "").strip(),
           "date": ss.get("adm_date", "").strip(), "title": ss.get("adm_title", "").strip(),
           "type": ss.get("adm_type", ""), "visibility": ss.get("adm_visibility", "")}
    return {k: v for k, v in out.items() if v}


def preview_html(plan: publish.UploadPlan, doc) -> str:
    p = publish.preview(doc)
    rows = [["文書 ID", f"{p.doc_id}（{PLAN_LABELS.get(plan.status, plan.status)}）"]]
    if plan.kept:
        rows.append(["既存の文書から引き継ぐ項目", "・".join(KEPT_LABELS[k] for k in plan.kept)
                     + "（変えるときは「メタデータを指定する」に入力）"])
    rows += [
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


def write_failed(message: str, kept: str = "") -> None:
    """A refused write: the archive's message (a busy write lock says so), what was kept, what to do."""
    st.error(ui.md_escape(message))
    if kept:
        st.info(kept)


def _error_text(e: KbError) -> str:
    return f"{e}{archive.hint(e)}"


# -- 文書の追加 ---------------------------------------------------------------------------------------------
def _publish(batch: list[tuple[str, bytes]], fixed: dict, actor: str) -> None:
    """Button callback: publish through the archive before the page is drawn again."""
    try:
        res = publish.publish_uploads(kb_app.data(), batch, fixed, actor=actor)
    except KbError as e:
        st.session_state.adm_result = ("failed", _error_text(e))
    else:
        st.session_state.adm_result = ("done", res)
    finally:
        kb_app.forget_caches()


def show_publish_result() -> None:
    result = st.session_state.pop("adm_result", None)
    if result is None:
        return
    if result[0] == "failed":
        write_failed(result[1], KEPT_HINT)
        return
    res: publish.Published = result[1]
    changed = [(i, s) for i, s in res.done if s != "unchanged"]
    same = [(i, s) for i, s in res.done if s == "unchanged"]
    label = lambda items: "、".join(f"{i}（{STATUS_LABELS.get(s, s)}）" for i, s in items)  # noqa: E731
    if changed:
        st.success("公開しました: " + ui.md_escape(label(changed)))
    if same:
        st.info("変更はありません（公開済みの内容と同じです）: " + ui.md_escape(label(same)))
    if res.errors:
        st.error(ui.md_escape(("公開できなかったファイルがあります: " if res.done else
                               "公開できませんでした（どの文書も公開されていません）: ") + "／".join(res.errors)))


def upload_tab(index, actor: str) -> None:
    files = st.file_uploader("ファイルを選ぶ（複数可）", type=UPLOAD_TYPES, accept_multiple_files=True,
                             key="adm_files")
    st.caption("対応形式: " + " ".join(publish.UPLOAD_SUFFIXES) + "。文書 ID は元のファイル名（カタログにあるファイルは"
               "カタログの ID）です。同じ ID の文書があれば差し替え、内容が同じなら「変更なし」です。"
               "差し替えでは、タイトル・回・日付・種類・公開範囲は既存の文書のまま引き継ぎます（下の欄に入力すると変わります）。"
               " .jsonl には公開範囲の指定だけが使われます。")
    with st.expander("メタデータを指定する（空欄はファイルの記載・既定値・既存の文書のまま）", expanded=True):
        c1, c2, c3 = st.columns(3)
        c1.text_input("文書 ID（置き換えるときは既存の ID）", key="adm_id")
        c2.text_input("回", key="adm_session", placeholder="例：3")
        c3.text_input("日付", key="adm_date", placeholder="2025-10-01")
        st.text_input("タイトル", key="adm_title")
        c4, c5 = st.columns(2)
        c4.selectbox("種類", ["", *TYPE_LABELS], key="adm_type", format_func=lambda v: TYPE_LABELS.get(v, "自動"))
        c5.selectbox("公開範囲", ["", *VISIBILITY_LABELS], key="adm_visibility",
                     format_func=lambda v: VISIBILITY_LABELS.get(v, "自動（トランスクリプトは会員限定）"))
    show_publish_result()
    if not files:
        return
    fixed = overrides()
    batch = [(f.name, f.getvalue()) for f in files]
    plans, errors = publish.preview_uploads(kb_app.data(), batch, fixed, index)
    for plan in plans:
        st.markdown(f"**{ui.md_escape(plan.name)}**")
        for doc in plan.docs:
            st.html(preview_html(plan, doc))
    for message in errors:
        st.error(ui.md_escape(message))
    if errors:
        st.warning("読み込めないファイルがあります。直してからもう一度選んでください（どの文書も公開されていません）。")
        return
    n = sum(len(p.docs) for p in plans)
    if plans and all(p.status == "unchanged" for p in plans):
        st.info("選んだファイルはすべて公開済みの内容と同じです（変更なし）。")
    st.button(f"{n} 件の文書を公開する", key="adm_publish", type="primary", on_click=_publish,
              args=(batch, fixed, actor))


# -- 文書の一覧・編集 -----------------------------------------------------------------------------------------
def _edit_key(field: str, doc_id: str) -> str:
    return f"adm_edit_{field}:{doc_id}"


def _save_metadata(doc_id: str, actor: str) -> None:
    """Form callback: rewrite the document's metadata through the archive before the page is drawn again."""
    ss = st.session_state
    changes = {k: ss.get(_edit_key(k, doc_id), "") for k in EDITABLE}
    try:
        changed = archive.edit_metadata(kb_app.data(), doc_id, changes, actor=actor)
    except KbError as e:
        ss.adm_edit_result = ("failed", doc_id, _error_text(e))
    else:
        ss.adm_edit_result = ("done", doc_id, changed)
    finally:
        kb_app.forget_caches()


def edit_form(row: publish.DocumentRow, actor: str) -> None:
    st.markdown("**メタデータを編集する**（ファイルをアップロードし直さずに、タイトル・回・日付・種類・公開範囲を変えます）")
    if not row.editable:
        st.caption("この文書は JSONL から取り込んだか原本が保存されていないため、ここでは編集できません。"
                   "元のファイルを直して取り込み直してください。")
        return
    types, visibilities = list(TYPE_LABELS), list(VISIBILITY_LABELS)
    with st.form(f"adm_edit:{row.id}"):
        st.text_input("タイトル", value=row.title, key=_edit_key("title", row.id), max_chars=200)
        c1, c2 = st.columns(2)
        c1.text_input("回", value=str(row.session or ""), key=_edit_key("session", row.id), placeholder="例：3")
        c2.text_input("日付", value=row.date, key=_edit_key("date", row.id), placeholder="2025-10-01")
        c3, c4 = st.columns(2)
        c3.selectbox("種類", types, index=types.index(row.type) if row.type in types else 0,
                     key=_edit_key("type", row.id), format_func=TYPE_LABELS.get)
        c4.selectbox("公開範囲", visibilities,
                     index=visibilities.index(row.visibility) if row.visibility in visibilities else 0,
                     key=_edit_key("visibility", row.id), format_func=VISIBILITY_LABELS.get)
        st.caption("空欄にした回・日付は変わりません。保存すると索引のこの文書だけを作り直します（監査ログに記録）。")
        st.form_submit_button("メタデータを保存する", on_click=_save_metadata, args=(row.id, actor))


def show_edit_result() -> None:
    result = st.session_state.pop("adm_edit_result", None)
    if result is None:
        return
    kind, doc_id, detail = result
    if kind == "failed":
        write_failed(f"{doc_id}: {detail}", "何も変更していません。")
    elif detail:
        st.success(ui.md_escape(f"保存しました: {doc_id}（{'・'.join(KEPT_LABELS.get(k, k) for k in detail)}）"))
    else:
        st.info(ui.md_escape(f"変更はありません: {doc_id}"))


def documents_tab(index, actor: str) -> None:
    removed = st.session_state.pop("adm_removed", None)
    if removed:
        st.session_state.adm_sure = False  # the next removal asks again
        st.success(f"削除しました: {ui.md_escape(removed)}")
    show_edit_result()
    rows = publish.document_rows(kb_app.data(), index)
    if not rows:
        st.info("索引に文書がありません。")
        return
    st.caption(f"文書 {len(rows)} 件（追加・最終更新は監査ログから）")
    st.html(ui.table_html(
        ["文書 ID", "タイトル", "回", "日付", "種類", "公開範囲", "発言数", "追加", "最終更新"],
        [[r.id, r.title, ui.session_label(r.session), r.date, TYPE_LABELS.get(r.type, r.type),
          VISIBILITY_LABELS.get(r.visibility, r.visibility), r.turns,
          " ".join(b for b in (r.added_by, r.added_at) if b) or "（記録なし）",
          " ".join(b for b in (r.changed_by, r.changed_at) if b) or "（記録なし）"] for r in rows]))
    by_id = {r.id: r for r in rows}
    labels = {r.id: f"{r.id} ・ {ui.session_label(r.session)} ・ {r.title}" for r in rows}
    doc_id = st.selectbox("文書を選ぶ（編集・削除）", list(labels), key="adm_doc", format_func=labels.get)
    row = by_id[doc_id]
    edit_form(row, actor)
    st.markdown("**削除する**")
    st.caption("削除すると、保存された原本も消えます（索引の作り直しでも戻りません）。"
               "ファイルを差し替えるときは「文書の追加」で同じ文書 ID のファイルを公開してください。")
    sure = st.checkbox("この文書を索引から削除してよい", key="adm_sure")
    if st.button("削除する", key="adm_remove", disabled=not sure):
        try:
            with st.spinner("削除しています…"):
                n = archive.remove(kb_app.data(), doc_id, actor=actor)
        except KbError as e:
            write_failed(_error_text(e), "何も削除していません。")
            return
        finally:
            kb_app.forget_caches()
        if not n:
            st.warning("その文書は見つかりませんでした。")
            return
        st.session_state.adm_removed = doc_id
        st.rerun()  # the table, drawn above, no longer holds it


# -- 同義語辞書 -----------------------------------------------------------------------------------------------
def synonyms_tab(actor: str) -> None:
    if "adm_syn" not in st.session_state:
        st.session_state.adm_syn = publish.load_synonyms_text(kb_app.data())
    st.text_area("同義語辞書（YAML。例：「DX: [デジタルトランスフォーメーション, デジタル変革]」）",
                 key="adm_syn", height=240)
    st.caption("保存すると、次の検索から使われます（画面の検索・コマンドラインとも）。")
    if st.button("保存する", key="adm_syn_save"):
        try:
            path = publish.save_synonyms(kb_app.data(), st.session_state.adm_syn, actor=actor)
        except KbError as e:
            st.error(ui.md_escape(str(e)))
        else:
            st.success(f"保存しました: {ui.md_escape(path.name)}")


# -- 索引の再構築 --------------------------------------------------------------------------------------------
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
        write_failed(_error_text(e), kept)
        return
    finally:
        kb_app.forget_caches()
    st.success(f"索引を再構築しました（{origin}、文書 {len(publish.live_documents(new))} 件）。")


# -- アカウント ---------------------------------------------------------------------------------------------
def _link(name: str, actor: str) -> None:
    speaker = st.session_state.get(f"adm_link_speaker:{name}", "")
    try:
        account = accounts.link_speaker(kb_app.data_dir(), name, speaker, actor=actor)
    except KbError as e:
        st.session_state.adm_link_result = ("failed", str(e))
        return
    st.session_state.adm_link_result = ("done", f"{account.name} → {account.speaker}" if account.speaker
                                        else f"{account.name}（結び付けを解除しました）")


def accounts_tab(actor: str) -> None:
    result = st.session_state.pop("adm_link_result", None)
    if result:
        (st.success if result[0] == "done" else st.error)(
            ui.md_escape(("保存しました: " if result[0] == "done" else "保存できませんでした: ") + result[1]))
    users = accounts.list_users(kb_app.data_dir())
    st.caption("アカウントの追加・削除・パスワードの変更はコマンド `kb user` で行います（README「アクセス制御とログイン」）。"
               "話者を結び付けると、その人の Q&A ページの「自分への質問」に自分が回答した質問が出ます。")
    if not users:
        st.info("アカウントがありません。")
        return
    st.html(ui.table_html(["ユーザー名", "種別", "話者", "作成", "更新"],
                          [[u["name"], accounts.ROLE_LABELS.get(u["role"], u["role"]), u["speaker"] or "（なし）",
                            u["created"], u["updated"]] for u in users]))
    names = [u["name"] for u in users]
    name = st.selectbox("アカウント", names, key="adm_link_user")
    current = next((u["speaker"] for u in users if u["name"] == name), "")
    known = [s.name for s in kb_app.speakers("secretariat")]
    options = ["", *dict.fromkeys([current, *known] if current else known)]
    st.selectbox("話者（索引にある名前）", options, index=options.index(current), key=f"adm_link_speaker:{name}",
                 format_func=lambda v: v or "（結び付けない）")
    st.button("話者の結び付けを保存する", key="adm_link_save", on_click=_link, args=(name, actor))


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
        st.error(ui.md_escape(f"索引を開けません: {_error_text(e)}"))
        rebuild_tab(None, actor)
        return
    t1, t2, t3, t4, t5, t6 = st.tabs(["文書の追加", "文書の一覧・編集", "同義語辞書", "索引の再構築", "アカウント",
                                      "発言の取り消し"])
    with t1:
        upload_tab(index, actor)
    with t2:
        documents_tab(index, actor)
    with t3:
        synonyms_tab(actor)
    with t4:
        rebuild_tab(index, actor)
    with t5:
        accounts_tab(actor)
    with t6:
        withdraw_panel.withdrawals_tab(actor)


main()
