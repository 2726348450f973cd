"""Members-only stays members-only, in every output channel, for every role.

Two indexes are built through the `kb` command line: FULL (the tiny corpus of tests/helpers.py plus a
members-only document with Q&A, the members-only discussion of a public transcript, and a JSONL
meeting imported with `kb import` whose last line is members-only) and PUBLIC_ONLY (the same corpus
with every members-only part left out). A public reader of FULL must get exactly what any reader of
PUBLIC_ONLY gets: not a marker word, not a count, not a facet. Members and the secretariat see all.

Channels × roles (public / member / secretariat):
  kb.search (hits, snippet, text, total, every facet), kb.document, kb.stats, kb.highlight,
  `kb search --json`, `kb show --json`, `kb stats --json`, and indexer.search.browse (related, qa_pairs,
  speakers, trend, results_csv, documents) when that module provides them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json

import pytest

from indexer.cli.commands import main
from indexer.index.store import Index
from indexer.search.kb import Filters, KnowledgeBase

from helpers import TRANSCRIPT, write_corpus

MEMBER_ROLES = ("member", "secretariat")
ROLES = ("public", *MEMBER_ROLES)
#: Words that occur only in members-only content (翠嵐: discussion of public t1; カワセミ: members doc
#: m2; 蒼穹, 黒江 (a speaker heard only there): members doc m1; 瑠璃鶲: members-only JSONL line).
MARKERS = ("カワセミ", "翠嵐", "蒼穹", "瑠璃鶲", "黒江")

MEMO = """\
---
id: m1
session: 1
type: transcript
visibility: members
title: 第1回 会員メモ
---
## 質疑応答
田村：蒼穹プロジェクトの内製化は順調ですか？
佐伯：サーバー費用の内訳は蒼穹メモにあります。
## ディスカッション
黒江：内製化は大事です。推進体制とサーバーの話もしました。
"""
JSONL = [
    {"id": "j1", "meeting": "例会", "date": "2025-09-01", "speaker": "佐伯", "text": "内製化の進捗を報告します。"},
    {"id": "j2", "meeting": "例会", "date": "2025-09-01", "speaker": "田村", "text": "サーバーの費用はどうですか。"},
    {"id": "j3", "meeting": "例会", "date": "2025-09-01", "speaker": "田村", "visibility": "members",
     "text": "瑠璃鶲の件は内製化とサーバーに関係します。"},
]
JSONL_DOC = "2025-09-01-例会"
#: Queries whose public answers must not change when members-only content is added.
SHARED_QUERIES = ("内製化", "サーバー", "内製化 サーバー", "推進体制", "費用は下がったか", "北条", "田村", "佐伯",
                  "内製化 カワセミ", "翠嵐 OR 内製化", "speaker:田村 内製化", "session:1 サーバー",
                  "session:2 カワセミ", "part:discussion 内製化", "type:transcript サーバー", "黒江")


def _kb_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code, out.getvalue(), err.getvalue()


def _build(root, full: bool):
    corpus = write_corpus(root / "corpus")
    if full:
        (corpus / "s01" / "memo.md").write_text(MEMO, encoding="utf-8")
    else:
        (corpus / "s02" / "members.md").unlink()
        (corpus / "s01" / "transcript.md").write_text(TRANSCRIPT.split("## ディスカッション")[0], encoding="utf-8")
    index = root / "index"
    assert _kb_cli("--index", str(index), "index", str(corpus))[0] == 0
    lines = JSONL if full else [r for r in JSONL if r.get("visibility") != "members"]
    jsonl = root / "meeting.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\n", encoding="utf-8")
    assert _kb_cli("--index", str(index), "import", str(jsonl))[0] == 0
    return index


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    full = _build(tmp_path_factory.mktemp("full"), full=True)
    public_only = _build(tmp_path_factory.mktemp("public_only"), full=False)
    return full, public_only


@pytest.fixture(scope="module")
def kbs(indexes):
    return KnowledgeBase(Index(indexes[0])), KnowledgeBase(Index(indexes[1]))


def _plain(obj):
    """JSON-able form of results (dataclasses, tuples) for comparison and marker search."""
    if dataclasses.is_dataclass(obj):
        obj = dataclasses.asdict(obj)
    return json.loads(json.dumps(obj, ensure_ascii=False, default=lambda o: dataclasses.asdict(o)))


def _without(obj, *keys):
    """`obj` with the given keys dropped at every depth."""
    if isinstance(obj, dict):
        return {k: _without(v, *keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [_without(v, *keys) for v in obj]
    return obj


ECHO = ("query", "message", "notes", "suggestions")  # where a search says the query's own words back


def _echoes(obj):
    """Every dict of `obj` (at any depth) that carries a query."""
    if isinstance(obj, dict):
        if "query" in obj:
            yield obj
        for v in obj.values():
            yield from _echoes(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _echoes(v)


def _no_markers(obj) -> None:
    """No marker anywhere in `obj`, except a marker the query itself holds, said back in the query and in
    the notes and suggestions that name its words (「カワセミ」を含む発言は見つかりませんでした)."""
    plain = _plain(obj)
    text = json.dumps(_without(plain, *ECHO), ensure_ascii=False)
    assert not [m for m in MARKERS if m in text], text[:500]
    for res in _echoes(plain):
        said = json.dumps([res.get(k) for k in ECHO[1:]], ensure_ascii=False)
        assert not [m for m in MARKERS if m in said and m not in str(res["query"])], said[:500]


def _search(kb, q, role, **kw):
    return kb.search(q, role=role, page_size=50, **kw).to_dict()


# -- kb.search -----------------------------------------------------------------------------------
@pytest.mark.parametrize("marker", MARKERS)
def test_search_public_sees_no_marker(kbs, marker):
    full, _ = kbs
    for q in (marker, f"{marker} 内製化", f'"{marker}"', f"{marker}について議論したか"):
        res = _search(full, q, "public")
        _no_markers(res)
        assert all(h["visibility"] == "public" for h in res["hits"])


@pytest.mark.parametrize("role", MEMBER_ROLES)
@pytest.mark.parametrize("marker", MARKERS)
def test_search_members_see_marker(kbs, role, marker):
    res = _search(kbs[0], marker, role)
    assert res["total"] >= 1 and any(marker in h["text"] or marker == h["speaker"][:2] for h in res["hits"])
    assert any(h["visibility"] == "members" for h in res["hits"])


@pytest.mark.parametrize("sort", ["relevance", "date", "date_asc"])
@pytest.mark.parametrize("q", SHARED_QUERIES)
def test_public_search_identical_to_public_only_index(kbs, q, sort):
    """Everything is identical: hits (ids, order, scores, snippets, texts, metadata), total, every facet,
    mode and message. Scores too: BM25 statistics must count only what the role may see, or a score
    would reveal how often a word occurs in members-only text."""
    full, public_only = kbs
    a, b = _search(full, q, "public", sort=sort), _search(public_only, q, "public", sort=sort)
    assert a == b
    _no_markers(a)


@pytest.mark.parametrize("f", [Filters(speaker="黒江"), Filters(sessions=[2]), Filters(part="discussion"),
                               Filters(doc_type="transcript", sessions=[1]), Filters(speaker="田村")])
def test_public_filters_identical(kbs, f):
    full, public_only = kbs
    for q in ("内製化", "サーバー", "カワセミ"):
        a = full.search(q, f, role="public", page_size=50).to_dict()
        b = public_only.search(q, f, role="public", page_size=50).to_dict()
        assert a == b


@pytest.mark.parametrize("sort", ["relevance", "date", "date_asc"])
def test_public_paging_identical(kbs, sort):
    full, public_only = kbs
    for page in (1, 2, 3):
        a = full.search("内製化 OR サーバー", role="public", page=page, page_size=2, sort=sort).to_dict()
        b = public_only.search("内製化 OR サーバー", role="public", page=page, page_size=2, sort=sort).to_dict()
        assert a == b


@pytest.mark.parametrize("q", ["カワセミ role:member", "カワセミ role:secretariat", "visibility:members カワセミ",
                               "翠嵐 visibility:public", "蒼穹 type:transcript"])
def test_query_text_cannot_raise_the_role(kbs, q):
    _no_markers(_search(kbs[0], q, "public"))


# -- kb.document ---------------------------------------------------------------------------------
def test_document_members_only_is_missing_for_public(kbs):
    full, _ = kbs
    for doc_id in ("m1", "m2"):
        assert full.document(doc_id, "public") is None
        assert full.document("no-such-doc", "public") is None
        for role in MEMBER_ROLES:
            doc = full.document(doc_id, role)
            assert doc is not None and doc.visibility == "members"


@pytest.mark.parametrize("doc_id", ["t1", "r1", JSONL_DOC])
def test_public_document_identical_to_public_only_index(kbs, doc_id):
    full, public_only = kbs
    a, b = full.document(doc_id, "public"), public_only.document(doc_id, "public")
    assert a is not None and _plain(a) == _plain(b)
    _no_markers(a)


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_members_see_members_only_turns(kbs, role):
    full, _ = kbs
    t1 = full.document("t1", role)
    assert any("翠嵐" in s.text and s.visibility == "members" for s in t1.segments)
    assert any("瑠璃鶲" in s.text for s in full.document(JSONL_DOC, role).segments)
    assert t1.content_hash  # members get the hashes; the public never does
    assert not full.document("t1", "public").content_hash and not full.document("t1", "public").fingerprint


# -- kb.stats ------------------------------------------------------------------------------------
def test_stats(kbs):
    full, public_only = kbs
    assert _without(full.stats("public"), "index") == _without(public_only.stats("public"), "index")
    pub, mem = full.stats("public"), full.stats("member")
    assert mem == full.stats("secretariat")
    assert mem["documents"] > pub["documents"] and mem["turns"] > pub["turns"] and mem["speakers"] > pub["speakers"]
    assert "2" in mem["sessions"] and "2" not in pub["sessions"]


# -- kb.highlight --------------------------------------------------------------------------------
def test_highlight_only_marks_the_given_text(kbs):
    """highlight() reads no index: it can only mark text the caller already holds for the role."""
    text = "内製化とサーバーの話です。"
    for q in MARKERS:
        assert KnowledgeBase.highlight(text, q) == text.replace("<", "&lt;")
    assert "<mark>" in KnowledgeBase.highlight(text, "内製化 カワセミ")


# -- command line --------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("q", ["カワセミ", "翠嵐", "瑠璃鶲", "蒼穹", "内製化", "サーバー", "黒江"])
def test_cli_search_json(indexes, role, q):
    full, public_only = indexes
    code, out, _ = _kb_cli("--index", str(full), "search", q, "--json", "--role", role, "--limit", "50")
    data = json.loads(out)
    assert code == 0
    if role == "public":
        _no_markers(data)
        _, out2, _ = _kb_cli("--index", str(public_only), "search", q, "--json", "--role", role, "--limit", "50")
        assert data == json.loads(out2)
    elif q in MARKERS:
        assert data["total"] >= 1 and any(h["visibility"] == "members" for h in data["hits"])


def test_cli_show_members_only_same_as_missing(indexes):
    full, _ = indexes
    for role in ROLES:
        for doc_id in ("m1", "m2", "no-such-doc"):
            code, out, err = _kb_cli("--index", str(full), "show", doc_id, "--json", "--role", role)
            if role == "public" or doc_id == "no-such-doc":
                assert (code, out, err) == (1, "", f"kb: 文書が見つかりません: {doc_id}\n")
            else:
                assert code == 0 and json.loads(out)["id"] == doc_id
    for doc_id in ("m1", "m2"):  # and the plain-text form too
        assert _kb_cli("--index", str(full), "show", doc_id)[:2] == (1, "")


@pytest.mark.parametrize("doc_id", ["t1", JSONL_DOC])
def test_cli_show_public_document(indexes, doc_id):
    full, public_only = indexes
    a = _kb_cli("--index", str(full), "show", doc_id, "--json", "--role", "public")
    b = _kb_cli("--index", str(public_only), "show", doc_id, "--json", "--role", "public")
    assert a == b and a[0] == 0
    _no_markers(json.loads(a[1]))
    plain = _kb_cli("--index", str(full), "show", doc_id, "--role", "public")
    assert plain[0] == 0 and not [m for m in MARKERS if m in plain[1]]
    member = _kb_cli("--index", str(full), "show", doc_id, "--json", "--role", "member")
    assert any(m in member[1] for m in MARKERS)


def test_cli_stats_json(indexes):
    full, public_only = indexes
    a = json.loads(_kb_cli("--index", str(full), "stats", "--json", "--role", "public")[1])
    b = json.loads(_kb_cli("--index", str(public_only), "stats", "--json", "--role", "public")[1])
    assert _without(a, "index") == _without(b, "index")
    m = json.loads(_kb_cli("--index", str(full), "stats", "--json", "--role", "member")[1])
    assert m["turns"] > a["turns"]


# -- indexer.search.browse (written concurrently; skipped when absent) ------------------------------------
def _browse(name: str):
    browse = pytest.importorskip("indexer.search.browse")
    fn = getattr(browse, name, None)
    if fn is None:
        pytest.skip(f"indexer.search.browse.{name} がまだありません")
    return fn


def test_browse_speakers(kbs):
    speakers = _browse("speakers")
    full, public_only = kbs
    assert _plain(speakers(full, role="public")) == _plain(speakers(public_only, role="public"))
    _no_markers(speakers(full, role="public"))
    for role in MEMBER_ROLES:
        assert "黒江" in {s.name for s in speakers(full, role=role)}


def test_browse_qa_pairs(kbs):
    qa_pairs = _browse("qa_pairs")
    full, public_only = kbs
    for kw in ({}, {"query": "蒼穹"}, {"query": "内製化"}, {"answerer": "佐伯"}, {"session": 1}):
        a = qa_pairs(full, role="public", **kw)
        assert _plain(a) == _plain(qa_pairs(public_only, role="public", **kw))
        _no_markers(a)
    assert any("蒼穹" in p.question.text for p in qa_pairs(full, role="member"))


@pytest.mark.parametrize("q", ["内製化", "サーバー", "カワセミ", "黒江", "瑠璃鶲"])
def test_browse_trend(kbs, q):
    trend = _browse("trend")
    full, public_only = kbs
    a = trend(full, q, role="public")
    assert _plain(a) == _plain(trend(public_only, q, role="public"))
    _no_markers(a)
    assert trend(full, "カワセミ", role="member").total >= 1


@pytest.mark.parametrize("q", ["内製化", "サーバー", "カワセミ", "翠嵐"])
def test_browse_results_csv(kbs, q):
    results_csv = _browse("results_csv")
    full, public_only = kbs
    a = results_csv(full, q, role="public")
    assert a == results_csv(public_only, q, role="public")
    assert not [m for m in MARKERS if m in a]
    assert "カワセミ" in results_csv(full, "カワセミ", role="secretariat")


def test_browse_documents(kbs):
    documents = _browse("documents")
    full, public_only = kbs
    assert _plain(documents(full, role="public")) == _plain(documents(public_only, role="public"))
    assert {"m1", "m2"} <= {d.id for d in documents(full, role="member")}


def test_browse_related_hides_members_only_turns(kbs):
    related = _browse("related")
    full, _ = kbs
    turns = full.search("内製化 OR サーバー OR 推進体制 OR 翠嵐", role="member", page_size=50).hits
    assert {"members", "public"} <= {h.visibility for h in turns}
    for turn in turns:
        hits = related(full, turn.id, role="public")
        _no_markers(hits)
        assert all(h.visibility == "public" for h in hits)
        if turn.visibility == "members":
            assert hits == []  # a members-only turn is not even a starting point


def test_browse_related_identical_to_public_only_index(kbs):
    related = _browse("related")
    full, public_only = kbs
    seg_ids = [h.id for h in public_only.search("内製化 OR サーバー OR 推進体制", role="public", page_size=50).hits]
    for seg_id in seg_ids:
        assert _plain(related(full, seg_id, role="public")) == _plain(related(public_only, seg_id, role="public"))
