"""The bulk segment writer: the same files as Whoosh's own writer, and the same index from 1 or 2 processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import SegmentWriter

from indexer.index import blocks, pool
from indexer.index.bulk import BulkWriter
from indexer.index.schema import make_schema
from indexer.index.store import Index, _records, _split
from indexer.models import Document, Segment
from indexer.search.kb import KnowledgeBase

TEXTS = [
    "内製化を進めました。ネットワークの内製化と決裁システムの内製化です。",
    "パブリッククラウドの直接契約について、費用は下がったかという質問がありました。" * 30,
    "ＤＸ推進体制とｸﾗｳﾄﾞ、①から㈱まで。LGWAN-ASPの話。",
    "防災と予算。サーバーの更新。",
]


def _docs(texts: list[str], n_docs: int = 3) -> list[Document]:
    docs = []
    for d in range(n_docs):
        segs = [Segment(order=i, text=t, speaker=["北条真琴", "佐伯一郎", ""][i % 3], part="qa",
                        visibility="members" if (i + d) % 4 == 3 else "public",
                        qa="question" if i % 2 == 0 else "answer", answers_to=i - 1 if i % 2 else None)
                for i, t in enumerate(texts)]
        docs.append(Document(id=f"doc{d}", type="transcript", title=f"第{d + 1}回 内製化", source="x.md",
                             date=f"2025-0{d + 1}-10", session=d + 1, segments=segs))
    return docs


def _segment_files(path: Path) -> dict[str, bytes]:
    """The segment's files by their name without the (random) segment id."""
    return {f.split(".", 1)[1]: (path / f).read_bytes() for f in os.listdir(path)
            if f.startswith("MAIN_") and "." in f and not f.endswith(".toc")}


def _write(path: Path, writer_class, docs: list[Document], blocklimit: int = 128) -> dict[str, bytes]:
    path.mkdir()
    ix = whoosh_index.create_in(str(path), make_schema())
    w = writer_class(ix, compound=False, codec=W3Codec(blocklimit=blocklimit))
    for doc in docs:
        for rec in _records(doc):
            w.add_document(**rec)
    w.commit()
    return _segment_files(path)


@pytest.mark.parametrize("blocklimit, small", [(128, False), (3, False), (3, True)])  # 3: several blocks a term
def test_bulk_writer_writes_the_same_bytes_as_whoosh(tmp_path, monkeypatch, blocklimit, small):
    if small:  # postings turned into lists a few blocks at a time, bigrams and terms a few records at a time
        monkeypatch.setattr(blocks, "_CHUNK", 5)
        monkeypatch.setattr(pool, "BATCH_CHARS", 50)
        monkeypatch.setattr(pool, "BATCH_TERMS", 20)
    whoosh_files = _write(tmp_path / "whoosh", SegmentWriter, _docs(TEXTS), blocklimit)
    bulk_files = _write(tmp_path / "bulk", BulkWriter, _docs(TEXTS), blocklimit)
    assert {"trm", "pst", "_stored.col", "_text_len.col"} <= set(whoosh_files)
    assert set(bulk_files) == set(whoosh_files)
    for name in whoosh_files:
        assert bulk_files[name] == whoosh_files[name], name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.sampled_from(list("内製化をクラウドｸﾗｳﾄﾞ進めたＤＸdx　 \n。予算防災")),
                        min_size=1, max_size=300), min_size=1, max_size=6))
def test_bulk_writer_matches_whoosh_on_any_text(tmp_path_factory, texts):
    base = tmp_path_factory.mktemp("bulk")
    for blocklimit in (128, 2):
        assert (_write(base / f"bulk{blocklimit}", BulkWriter, _docs(texts, 2), blocklimit)
                == _write(base / f"whoosh{blocklimit}", SegmentWriter, _docs(texts, 2), blocklimit))


def _results(ix: Index) -> list:
    kb = KnowledgeBase(ix)
    out = []
    for q in ("内製化", "クラウド 契約", "費用は下がったか", "ないせいか", "北条"):
        res = kb.search(q, role="member")
        out.append((res.total, [(h.id, round(h.score, 5), h.text) for h in res.hits]))
    return out


def test_two_processes_build_the_same_index_as_one(tmp_path):
    docs = _docs(TEXTS, 6)
    one = Index(tmp_path / "one", create=True)
    one.put(docs, procs=1)
    steps = []
    two = Index(tmp_path / "two", create=True)
    two.put(docs, procs=2, progress=lambda done, total: steps.append((done, total)))
    assert len(two.ix.reader().leaf_readers()) == 2  # one segment per process
    assert steps[-1] == (6, 6)
    assert _results(two) == _results(one)
    assert sorted(two.doc_ids()) == sorted(one.doc_ids())


def test_whoosh_itself_opens_searches_and_merges_the_bulk_segments(tmp_path):
    from whoosh.qparser import QueryParser

    ix = Index(tmp_path / "ix", create=True)
    ix.put(_docs(TEXTS, 6), procs=2)
    before = _results(ix)
    with ix.ix.searcher() as s:  # Whoosh's own BM25F over the counts-only postings
        hits = s.search(QueryParser("text", ix.ix.schema).parse("内製"), limit=None)
        assert len(hits) == 6 and hits[0].score > 0
    w = SegmentWriter(ix.ix)  # Whoosh's own writer and pool merge the two segments into one
    w.commit(optimize=True)
    merged = Index(ix.path)
    assert len(merged.ix.reader().leaf_readers()) == 1
    assert _results(merged) == before


def test_incremental_adds_merge_into_the_same_results(tmp_path):
    docs = _docs(TEXTS, 6)
    whole = Index(tmp_path / "whole", create=True)
    whole.put(docs)
    parts = Index(tmp_path / "parts", create=True)
    for doc in docs:  # six commits: Whoosh merges the small segments (through the bulk writer's pool)
        parts.put([doc])
    parts.put(docs[:2])  # replacing deletes the old passages
    assert _results(parts) == _results(whole)


@pytest.mark.parametrize("sizes, parts, expected", [
    ([10, 10, 10, 10], 2, [2, 2]),
    ([100, 1, 1, 1], 2, [1, 3]),
    ([5], 2, [1]),
    ([1, 1, 1], 3, [1, 1, 1]),
])
def test_split_keeps_order_and_balances_text(sizes, parts, expected):
    docs = [Document(id=str(i), type="report", title="", source="", segments=[Segment(order=0, text="あ" * n)])
            for i, n in enumerate(sizes)]
    runs = _split(docs, parts)
    assert [len(r) for r in runs] == expected
    assert [d.id for r in runs for d in r] == [d.id for d in docs]


def test_a_repeated_document_is_indexed_once_in_parallel_too(tmp_path):
    first, second = _docs(TEXTS, 2)
    again = _docs(["改訂版の本文です。内製化の続き。"], 1)[0]  # the same id as `first`, other text
    for procs in (1, 2):
        ix = Index(tmp_path / f"p{procs}", create=True)
        ix.put([first, second, again], procs=procs)
        kb = KnowledgeBase(ix)
        assert kb.search("改訂版", role="member").total == 1
        assert kb.search("パブリッククラウド", role="member").total == len(TEXTS) // 4  # only doc1's turn


@pytest.mark.parametrize("chars, expected", [(10, 1), (1_999_999, 1), (2_000_000, min(2, os.cpu_count() or 1))])
def test_auto_procs_starts_processes_only_for_a_large_archive(chars, expected):
    from indexer.index.store import auto_procs

    docs = [Document(id="a", type="report", title="", source="", segments=[Segment(order=0, text="あ" * chars)])]
    assert auto_procs(docs) == expected
