"""The secretariat's write paths in the library: upload ids and status, replacements that keep their metadata,
metadata edits without re-uploading, the documents table, and the rebuild check after removals.

Everything goes through `indexer.archive` (write lock, kept sources, audit) as the 管理 page does.
"""

from __future__ import annotations

import hashlib

import pytest

from indexer import archive
from indexer.archive import audit, check, kept, publish
from indexer.archive.actions import edit_metadata, index_corpus, remove
from indexer.archive.datadir import DataDir
from indexer.errors import IngestError
from indexer.index.store import Index
from indexer.search.kb import KnowledgeBase

from helpers import write_corpus

CAPTIONS = """WEBVTT

00:00:01.000 --> 00:00:05.000
<v 北条>参議院の資料メジロについて説明します。

00:00:06.000 --> 00:00:09.000
<v 田村>メジロの費用はどうでしたか？
"""

CP932_TEXT = "第3回の報告です。\r\nウグイスの取り組みを紹介しました。①㈱も含みます。\r\n"


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_USER", "jimukyoku")
    monkeypatch.delenv("KB_CATALOGUE", raising=False)
    monkeypatch.chdir(tmp_path)  # no corpus/sessions.yaml fallback from the checkout
    corpus = write_corpus(tmp_path / "corpus")
    d = DataDir.at(tmp_path / "data")
    index_corpus(corpus, d)
    return d


def index(d: DataDir) -> Index:
    return Index(d.index)


def plan(d: DataDir, name: str, content: bytes, form: dict | None = None) -> publish.UploadPlan:
    [p] = publish.plan_uploads(d, [(name, content)], form or {}, index(d))
    return p


def audited(d: DataDir, *actions: str) -> list[tuple[str, str]]:
    return [(e["action"], e["doc_id"]) for e in audit.entries(d.root) if e["action"] in actions]


# -- ids -------------------------------------------------------------------------------------------------
def test_upload_id_comes_from_the_original_file_name(data):
    p = plan(data, "sangiin_8978_soumu_20260423.vtt", CAPTIONS.encode())
    assert (p.doc.id, p.status, p.status_label) == ("sangiin_8978_soumu_20260423", "new", "新規")
    res = publish.publish_uploads(data, [("sangiin_8978_soumu_20260423.vtt", CAPTIONS.encode())],
                                  {"visibility": "public"}, actor="jimukyoku")
    assert res.done == [("sangiin_8978_soumu_20260423", "added")]
    assert "sangiin_8978_soumu_20260423" in publish.live_documents(index(data))
    assert not [i for i in publish.live_documents(index(data)) if "staging" in i or "uploads" in i]
    # the kept source pins that id: a rebuild gives the same document
    assert check.check(data) == []
    assert "sangiin_8978_soumu_20260423" in archive.rebuild(data).doc_ids()


def test_upload_id_from_the_catalogue_when_it_knows_the_file(data):
    # the catalogue lists s01/report.md for 第1回: an upload of that name gets the id `kb index` gives it
    body = "# 第1回の報告\n\n新しい版の報告です。カケスの話。\n".encode()
    p = plan(data, "report.md", body)
    assert p.doc.id == "s01-report" and p.doc.session == 1 and p.status == "new"
    assert p.doc.title == "第1回 推進体制と人材（レポート）"  # the catalogue's session title, not the file name


def test_same_name_in_two_sessions_needs_the_form_session(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    corpus = write_corpus(tmp_path / "corpus")
    cat = (corpus / "sessions.yaml").read_text(encoding="utf-8")
    (corpus / "sessions.yaml").write_text(cat + "    documents:\n      - {file: s02/report.md, type: report}\n",
                                          encoding="utf-8")
    d = DataDir.at(tmp_path / "data")
    index_corpus(corpus, d)
    body = "報告の本文です。\n".encode()
    assert plan(d, "report.md", body).doc.id == "report"  # two entries of that name: not guessed
    assert plan(d, "report.md", body, {"session": "2"}).doc.id == "s02-report"


def test_form_and_front_matter_ids_win(data):
    assert plan(data, "x.md", b"---\nid: fm1\n---\nhello\n").doc.id == "fm1"
    assert plan(data, "x.md", b"---\nid: fm1\n---\nhello\n", {"id": "form1"}).doc.id == "form1"


# -- re-upload and replacement ----------------------------------------------------------------------------
def test_reupload_of_identical_bytes_is_unchanged_and_writes_nothing(data):
    content = CP932_TEXT.encode("cp932")
    res = publish.publish_uploads(data, [("第3回 報告.txt", content)], {"session": "3", "title": "第3回 報告"},
                                  actor="jimukyoku")
    assert res.done == [("第3回_報告", "added")]
    before = [s.meta for s in kept.stored_sources(data.root)[0]]
    log = (data.root / "audit.log").read_bytes()
    # the same bytes again, with an empty form (and even under another name): 変更なし, nothing written
    for name in ("第3回 報告.txt", "第3回 報告 (1).txt"):
        p = plan(data, name, content)
        assert (p.doc.id, p.status, p.status_label) == ("第3回_報告", "unchanged", "変更なし")
        res = publish.publish_uploads(data, [(name, content)], {}, actor="jimukyoku")
        assert res.done == [("第3回_報告", "unchanged")]
    assert [s.meta for s in kept.stored_sources(data.root)[0]] == before
    assert (data.root / "audit.log").read_bytes() == log
    assert check.check(data) == []


def test_reupload_of_a_corpus_file_is_unchanged(data, tmp_path):
    content = (tmp_path / "corpus" / "s01" / "transcript.md").read_bytes()
    p = plan(data, "transcript.md", content)
    assert (p.doc.id, p.status) == ("t1", "unchanged")


def test_replacement_keeps_title_session_date_type_and_visibility(data):
    first = "---\nid: up1\n---\n## 質疑応答\n【田村】ヨシキリの質問です？\n【北条座長】お答えします。\n".encode()
    publish.publish_uploads(data, [("a.md", first)], {"session": "2", "date": "2025-09-01", "title": "第2回 議事録",
                                                      "visibility": "members", "type": "transcript"},
                            actor="jimukyoku")
    second = first.replace("お答えします".encode(), "順調です".encode())
    p = plan(data, "b.md", second)
    assert (p.doc.id, p.status, p.status_label) == ("up1", "replace", "差し替え")
    assert sorted(p.kept) == ["date", "session", "title", "type", "visibility"]
    assert (p.doc.title, p.doc.session, p.doc.date, p.doc.type, p.doc.visibility) == (
        "第2回 議事録", 2, "2025-09-01", "transcript", "members")
    # the form still changes what it sets
    p2 = plan(data, "b.md", second, {"title": "第2回 議事録（改訂）"})
    assert p2.doc.title == "第2回 議事録（改訂）" and "title" not in p2.kept and p2.doc.session == 2
    res = publish.publish_uploads(data, [("b.md", second)], {}, actor="jimukyoku")
    assert res.done == [("up1", "replaced")]
    meta = index(data).document_meta("up1")
    assert (meta["title"], meta["session"], meta["date"], meta["visibility"]) == ("第2回 議事録", 2, "2025-09-01",
                                                                                  "members")
    assert audited(data, "add", "replace") == [("add", "up1"), ("replace", "up1")]
    # after publishing, the same upload is 変更なし (the preview refreshes against the new index)
    assert plan(data, "b.md", second).status == "unchanged"
    # and a rebuild from the kept source keeps the kept metadata
    assert check.check(data) == []
    archive.rebuild(data)
    assert index(data).document_meta("up1")["title"] == "第2回 議事録"


def test_replacing_a_corpus_document_keeps_its_catalogue_metadata(data, tmp_path):
    t1 = index(data).document_meta("t1")
    changed = (tmp_path / "corpus" / "s01" / "transcript.md").read_text(encoding="utf-8").replace(
        "庁内公募です。", "庁内公募と中途採用です。")
    p = plan(data, "議事録.md", changed.encode())  # another file name, the front matter id t1
    assert p.status == "replace" and p.doc.id == "t1"
    assert (p.doc.title, p.doc.session, p.doc.date) == (t1["title"], t1["session"], t1["date"])


def test_two_files_with_one_id_are_refused(data):
    with pytest.raises(IngestError, match="重複"):
        publish.plan_uploads(data, [("a.md", b"---\nid: z\n---\none\n"), ("b.md", b"---\nid: z\n---\ntwo\n")],
                             {}, index(data))


# -- metadata edits -----------------------------------------------------------------------------------------
def test_edit_metadata_reindexes_and_is_audited(data):
    changed = edit_metadata(data, "r1", {"title": "改題した報告", "session": "2", "date": "2025-08-20",
                                         "visibility": "members"}, actor="jimukyoku")
    assert changed == ["title", "session", "date", "visibility"]
    meta = index(data).document_meta("r1")
    assert (meta["title"], meta["session"], meta["date"], meta["visibility"]) == ("改題した報告", 2, "2025-08-20",
                                                                                  "members")
    k = KnowledgeBase(index(data), data_dir=data.root)
    assert k.document("r1", "public") is None and k.document("r1", "member").title == "改題した報告"
    assert [h.doc_id for h in k.search("防災", role="public").hits if h.doc_id == "r1"] == []
    [src] = [s for s in kept.stored_sources(data.root)[0] if "r1" in s.doc_ids]
    assert src.meta["overrides"]["title"] == "改題した報告" and src.meta["title"] == "改題した報告"
    [entry] = [e for e in audit.entries(data.root) if e["action"] == "edit"]
    assert (entry["actor"], entry["doc_id"], entry["file_hash"]) == ("jimukyoku", "r1", src.meta["sha256"])
    assert "title=改題した報告" in entry["detail"]
    # the same values again: nothing to do, nothing written
    log = (data.root / "audit.log").read_bytes()
    assert edit_metadata(data, "r1", {"title": "改題した報告", "session": "", "date": None}) == []
    assert (data.root / "audit.log").read_bytes() == log
    # the edit survives a rebuild (the kept source's overrides)
    assert check.check(data) == []
    archive.rebuild(data)
    assert index(data).document_meta("r1")["title"] == "改題した報告"


@pytest.mark.parametrize("changes, message", [
    ({"session": "三"}, "数字"), ({"date": "2025/13/01"}, "日付"), ({"type": "memo"}, "種類"),
    ({"visibility": "secret"}, "公開範囲"), ({"title": "x" * 201}, "200"), ({"id": "other"}, "変更できない"),
    ({"title": "二行\nの題"}, "改行"),
])
def test_bad_edits_change_nothing(data, changes, message):
    before = index(data).document_meta("r1")
    sources = [s.meta for s in kept.stored_sources(data.root)[0]]
    with pytest.raises(IngestError, match=message):
        edit_metadata(data, "r1", changes)
    assert index(data).document_meta("r1") == before
    assert [s.meta for s in kept.stored_sources(data.root)[0]] == sources
    assert not audited(data, "edit")


def test_edit_of_unknown_or_unsourced_documents(data):
    with pytest.raises(IngestError, match="見つかりません"):
        edit_metadata(data, "nope", {"title": "x"})
    from indexer.models import Document, Segment

    Index(data.index).put([Document(id="stray", title="原本なし", segments=[Segment(0, "原本のない文書です。")])])
    with pytest.raises(IngestError, match="原本が保存されていない"):
        edit_metadata(data, "stray", {"title": "x"})


# -- the documents table and the rebuild check -------------------------------------------------------------
def test_document_rows_with_who_added_and_changed(data):
    publish.publish_uploads(data, [("cap.vtt", CAPTIONS.encode())], {"session": "2", "visibility": "public"},
                            actor="sato")
    edit_metadata(data, "cap", {"title": "字幕の題"}, actor="suzuki")
    rows = {r.id: r for r in publish.document_rows(data, index(data))}
    assert set(rows) == {"r1", "t1", "m2", "cap"}
    cap = rows["cap"]
    assert (cap.title, cap.session, cap.type, cap.visibility, cap.turns) == ("字幕の題", 2, "transcript", "public", 2)
    assert (cap.added_by, cap.changed_by) == ("sato", "suzuki") and cap.added_at and cap.changed_at
    assert cap.editable and rows["m2"].visibility == "members"
    assert (rows["r1"].added_by, rows["r1"].changed_by) == ("jimukyoku", "jimukyoku")
    # a removed document leaves the table; added again, its history starts again
    remove(data, "cap", actor="suzuki")
    assert "cap" not in {r.id for r in publish.document_rows(data, index(data))}
    publish.publish_uploads(data, [("cap.vtt", CAPTIONS.encode())], {"visibility": "public"}, actor="tanaka")
    cap = {r.id: r for r in publish.document_rows(data, index(data))}["cap"]
    assert (cap.added_by, cap.changed_by) == ("tanaka", "tanaka")


def test_rebuild_check_counts_only_documents_that_exist(data):
    for doc_id in ("r1", "t1", "m2"):
        assert remove(data, doc_id)
    ix = index(data)
    assert "r1" in ix.doc_ids()  # Whoosh still lists removed ids until its segments merge ...
    assert publish.unsourced_documents(data, ix) == []  # ... the check does not
    assert publish.live_documents(ix) == {}


def test_save_synonyms_is_one_audited_change(data):
    text = "カケス: [ミヤマカケス]\n"
    path = publish.save_synonyms(data, text, actor="jimukyoku")
    assert path.read_text(encoding="utf-8") == text
    [entry] = [e for e in audit.entries(data.root) if e["action"] == "synonyms"]
    assert entry["file_hash"] == hashlib.sha256(text.encode()).hexdigest()
    with pytest.raises(Exception, match="リスト"):
        publish.save_synonyms(data, "DX: デジタル\n", actor="jimukyoku")
    assert path.read_text(encoding="utf-8") == text
