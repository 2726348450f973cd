"""Every page of the app through AppTest: related turns, CSV, caching, Q&A, speakers, trend, admin.

Members and the secretariat log in through the ログイン page (accounts from `test_app.make_accounts`);
every change made in 管理 goes through `indexer.archive.actions` (write lock, stored sources) and reaches the
audit log exactly once, with the logged-in name.
"""

from __future__ import annotations

import hashlib

import pytest

st = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402
from test_app import APP, PASSWORD, all_text, goto, html_values, login, logout, make_accounts  # noqa: E402
from test_browse import MARKERS, QA_DOC  # noqa: E402

from indexer import KnowledgeBase, archive  # noqa: E402
from indexer.archive import accounts, audit, check, files, kept  # noqa: E402
from indexer.archive.actions import add_files, index_corpus  # noqa: E402
from indexer.archive.datadir import DataDir  # noqa: E402
from indexer.ingest.catalogue import Catalogue  # noqa: E402

from helpers import write_corpus  # noqa: E402


@pytest.fixture
def env(tmp_path, monkeypatch):
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "s02" / "qa.md").write_text(QA_DOC, encoding="utf-8")
    data = DataDir.at(tmp_path / "data")
    index_corpus(corpus, data)
    make_accounts(data.root)
    monkeypatch.setenv("KB_DATA", str(data.root))
    monkeypatch.delenv("KB_INDEX", raising=False)
    monkeypatch.setenv("KB_CORPUS", str(corpus))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield data
    st.cache_resource.clear()
    st.cache_data.clear()


USER_OF = {"member": "kaiin", "secretariat": "jimukyoku"}


def app(role: str = "public") -> AppTest:
    """A new visitor; for "member"/"secretariat" logged in through the form, back on 検索."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    if role != "public":
        login(at, USER_OF[role])
        at.switch_page("views/search.py").run()
    assert not at.exception, at.exception
    return at


def log_in_here(at: AppTest, role: str, page: str, params: dict | None = None) -> AppTest:
    """Log in during a visit, then go back to `page`."""
    login(at, USER_OF[role])
    return goto(at, page, params)


def audit_entries(env, action: str) -> list[dict]:
    return [e for e in audit.entries(env.root) if e["action"] == action]


def no_markers(at: AppTest) -> bool:
    text = all_text(at)
    return not any(m in text for m in MARKERS)


# -- search page extras ----------------------------------------------------------------------------
def test_related_discussion_for_a_hit(env):
    at = app()
    at.text_input(key="q").input("費用").run()
    hit_keys = [b.key for b in at.button if b.key and b.key.startswith("rel-")]
    assert hit_keys
    at.button(key=hit_keys[0]).click().run()
    assert at.query_params["rel"] == hit_keys[0][4:]
    assert any(m.value == "**関連する議論**" for m in at.markdown)
    rel_buttons = [b for b in at.button if b.key and b.key.startswith("relopen-")]
    assert rel_buttons and no_markers(at)
    # a copied link reproduces the open related block
    again = AppTest.from_file(str(APP), default_timeout=30)
    again.query_params = {"q": "費用", "rel": hit_keys[0][4:]}
    again.run()
    assert any(m.value == "**関連する議論**" for m in again.markdown)
    # open a related turn in its document
    rel_buttons[0].click().run()
    assert not at.exception and at.query_params["doc"] and "rel" not in at.query_params
    assert any("kb-hit" in h for h in html_values(at))


def test_csv_download_and_trend_link_are_offered(env):
    at = app()
    at.text_input(key="q").input("内製化").run()
    assert [d.label for d in at.download_button] == ["検索結果を CSV でダウンロード"]
    links = [p for p in at.get("page_link")]
    assert any("推移" in p.proto.label for p in links)


def test_unchanged_rerun_does_not_search_again(env, monkeypatch):
    calls = []
    original = KnowledgeBase.search

    def counting(self, *a, **kw):
        calls.append(a[0] if a else kw.get("text"))
        return original(self, *a, **kw)

    monkeypatch.setattr(KnowledgeBase, "search", counting)
    at = app()
    at.text_input(key="q").input("内製化").run()
    calls_main = lambda: [c for c in calls if c == "内製化"]  # noqa: E731 (related turns search too)
    n = len(calls_main())
    assert n >= 1
    at.run()
    at.button(key=[b.key for b in at.button if b.key and b.key.startswith("rel-")][0]).click().run()
    assert len(calls_main()) == n  # reruns, even opening related turns, reuse the cached result
    at.selectbox(key="size").set_value(20).run()
    assert len(calls_main()) == n + 1
    # a commit to the index is seen at once (the cache key follows the index generation)
    new = env.root / "new.md"
    new.write_text("---\nid: new\nsession: 9\ntype: report\ntitle: 新規\n---\n内製化の新しい報告です。\n",
                   encoding="utf-8")
    assert add_files(env, [new], catalogue=Catalogue())[0].status == "added"
    at.run()
    assert at.subheader[0].value == "4 件"


# -- document page ---------------------------------------------------------------------------------
def test_document_page_links_question_and_answers(env):
    at = app()
    hit = KnowledgeBase(__import__("indexer").Index(env.index)).search("人材", role="public").hits[0]
    goto(at, "document", {"doc": hit.doc_id, "seg": str(hit.order), "q": "人材"})
    body = "\n".join(html_values(at))
    assert "この質問への回答" in body and "庁内公募です。" in body and "回答を見る" in body
    assert "質問を見る" in body and "<mark>人材</mark>" in body
    # an answer shows its question
    goto(at, "document", {"doc": hit.doc_id, "seg": str(hit.order + 1)})
    assert "この回答への質問" in "\n".join(html_values(at))
    # the public view of q2 hides the members-only question and answer
    goto(at, "document", {"doc": "q2"})
    assert no_markers(at) and "公開の場での回答です。" in all_text(at)


def test_document_page_without_doc_offers_a_choice(env):
    at = app()
    goto(at, "document")
    box = at.selectbox(key="doc_pick")
    assert "第1回 ・ 2025-06-17 ・ 第1回 トランスクリプト" in box.options
    assert not any("会員限定" in o for o in box.options)
    box.set_value("t1").run()
    assert at.query_params["doc"] == "t1"
    assert any("推進体制の話をします" in h for h in html_values(at))


def test_document_timestamps_for_captions(env, tmp_path):
    vtt = tmp_path / "cap.vtt"
    vtt.write_text("WEBVTT\n\n00:12:34.000 --> 00:12:40.000\n<v 北条>字幕の発言です。\n", encoding="utf-8")
    add_files(env, [vtt], {"id": "cap", "visibility": "public", "session": 1})
    at = app()
    goto(at, "document", {"doc": "cap", "seg": "0", "q": "字幕"})
    assert "12:34" in "\n".join(html_values(at))


# -- Q&A page --------------------------------------------------------------------------------------
def test_qa_page_filters_and_visibility(env):
    at = app()
    goto(at, "qa")
    assert at.subheader[0].value == "3 組" and no_markers(at)
    at.text_input(key="qa_answerer").input("佐伯").run()
    assert at.subheader[0].value == "2 組" and at.query_params["answerer"] == "佐伯"
    at.text_input(key="qa_q").input("公募").run()
    assert at.subheader[0].value == "1 組"
    assert any("庁内公募です。" in h and "人材はどう確保しましたか？" in h for h in html_values(at))
    at.button(key="qa-open-0").click().run()
    assert at.query_params["doc"] == "t1" and any("この質問への回答" in h for h in html_values(at))
    # URL state reproduces the filters
    at2 = app()
    goto(at2, "qa", {"answerer": "佐伯", "session": "1"})
    assert at2.text_input(key="qa_answerer").value == "佐伯" and at2.selectbox(key="qa_session").value == 1
    assert at2.subheader[0].value == "2 組"
    at2.text_input(key="qa_answerer").input("存在しない人").run()
    assert at2.warning and "見つかりませんでした" in at2.warning[0].value


def test_qa_page_members_see_more(env):
    at = app("member")
    goto(at, "qa")
    assert at.subheader[0].value == "4 組" and not no_markers(at)


def test_qa_page_self_questions_from_the_linked_speaker(env):
    accounts.add_user(env.root, "saeki", "member", PASSWORD, speaker="佐伯一郎")  # `kb user add --speaker`
    at = app()
    login(at, "saeki")
    goto(at, "qa")  # no query string: 「自分への質問」 is filled from the account
    assert at.text_input(key="qa_answerer").value == "佐伯一郎" and at.query_params["answerer"] == "佐伯一郎"
    assert any("自分への質問（佐伯一郎 が回答した質問）" in c.value for c in at.caption)
    mine = at.subheader[0].value
    assert mine == "4 組" and all("佐伯一郎" in h for h in html_values(at) if 'class="kb-turn"' in h)
    # the speaker's turns, and the names linking to that speaker's Q&A
    assert any(e.label.startswith("佐伯一郎 の発言（") for e in at.expander)
    assert any('href="qa?answerer=%E4%BD%90%E4%BC%AF%E4%B8%80%E9%83%8E"' in h for h in html_values(at))
    at.text_input(key="qa_answerer").input("北条").run()  # someone else's
    assert at.subheader[0].value == "0 組"
    at.text_input(key="qa_answerer").input("").run()  # every question (here 佐伯 answered them all)
    assert "answerer" not in at.query_params and not any("自分への質問（" in c.value for c in at.caption)
    at.button(key="qa_mine").click().run()
    assert at.text_input(key="qa_answerer").value == "佐伯一郎" and at.subheader[0].value == mine
    at.text_input(key="qa_answerer").input("さえき").run()  # the reading finds the speaker
    assert at.subheader[0].value == mine and any("該当する話者: 佐伯一郎" in c.value for c in at.caption)
    # a shared link with its own answerer is left as it is
    goto(at, "search")
    goto(at, "qa", {"answerer": "北条"})
    assert at.text_input(key="qa_answerer").value == "北条"


def test_qa_page_without_a_linked_speaker_shows_everything(env):
    at = app("member")
    goto(at, "qa")
    assert at.text_input(key="qa_answerer").value == "" and not [b for b in at.button if b.key == "qa_mine"]


# -- speakers page ---------------------------------------------------------------------------------
def test_speakers_page_counts_visible_turns(env):
    at = app()
    goto(at, "speakers")
    table = "\n".join(html_values(at))
    assert "<td>田村花子</td><td>参加者</td><td>3</td><td>第1回、第2回</td>" in table
    assert "<td>北条真琴</td><td>座長</td><td>1</td><td>第1回</td>" in table
    log_in_here(at, "member", "speakers")
    assert "<td>北条真琴</td><td>座長</td><td>2</td><td>第1回、第2回</td>" in "\n".join(html_values(at))
    at.text_input(key="spk_filter").input("佐伯").run()
    assert "田村" not in "\n".join(h for h in html_values(at) if "kb-table" in h)


# -- trend page ------------------------------------------------------------------------------------
def test_trend_page_chart_and_speakers(env):
    at = app()
    at.text_input(key="q").input("内製化").run()
    goto(at, "trend")  # takes the current query of the session
    assert at.text_input(key="trend_q").value == "内製化"
    assert at.subheader[0].value == "「内製化」を含む発言 3 件"
    assert at.get("vega_lite_chart")
    tables = "\n".join(html_values(at))
    assert "<td>第1回</td><td>2025-06-17</td><td>3</td>" in tables and "<td>佐伯一郎</td><td>1</td>" in tables
    at.text_input(key="trend_q").input("翠嵐").run()
    assert at.subheader[0].value == "「翠嵐」を含む発言 0 件" and at.warning
    log_in_here(at, "member", "trend", {"q": "翠嵐"})
    assert at.subheader[0].value == "「翠嵐」を含む発言 3 件"
    assert at.query_params["q"] == "翠嵐"


# -- admin page ------------------------------------------------------------------------------------
TRANSCRIPT = """---
id: up1
title: 第3回 議事録
date: 2025-10-01
---
## 質疑応答
【田村】アップロードの確認ヨシキリについて質問です？
【北条座長】お答えします。ヨシキリは順調です。
"""


def test_admin_is_secretariat_only(env):
    at = app()
    with pytest.raises(ValueError):  # the page is not even registered for the public
        at.switch_page("views/admin.py")
    at.query_params = {"role": "secretariat"}  # nor does the URL register it
    at.run()
    with pytest.raises(ValueError):
        at.switch_page("views/admin.py")
    at = app("member")
    with pytest.raises(ValueError):  # nor for members
        at.switch_page("views/admin.py")
    at = app("secretariat")
    goto(at, "admin")
    assert [t.label for t in at.tabs] == ["文書の追加", "文書の一覧・編集", "同義語辞書", "索引の再構築", "アカウント",
                                          "発言の取り消し"]
    assert "ログイン中: jimukyoku（事務局）" in [c.value for c in at.sidebar.caption]
    # logging out leaves 管理 for 検索, as the public
    logout(at)
    assert not at.exception and not any(t.label == "文書の追加" for t in at.tabs)
    assert at.text_input(key="q") is not None
    with pytest.raises(ValueError):
        at.switch_page("views/admin.py")


def test_admin_page_checks_the_role_itself(env):
    """Run on its own (as if it were reachable), 管理 shows nothing without a secretariat login."""
    page = AppTest.from_file(str(APP.parent / "views" / "admin.py"), default_timeout=30)
    page.session_state["role"] = "secretariat"  # a stray session value is not a login
    page.run()
    assert not page.exception, page.exception
    assert not page.tabs and page.error and "事務局の方だけ" in page.error[0].value


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.text_input(key="adm_session").input("3")
    at.selectbox(key="adm_visibility").set_value("public")
    at.file_uploader(key="adm_files").set_value((name, data, "text/markdown")).run()
    assert not at.exception, at.exception
    return at


def sources_of(env, doc_id: str) -> list:
    return [s for s in kept.stored_sources(env.root)[0] if doc_id in s.doc_ids]


WRITES = ("add", "replace", "import", "remove", "rebuild", "synonyms", "edit")


def writes(env) -> list[tuple[str, str, str]]:
    """(action, actor, doc id) of every audit entry of a write."""
    return [(e["action"], e["actor"], e["doc_id"]) for e in audit.entries(env.root)
            if e["action"] in WRITES]


def test_admin_upload_preview_publish_and_search(env):
    at = app("secretariat")
    goto(at, "admin")
    data = TRANSCRIPT.encode("cp932")
    upload(at, "../../第3回 議事録.md", data)
    preview = "\n".join(html_values(at))
    for s in ("up1（新規）", "第3回", "公開", "田村", "質問 1 件・回答 1 件", "#0→#1", "cp932"):
        assert s.lower() in preview.lower(), s
    uploads = env.root / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())  # a preview writes nothing (no staging left)
    assert not (env.root.parent / "第3回 議事録.md").exists()
    assert not audit_entries(env, "add") and not sources_of(env, "up1")  # a preview changes nothing
    at.button(key="adm_publish").click().run()
    assert at.success and "up1" in at.success[0].value
    assert [p.name for p in uploads.iterdir()] == ["第3回_議事録.md"]  # the record of what was published
    # the preview is drawn again against the archive as it is now: no stale 新規
    assert "up1（変更なし: 同じ内容が公開済みです）" in "\n".join(html_values(at))
    # one audit entry, by the archive: who published what, with the SHA-256 of the uploaded bytes
    assert writes(env) == [("add", "jimukyoku", "up1")]
    [entry] = audit_entries(env, "add")
    assert entry["file_hash"] == hashlib.sha256(data).hexdigest() and "第3回_議事録.md" in entry["detail"]
    # the archive keeps the uploaded bytes as the source, with the metadata fixed on the page
    [src] = sources_of(env, "up1")
    assert src.dir.parent == env.root / "sources" and src.read() == data
    assert src.meta["overrides"] == {"session": "3", "visibility": "public"}
    assert check.check(env) == []  # `kb check` is clean
    # the public finds it at once
    logout(at)  # the admin page goes away: back to 検索
    assert not at.exception and not at.tabs
    at.text_input(key="q").input("ヨシキリ").run()
    assert at.subheader[0].value == "2 件"
    # and after a rebuild from the stored sources (`kb rebuild`), still
    archive.rebuild(env)
    assert check.check(env) == []
    hits = KnowledgeBase(__import__("indexer").Index(env.index)).search("ヨシキリ", role="public")
    assert hits.total == 2 and {h.doc_id for h in hits.hits} == {"up1"}
    assert {h.session for h in hits.hits} == {3}


def test_admin_replace_is_audited_as_replace(env):
    at = app("secretariat")
    goto(at, "admin")
    first, second = TRANSCRIPT.encode(), TRANSCRIPT.replace("順調", "好調").encode()
    upload(at, "a.md", first)
    at.button(key="adm_publish").click().run()
    at.file_uploader(key="adm_files").set_value(("b.md", second, "text/markdown")).run()
    assert "up1（差し替え: 既存の文書を置き換えます）" in "\n".join(html_values(at))
    at.button(key="adm_publish").click().run()
    assert at.success and "差し替え" in at.success[0].value
    entries = [(e["action"], e["actor"], e["doc_id"], e["file_hash"]) for e in audit.entries(env.root)
               if e["action"] in ("add", "replace")]
    assert entries == [("add", "jimukyoku", "up1", hashlib.sha256(first).hexdigest()),
                       ("replace", "jimukyoku", "up1", hashlib.sha256(second).hexdigest())]
    [src] = sources_of(env, "up1")  # one source, the new bytes
    assert src.read() == second and src.meta["name"] == "b.md"
    assert check.check(env) == []


def test_admin_jsonl_upload_goes_through_import(env):
    lines = [{"id": "j1", "meeting": "第5回", "date": "2025-11-01", "speaker": "田村", "text": "カワセミの件です。"},
             {"id": "j2", "meeting": "第5回", "date": "2025-11-01", "speaker": "北条", "text": "カワセミは順調です。"}]
    data = "".join(__import__("json").dumps(r, ensure_ascii=False) + "\n" for r in lines).encode()
    at = app("secretariat")
    goto(at, "admin")
    upload(at, "talk.jsonl", data)
    at.button(key="adm_publish").click().run()
    assert at.success and "2025-11-01-第5回（取り込み）" in at.success[0].value.replace("\\", "")
    assert writes(env) == [("import", "jimukyoku", "2025-11-01-第5回")]
    [src] = sources_of(env, "2025-11-01-第5回")
    assert src.meta["kind"] == "jsonl" and src.read() == data
    assert check.check(env) == []


def test_admin_publish_waits_for_another_writer(env, monkeypatch):
    """Another writer (the CLI, another secretariat user) holds the lock: a clear message, nothing
    written, the upload still in the form; publishing again once it is free works."""
    monkeypatch.setenv("KB_WRITE_TIMEOUT", "0.2")
    at = app("secretariat")
    goto(at, "admin")
    upload(at, "a.md", TRANSCRIPT.encode())
    with files.write_lock(env.root):
        at.button(key="adm_publish").click().run()
    assert not at.exception and not at.success
    assert at.error and "他の更新作業" in at.error[0].value
    assert at.info and "そのまま残っています" in at.info[0].value
    assert not sources_of(env, "up1") and not audit_entries(env, "add")
    assert at.file_uploader(key="adm_files").value  # still selected
    assert at.text_input(key="adm_session").value == "3"
    at.button(key="adm_publish").click().run()
    assert at.success and "up1" in at.success[0].value
    assert writes(env) == [("add", "jimukyoku", "up1")] and sources_of(env, "up1")


def test_admin_bad_upload_is_reported_and_nothing_published(env):
    at = app("secretariat")
    goto(at, "admin")
    at.file_uploader(key="adm_files").set_value([("ok.md", TRANSCRIPT.encode(), "text/markdown"),
                                                 ("bad.md", b"---\nsession: x\n---\n", "text/markdown")]).run()
    assert at.error and "bad" in at.error[0].value and "数字" in at.error[0].value
    assert not [b for b in at.button if b.key == "adm_publish"]
    assert not audit_entries(env, "add")


def test_admin_unchanged_reupload_and_replacement_keeping_metadata(env):
    at = app("secretariat")
    goto(at, "admin")
    first = TRANSCRIPT.encode("cp932")
    upload(at, "第3回 議事録.md", first)
    at.button(key="adm_publish").click().run()
    # the same bytes again: 変更なし before publishing, and publishing writes nothing
    at.file_uploader(key="adm_files").set_value(("第3回 議事録.md", first, "text/markdown")).run()
    assert "up1（変更なし: 同じ内容が公開済みです）" in "\n".join(html_values(at))
    at.button(key="adm_publish").click().run()
    assert at.info and "変更はありません" in at.info[0].value and not at.success
    assert writes(env) == [("add", "jimukyoku", "up1")]
    # new content, no form values: a replacement that keeps 回 3, the title and the date
    at.text_input(key="adm_session").input("")
    at.selectbox(key="adm_visibility").set_value("")
    second = TRANSCRIPT.replace("順調", "好調").replace("title: 第3回 議事録\n", "").encode("cp932")
    at.file_uploader(key="adm_files").set_value(("第3回 議事録.md", second, "text/markdown")).run()
    preview = "\n".join(html_values(at))
    assert "up1（差し替え: 既存の文書を置き換えます）" in preview
    assert "既存の文書から引き継ぐ項目</td><td>タイトル・回・日付・種類・公開範囲" in preview
    assert "<td>第3回 議事録</td>" in preview and "<td>第3回</td>" in preview
    at.button(key="adm_publish").click().run()
    assert at.success and "up1（差し替え）" in at.success[0].value.replace("\\", "")
    meta = KnowledgeBase(__import__("indexer").Index(env.index)).document("up1", "public")
    assert (meta.title, meta.session, meta.date, meta.visibility) == ("第3回 議事録", 3, "2025-10-01", "public")


def test_admin_documents_table_edits_metadata(env):
    at = app("secretariat")
    goto(at, "admin")
    table = next(h for h in html_values(at) if "<th>最終更新</th>" in h)
    for cell in ("<td>r1</td>", "<td>第1回レポート</td>", "<td>第1回</td>", "<td>レポート</td>", "<td>公開</td>"):
        assert cell in table, cell
    at.selectbox(key="adm_doc").set_value("r1").run()
    assert at.text_input(key="adm_edit_title:r1").value == "第1回レポート"
    # a bad date: a Japanese message, nothing changed
    at.text_input(key="adm_edit_date:r1").input("2025/13/01")
    [b for b in at.button if b.label == "メタデータを保存する"][0].click().run()
    assert at.error and "日付" in at.error[0].value and not audit_entries(env, "edit")
    at.text_input(key="adm_edit_date:r1").input("2025-08-20")
    at.text_input(key="adm_edit_title:r1").input("改題した報告")
    at.text_input(key="adm_edit_session:r1").input("2")
    at.selectbox(key="adm_edit_visibility:r1").set_value("members")
    [b for b in at.button if b.label == "メタデータを保存する"][0].click().run()
    assert not at.exception and at.success and "保存しました: r1" in at.success[0].value.replace("\\", "")
    table = next(h for h in html_values(at) if "<th>最終更新</th>" in h)
    assert "<td>改題した報告</td><td>第2回</td><td>2025-08-20</td><td>レポート</td><td>会員限定</td>" in table
    assert "jimukyoku 20" in table  # who changed it, and when
    assert writes(env) == [("edit", "jimukyoku", "r1")] and check.check(env) == []
    # the public no longer finds it; members see the new title
    logout(at)
    goto(at, "document", {"doc": "r1"})
    assert at.warning and "見つかりません" in at.warning[0].value


def test_admin_links_an_account_to_a_speaker(env):
    at = app("secretariat")
    goto(at, "admin")
    at.selectbox(key="adm_link_user").set_value("kaiin").run()
    at.selectbox(key="adm_link_speaker:kaiin").set_value("佐伯一郎").run()
    at.button(key="adm_link_save").click().run()
    assert at.success and "kaiin → 佐伯一郎" in at.success[0].value.replace("\\", "")
    assert accounts.get_account(env.root, "kaiin").speaker == "佐伯一郎"
    [entry] = audit_entries(env, "user_link")
    assert (entry["actor"], entry["detail"]) == ("jimukyoku", "name=kaiin speaker=佐伯一郎")
    assert "<td>kaiin</td><td>会員</td><td>佐伯一郎</td>" in "\n".join(html_values(at))


def test_admin_remove_document(env):
    [src] = sources_of(env, "r1")
    source_hash = src.meta["sha256"]
    at = app("secretariat")
    goto(at, "admin")
    at.selectbox(key="adm_doc").set_value("r1").run()
    assert at.button(key="adm_remove").disabled
    at.checkbox(key="adm_sure").check().run()
    at.button(key="adm_remove").click().run()
    assert at.success and "r1" in at.success[0].value
    assert not [o for o in at.selectbox(key="adm_doc").options if o.startswith("r1 ")]
    assert writes(env) == [("remove", "jimukyoku", "r1")]
    [entry] = audit_entries(env, "remove")
    assert entry["file_hash"] == source_hash
    # the stored source goes too: a rebuild does not bring the document back
    assert not sources_of(env, "r1") and not src.dir.exists()
    assert check.check(env) == []
    assert "r1" not in archive.rebuild(env).doc_ids()


def test_admin_remove_waits_for_another_writer(env, monkeypatch):
    monkeypatch.setenv("KB_WRITE_TIMEOUT", "0.2")
    at = app("secretariat")
    goto(at, "admin")
    at.selectbox(key="adm_doc").set_value("r1").run()
    at.checkbox(key="adm_sure").check().run()
    with files.write_lock(env.root):
        at.button(key="adm_remove").click().run()
    assert not at.exception and at.error and "他の更新作業" in at.error[0].value
    assert sources_of(env, "r1") and not audit_entries(env, "remove")
    assert [o for o in at.selectbox(key="adm_doc").options if o.startswith("r1 ")]


def test_admin_synonyms_validated_before_saving(env):
    at = app("secretariat")
    goto(at, "admin")
    path = env.root / "synonyms.yaml"
    at.text_area(key="adm_syn").input("DX: デジタル\n").run()
    at.button(key="adm_syn_save").click().run()
    assert at.error and "文字列のリスト" in at.error[0].value and not path.exists()
    assert not audit_entries(env, "synonyms")  # a refused edit changes nothing
    text = "DX: [デジタルトランスフォーメーション]\n"
    at.text_area(key="adm_syn").input(text).run()
    at.button(key="adm_syn_save").click().run()
    assert at.success and path.read_text(encoding="utf-8") == text
    [entry] = audit_entries(env, "synonyms")
    assert (entry["actor"], entry["file_hash"]) == ("jimukyoku", hashlib.sha256(text.encode()).hexdigest())


def test_admin_rebuild_from_stored_sources(env):
    at = app("secretariat")
    goto(at, "admin")
    upload(at, "a.md", TRANSCRIPT.encode())
    at.button(key="adm_publish").click().run()
    at.button(key="adm_rebuild").click().run()
    assert not at.exception
    assert at.success and "再構築" in at.success[-1].value and "文書 5 件" in at.success[-1].value
    bar = at.get("progress")  # real steps reported by the archive: reading, adding each document, done
    assert bar and bar[-1].proto.value == 100 and "完了" in bar[-1].proto.text
    assert writes(env) == [("add", "jimukyoku", "up1"), ("rebuild", "jimukyoku", "")]
    [entry] = audit_entries(env, "rebuild")
    assert "documents=5" in entry["detail"]
    assert check.check(env) == []
    goto(at, "search", {"q": "内製化"})
    assert at.subheader[0].value == "3 件"
    at.text_input(key="q").input("ヨシキリ").run()  # the uploaded document survives the rebuild
    assert at.subheader[0].value == "2 件"


def test_admin_rebuild_from_corpus_needs_confirmation(env):
    at = app("secretariat")
    goto(at, "admin")
    upload(at, "a.md", TRANSCRIPT.encode())
    at.button(key="adm_publish").click().run()
    assert at.button(key="adm_rebuild_corpus").disabled
    at.checkbox(key="adm_corpus_sure").check().run()
    at.button(key="adm_rebuild_corpus").click().run()
    assert not at.exception and at.success and "文書 4 件" in at.success[-1].value
    # the corpus replaces the sources: the uploaded document is gone, everything else indexed by jimukyoku
    assert not sources_of(env, "up1") and check.check(env) == []
    assert {(e["actor"], e["doc_id"]) for e in audit_entries(env, "index") if e["actor"] == "jimukyoku"} == {
        ("jimukyoku", i) for i in ("m2", "q2", "r1", "t1")}


def test_admin_rebuild_warns_about_documents_without_sources(env):
    from indexer import Index
    from indexer.models import Document, Segment

    # a document written around the archive (by an older version): it has no stored source
    Index(env.index).put([Document(id="stray", title="原本なし", segments=[Segment(0, "原本のない文書です。")])])
    at = app("secretariat")
    goto(at, "admin")
    assert any("原本が保存されていない文書" in w.value and "stray" in w.value for w in at.warning)
    assert at.button(key="adm_rebuild").disabled
    at.checkbox(key="adm_rebuild_drop").check().run()
    at.button(key="adm_rebuild").click().run()
    assert at.success and "stray" not in Index(env.index).doc_ids()
