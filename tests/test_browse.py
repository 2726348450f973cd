"""indexer.search.browse: related turns, Q&A pairs, speakers, trend, CSV and admin helpers — visibility first."""

from __future__ import annotations

import csv
import io

import pytest

from indexer import KbError
from indexer.archive import publish
from indexer.archive.datadir import DataDir
from indexer.ingest.loading import load_document
from indexer.models import Document, Segment
from indexer.search import browse

from helpers import build_kb

MARKERS = ("カワセミ", "翠嵐", "会員向けの回答", "秘密の質問")

#: Q&A across parts: a members-only question answered in public, a public question answered members-only.
QA_DOC = """\
---
id: q2
session: 2
type: transcript
visibility: public
members_only_parts: [discussion]
title: 第2回 質疑
date: 2025-08-19
---
## ディスカッション
Q：（西浜市 田村）秘密の質問です、翠嵐はどうなりましたか？
## 質疑応答
A：（佐伯）公開の場での回答です。
Q：（西浜市 田村）公開の質問です、クラウドの費用は？
## ディスカッション
A：（佐伯）翠嵐に関する会員向けの回答です。
"""


def qa_kb(tmp_path):
    from indexer.archive.actions import index_corpus

    from helpers import write_corpus

    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "s02" / "qa.md").write_text(QA_DOC, encoding="utf-8")
    data = DataDir.at(tmp_path)
    return browse.KnowledgeBase(index_corpus(corpus, data), data_dir=data.root)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    return qa_kb(tmp_path_factory.mktemp("browse"))


def dump(obj) -> str:
    return repr(obj)


def trend_view(t: browse.Trend) -> str:
    """What a trend shows besides the query itself; a hidden match shows up as a count."""
    return repr((t.points, t.speakers)) + ("翠嵐" if t.total else "")


def no_markers(obj) -> bool:
    text = dump(obj)
    return not any(m in text for m in MARKERS)


# -- visibility, table-driven: (name, call) for every browse function -------------------------------
CALLS = [
    ("qa_pairs", lambda kb, role: browse.qa_pairs(kb, role)),
    ("qa_pairs_query", lambda kb, role: browse.qa_pairs(kb, role, query="翠嵐")),
    ("speakers", lambda kb, role: browse.speakers(kb, role)),
    ("trend", lambda kb, role: trend_view(browse.trend(kb, "カワセミ", role))),
    ("trend_suiran", lambda kb, role: trend_view(browse.trend(kb, "翠嵐", role))),
    ("related", lambda kb, role: [h.text for h in browse.related(kb, "t1#0006", role)]
     + [h.text for h in browse.related(kb, "t1#0005", role, k=20)]),
    ("csv", lambda kb, role: browse.results_csv(kb, "翠嵐 OR カワセミ OR 回答", role=role)
     + browse.results_csv(kb, "翠嵐", role=role) + browse.results_csv(kb, "カワセミ", role=role)),
    ("documents", lambda kb, role: [(d.id, d.title) for d in browse.documents(kb, role)]),
]


@pytest.mark.parametrize("name,call", CALLS, ids=[c[0] for c in CALLS])
def test_public_never_sees_members_only(kb, name, call):
    assert no_markers(call(kb, "public")), name


@pytest.mark.parametrize("name,call", [c for c in CALLS if c[0] not in ("documents", "related", "speakers")],
                         ids=[c[0] for c in CALLS if c[0] not in ("documents", "related", "speakers")])
def test_members_see_members_only(kb, name, call):
    for role in ("member", "secretariat"):
        assert not no_markers(call(kb, role)), (name, role)


# -- Q&A -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role,kwargs,expected", [
    ("public", {}, [("t1", "内製化で費用は下がりましたか？", 1), ("t1", "人材はどう確保しましたか？", 1),
                    ("q2", "公開の質問です、クラウドの費用は？", 0)]),
    ("member", {}, [("t1", "内製化で費用は下がりましたか？", 1), ("t1", "人材はどう確保しましたか？", 1),
                    ("q2", "秘密の質問です、翠嵐はどうなりましたか？", 1), ("q2", "公開の質問です、クラウドの費用は？", 1)]),
    ("public", {"answerer": "佐伯"}, [("t1", "内製化で費用は下がりましたか？", 1), ("t1", "人材はどう確保しましたか？", 1)]),
    ("public", {"answerer": "北条"}, []),
    ("public", {"session": 2}, [("q2", "公開の質問です、クラウドの費用は？", 0)]),
    ("public", {"query": "公募"}, [("t1", "人材はどう確保しましたか？", 1)]),  # matches the answer
    ("public", {"query": "人材"}, [("t1", "人材はどう確保しましたか？", 1)]),  # matches the question
    ("public", {"query": "翠嵐"}, []),
    ("member", {"query": "翠嵐"}, [("q2", "秘密の質問です、翠嵐はどうなりましたか？", 1),
                                   ("q2", "公開の質問です、クラウドの費用は？", 1)]),
])
def test_qa_pairs(kb, role, kwargs, expected):
    got = [(p.doc_id, p.question.text, len(p.answers)) for p in browse.qa_pairs(kb, role, **kwargs)]
    assert got == expected


def test_qa_pair_answers_are_the_linked_turns(kb):
    pair = browse.qa_pairs(kb, "public", answerer="佐伯", query="公募")[0]
    assert [(a.speaker, a.text, a.answers_to) for a in pair.answers] == [("佐伯一郎", "庁内公募です。", pair.question.order)]
    assert (pair.session, pair.date, pair.title) == (1, "2025-06-17", "第1回 トランスクリプト")


def test_qa_links_both_ways():
    doc = Document(id="d", segments=[
        Segment(0, "前置き"), Segment(1, "質問？", qa="question"), Segment(2, "答え1", qa="answer", answers_to=1),
        Segment(3, "答え2", qa="answer", answers_to=1), Segment(4, "宙に浮いた答え", qa="answer", answers_to=9)])
    assert [a.order for a in browse.qa_links(doc, 1).answers] == [2, 3]
    assert browse.qa_links(doc, 3).question.order == 1
    assert browse.qa_links(doc, 0) == browse.QALinks()
    assert browse.qa_links(doc, 4).question is None  # its question is not visible / missing
    assert browse.qa_links(doc, 99) == browse.QALinks()


# -- speakers, trend, related ----------------------------------------------------------------------
@pytest.mark.parametrize("role,expected", [
    ("public", {"佐伯一郎": (4, [1, 2]), "田村花子": (3, [1, 2]), "北条真琴": (1, [1])}),
    ("member", {"佐伯一郎": (5, [1, 2]), "田村花子": (5, [1, 2]), "北条真琴": (2, [1, 2])}),
])
def test_speakers_count_only_visible_turns(kb, role, expected):
    got = {s.name: (s.turns, s.sessions) for s in browse.speakers(kb, role)}
    assert got == expected


@pytest.mark.parametrize("role,query,total,points,top", [
    ("public", "内製化", 3, [(1, "2025-06-17", 3), (2, "2025-08-19", 0)], "佐伯一郎"),
    ("member", "翠嵐", 3, [(1, "2025-06-17", 1), (2, "2025-08-19", 2)], "田村花子"),
    ("public", "翠嵐", 0, [(1, "2025-06-17", 0), (2, "2025-08-19", 0)], None),
    ("member", "カワセミ", 1, [(1, "2025-06-17", 0), (2, "2025-08-19", 1)], "北条真琴"),
])
def test_trend(kb, role, query, total, points, top):
    t = browse.trend(kb, query, role)
    assert t.total == total
    assert [(p.session, p.date, p.count) for p in t.points] == points
    assert (t.speakers[0][0] if t.speakers else None) == top
    assert sum(c for _, c in t.speakers) <= total


def test_related_excludes_itself_and_shares_terms(kb):
    hit = kb.search("内製化で費用", role="public").hits[0]
    rel = browse.related(kb, hit.id, "public", k=3)
    assert rel and hit.id not in [r.id for r in rel] and len(rel) <= 3
    terms = browse.distinctive_terms(kb, hit.text)
    assert "費用" in terms
    assert {r.id for r in rel} == {"t1#0003", "r1#0001", "t1#0001"}  # 下がり…, 内製化…


def test_related_of_hidden_turn_is_empty_for_public(kb):
    hidden = kb.search("翠嵐", role="member").hits[0]
    assert hidden.visibility == "members"
    assert browse.related(kb, hidden.id, "public") == []
    assert browse.related(kb, "no-such#0001", "member") == []


# -- related: members-only text never changes what the public gets -------------------------------
#: A public turn with ten equally frequent terms; the members-only memo repeats four of them, so over
#: the whole index those four would rank last (and drop out of the top eight).
TWIN_PUBLIC = """\
---
id: p9
session: 1
type: report
visibility: public
title: 第1回 補足
---
予算と人材と防災と契約と監査と研修と庁舎と窓口と統計と広報について補足します。

窓口と統計の改善も続けます。
"""
TWIN_MEMBERS = """\
---
id: m9
session: 2
type: transcript
visibility: members
title: 第2回 会員メモ
---
## ディスカッション
""" + "".join(f"【北条座長】予算と人材と防災と契約の件その{i}です。\n" for i in range(12))


def twin_kbs(root):
    """(FULL, PUBLIC_ONLY): the same public content, FULL with members-only content added (as in
    tests/test_access_matrix.py: the members-only document and the members-only discussion)."""
    from indexer.archive.actions import index_corpus

    from helpers import TRANSCRIPT, write_corpus

    out = []
    for name, full in (("full", True), ("public_only", False)):
        corpus = write_corpus(root / name / "corpus")
        (corpus / "s01" / "extra.md").write_text(TWIN_PUBLIC, encoding="utf-8")
        if full:
            (corpus / "s02" / "memo.md").write_text(TWIN_MEMBERS, encoding="utf-8")
        else:
            (corpus / "s02" / "members.md").unlink()
            (corpus / "s01" / "transcript.md").write_text(TRANSCRIPT.split("## ディスカッション")[0],
                                                          encoding="utf-8")
        out.append(browse.KnowledgeBase(index_corpus(corpus, DataDir.at(root / name)), data_dir=root / name))
    return tuple(out)


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    return twin_kbs(tmp_path_factory.mktemp("twins"))


def test_distinctive_terms_count_only_what_the_role_sees(twins):
    full, public_only = twins
    text = full.document("p9", "public").segments[0].text
    public = browse.distinctive_terms(full, text, role="public")
    assert public == browse.distinctive_terms(public_only, text, role="public")
    # the test would see a leak: over everything (as a member sees it) the memo's words rank lower
    member = browse.distinctive_terms(full, text, role="member")
    assert member != public and "予算" in public and "予算" not in member
    assert browse.distinctive_terms(full, text) == public  # the default is the public view


def test_public_related_identical_to_public_only_index(twins):
    full, public_only = twins
    seg_ids = [h.id for h in public_only.search("予算 OR 人材 OR 内製化 OR サーバー OR 窓口", role="public",
                                                page_size=50).hits]
    assert "p9#0000" in seg_ids
    for seg_id in seg_ids:
        a, b = browse.related(full, seg_id, "public"), browse.related(public_only, seg_id, "public")
        assert [h.to_dict() for h in a] == [h.to_dict() for h in b], seg_id
        assert no_markers(a) and "カワセミ" not in repr(a)


# -- CSV -------------------------------------------------------------------------------------------
def test_csv_rows_and_columns(kb):
    rows = list(csv.reader(io.StringIO(browse.results_csv(kb, "内製化", role="public"))))
    assert rows[0] == list(browse.CSV_COLUMNS)
    assert len(rows) == 4 and {r[3] for r in rows[1:]} == {"t1", "r1"}
    assert all(r[9] == "公開" for r in rows[1:])
    # values as the screen names them, never the internal codes
    assert {r[2] for r in rows[1:]} == {"トランスクリプト", "レポート"}
    assert {r[7] for r in rows[1:]} <= {"ゲスト講演", "質疑応答", "講義", "報告", "その他"}
    codes = {"transcript", "report", "guest_talk", "qa", "lecture", "public", "members", "other"}
    assert not {c for r in rows[1:] for c in r[:11]} & codes
    member = list(csv.reader(io.StringIO(browse.results_csv(kb, "翠嵐", role="member"))))
    assert len(member) == 4 and {r[9] for r in member[1:]} == {"会員限定"}


def test_csv_links_open_the_turn(kb):
    rows = list(csv.reader(io.StringIO(browse.results_csv(kb, "庁内公募", role="public",
                                                          base_url="https://kb.example.jp/"))))
    assert rows[0][-1] == "リンク" and len(rows) == 2
    hit = kb.search("庁内公募", role="public").hits[0]
    assert rows[1][-1] == ("https://kb.example.jp/document?doc=t1&seg=" + str(hit.order)
                           + "&q=%E5%BA%81%E5%86%85%E5%85%AC%E5%8B%9F")


def test_csv_cells_never_become_formulas():
    assert browse.csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert browse.csv_cell("-1") == "'-1" and browse.csv_cell("普通") == "普通" and browse.csv_cell(None) == ""


@pytest.mark.parametrize("role", ["guest", ""])
def test_unknown_role_is_refused(kb, role):
    for call in (lambda: browse.qa_pairs(kb, role), lambda: browse.speakers(kb, role),
                 lambda: browse.trend(kb, "内製化", role), lambda: browse.related(kb, "t1#0001", role),
                 lambda: browse.results_csv(kb, "内製化", role=role)):
        with pytest.raises(KbError):
            call()


# -- admin helpers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd.md", "passwd.md"),
    ("..\\..\\win.ini.txt", "win.ini.txt"),
    ("/abs/path/議事録 第1回.vtt", "議事録_第1回.vtt"),
    (".hidden.md", "hidden.md"),
    ("a<b>c.MD", "a_b_c.MD"),
    ("....", "upload"),
    ("名前.tar.gz", "名前.tar.gz"),
    ("C:\\Users\\x\\第１回\u202e議事録.md", "第1回議事録.md"),
    ("CON.md", "_CON.md"),
])
def test_safe_upload_name_is_the_one_safe_filename(name, expected):
    from indexer.archive.uploads import safe_filename

    assert publish.safe_upload_name(name) == safe_filename(name) == expected


def test_save_upload_stays_in_uploads(kb, tmp_path):
    data = DataDir.at(tmp_path / "data")
    for name in ("../../escape.md", "/etc/cron.d/x.md", "ok.vtt"):
        p = publish.save_upload(data, name, b"x")
        assert p.parent == (tmp_path / "data" / "uploads").resolve() and p.read_bytes() == b"x"
    assert not (tmp_path / "escape.md").exists()
    with pytest.raises(KbError, match="対応していない"):
        publish.save_upload(data, "evil.exe", b"x")


@pytest.mark.parametrize("text,ok", [
    ("DX: [デジタルトランスフォーメーション, デジタル変革]\n", True),
    ("", True),
    ("- a\n- b\n", False),
    ("DX: デジタル\n", False),
    ("DX: [1, 2]\n", False),
    ("DX: [a, \n", False),
])
def test_synonyms_validation(tmp_path, text, ok):
    from indexer.archive import audit
    from indexer.archive.files import sha256

    data = DataDir.at(tmp_path)
    if ok:
        publish.save_synonyms(data, text, actor="jimu")
        assert publish.load_synonyms_text(data) == text
        [entry] = audit.entries(tmp_path)  # the archive audits the change itself
        assert (entry["action"], entry["actor"], entry["file_hash"]) == ("synonyms", "jimu", sha256(text.encode()))
    else:
        with pytest.raises(KbError) as e:
            publish.save_synonyms(data, text)
        assert any("\u3040" <= ch <= "\u30ff" for ch in str(e.value))  # a Japanese message
        assert not (tmp_path / "synonyms.yaml").exists() and not audit.entries(tmp_path)


def test_preview_of_a_caption_file(tmp_path):
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v 北条>はじめます。\n\n00:01:05.000 --> 00:01:09.000\n<v 田村>質問です。\n"
    p = tmp_path / "s.vtt"
    p.write_text(vtt, encoding="utf-8")
    doc = load_document(p, overrides={"session": 3, "visibility": "public"})
    pv = publish.preview(doc)
    assert pv.timestamps and pv.turns == 2 and pv.session == 3 and pv.encoding
    assert dict(pv.speakers) == {"北条": 1, "田村": 1}


UPLOAD = "---\nid: up1\ntitle: 第3回\n---\n【田村】ヨシキリの件です。\n"


@pytest.fixture
def archived(tmp_path):
    from indexer import archive

    from helpers import write_corpus

    corpus = write_corpus(tmp_path / "corpus")
    data = DataDir.at(tmp_path / "data")
    archive.index_corpus(corpus, data)
    return data


def test_staged_upload_is_private_and_removed(tmp_path):
    data_dir = tmp_path / "data"
    with publish.staged_upload(DataDir.at(data_dir), "../第3回 議事録.md", b"x") as p:
        assert p.name == "第3回_議事録.md" and p.read_bytes() == b"x"
        assert p.parent.parent == (data_dir / "uploads").resolve() and p.parent.name.startswith(".staging-")
    assert not p.parent.exists() and list((data_dir / "uploads").iterdir()) == []
    with pytest.raises(KbError, match="対応していない"), publish.staged_upload(DataDir.at(data_dir), "evil.exe", b"x"):
        pass


def test_publish_uploads_goes_through_the_archive(archived):
    from indexer import Index, archive
    from indexer.archive import audit, check, kept

    res = publish.publish_uploads(archived, [("../up 1.md", UPLOAD.encode())], {"session": "3"}, actor="jimu")
    assert res.done == [("up1", "added")] and not res.errors
    assert (archived.root / "uploads" / "up_1.md").read_bytes() == UPLOAD.encode()
    [src] = [s for s in kept.stored_sources(archived.root)[0] if "up1" in s.doc_ids]
    assert src.meta["name"] == "up_1.md" and src.meta["overrides"] == {"session": "3"}
    assert check.check(archived) == []
    assert [(e["action"], e["actor"], e["doc_id"]) for e in audit.entries(archived.root)
            if e["action"] != "index"] == [("add", "jimu", "up1")]
    # the same bytes again: unchanged, no audit entry
    n = len(audit.entries(archived.root))
    assert publish.publish_uploads(archived, [("up 1.md", UPLOAD.encode())], {"session": "3"},
                                  actor="jimu").done == [("up1", "unchanged")]
    assert len(audit.entries(archived.root)) == n
    assert "up1" in archive.rebuild(archived).doc_ids()
    assert Index(archived.index).document_meta("up1")["session"] == 3


def test_publish_uploads_one_bad_file_writes_nothing(archived):
    from indexer.archive import kept

    res = publish.publish_uploads(archived, [("ok.md", UPLOAD.encode()), ("bad.md", b"---\nsession: x\n---\n")],
                                 actor="jimu")
    assert not res.done and res.errors and res.errors[0].startswith("bad.md")
    assert not [s for s in kept.stored_sources(archived.root)[0] if "up1" in s.doc_ids]


def test_publish_uploads_refused_while_another_writer_holds_the_lock(archived, monkeypatch):
    from indexer import archive
    from indexer.archive import files

    monkeypatch.setenv("KB_WRITE_TIMEOUT", "0.1")
    with files.write_lock(archived.root), pytest.raises(KbError, match="他の更新作業"):
        publish.publish_uploads(archived, [("up.md", UPLOAD.encode())], actor="jimu")
    assert "up1" not in archive.open_index(archived).doc_ids()


def test_unsourced_documents(archived):
    from indexer import Index

    ix = Index(archived.index)
    assert publish.unsourced_documents(archived, ix) == []
    ix.put([Document(id="stray", title="x", segments=[Segment(0, "原本なし")])])  # written around the archive
    assert publish.unsourced_documents(archived, ix) == ["stray"]


def test_save_synonyms_waits_for_the_write_lock(tmp_path, monkeypatch):
    from indexer.archive import files

    monkeypatch.setenv("KB_WRITE_TIMEOUT", "0.1")
    with files.write_lock(tmp_path), pytest.raises(KbError, match="他の更新作業"):
        publish.save_synonyms(DataDir.at(tmp_path), "DX: [デジタル]\n")
    assert not (tmp_path / "synonyms.yaml").exists()


def test_browse_has_no_direct_index_writer():
    """Every write goes through `indexer.archive` (lock, sources, audit): no rebuild or build around it."""
    from indexer.index import store
    from indexer.ingest import loading

    assert not hasattr(browse, "rebuild") and not hasattr(browse, "build_index")
    assert not hasattr(store, "build_index") and not hasattr(loading, "add_files")
    assert not hasattr(loading, "index_corpus")


def test_build_kb_helper_still_works(tmp_path):
    assert build_kb(tmp_path).stats("public")["documents"] == 2
