"""The ranking engine's arrays: an index with nothing to find opens and answers (no segment yet, or every
document removed); a kana compound is found as its words' readings; a turn's text joins its passages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.index.store import Index
from indexer.models import Document, Segment
from indexer.search.kb import KnowledgeBase

ROLES = ("public", "member", "secretariat")
QUERIES = ("内製化", "クラウド 契約", "内製化で費用は下がったのでしょうか", '"推進体制"', "speaker:北条 内製化", "ないせいか")


def _docs() -> list[Document]:
    texts = ["内製化を進めました。", "クラウドの契約について、費用は下がったかという質問です。", "推進体制の整備。"]
    return [Document(id=f"d{d}", type="transcript", title=f"第{d + 1}回 内製化", source="x.md", date="2025-06-17",
                     session=d + 1,
                     segments=[Segment(order=i, text=t, speaker="北条真琴", visibility=("public", "members")[i % 2])
                               for i, t in enumerate(texts)])
            for d in range(2)]


def _never_committed(path: Path) -> Index:
    return Index(path, create=True)


def _reopened_before_first_commit(path: Path) -> Index:
    """What a process killed before its first commit leaves: the created index, opened again."""
    Index(path, create=True)
    return Index(path)


def _every_document_removed(path: Path) -> Index:
    ix = Index(path, create=True)
    ix.put(_docs())
    assert KnowledgeBase(ix).search("内製化", role="member").total > 0  # the arrays were read once
    for doc in _docs():
        assert ix.remove(doc.id) > 0
    return ix


def _every_document_removed_and_reopened(path: Path) -> Index:
    return Index(_every_document_removed(path).path)


@pytest.fixture(params=[_never_committed, _reopened_before_first_commit, _every_document_removed,
                        _every_document_removed_and_reopened])
def empty_index(request, tmp_path) -> Index:
    return request.param(tmp_path / "index")


@pytest.mark.parametrize("sort", ["relevance", "date", "date_asc"])
def test_searching_an_empty_index_finds_nothing(empty_index, sort):
    kb = KnowledgeBase(empty_index)
    for role in ROLES:
        for query in QUERIES:
            res = kb.search(query, role=role, sort=sort)
            assert res.total == 0 and res.hits == [], (role, query)
            assert all(counts == {} for counts in res.facets.values())
    assert kb.document("d0", role="member") is None


def test_stats_of_an_empty_index_are_zero(empty_index):
    kb = KnowledgeBase(empty_index)
    for role in ROLES:
        stats = kb.stats(role)
        assert (stats["documents"], stats["turns"], stats["passages"], stats["speakers"]) == (0, 0, 0, 0)
        assert stats["sessions"] == [] and stats["by_type"] == {}


def test_the_snapshot_of_an_empty_index_has_empty_arrays(empty_index):
    _, snap = empty_index.reading()
    assert snap.live.sum() == 0 and (snap.turn_rep == -1).all()  # removed passages stay, as deleted
    assert all(len(v) == snap.n for v in snap.lengths.values())
    assert all(len(c.codes) == snap.n for c in snap.cols.values())


def test_an_empty_index_takes_documents_afterwards(empty_index):
    kb = KnowledgeBase(empty_index)
    assert kb.search("内製化", role="member").total == 0  # the empty snapshot is cached first
    empty_index.put(_docs())
    assert kb.search("内製化", role="member").total == 2
    assert kb.search("内製化", role="public").total == 2  # the members-only turns stay hidden
    assert kb.stats("member")["documents"] == 2


def test_a_kana_compound_is_found_as_its_words_readings(tmp_path):
    ix = Index(tmp_path / "index", create=True)
    ix.put(_docs())
    searcher, snap = ix.reading()
    leaves = searcher.reader().leaf_readers()
    assert snap.term_postings(leaves, "reading", "ナイセイカ")[0].size == 0  # not indexed whole
    assert snap.reading_parts(leaves, "reading", "ナイセイカ") == ["ナイセイ", "カ"]
    docs, tf = snap.postings(leaves, "reading", "ナイセイカ")
    both = np.intersect1d(snap.term_postings(leaves, "reading", "ナイセイ")[0],
                          snap.term_postings(leaves, "reading", "カ")[0])
    assert docs.tolist() == both.tolist() and len(docs) and (tf >= 1).all()
    assert snap.reading_parts(leaves, "reading", "ズズズズ") == []


def test_a_turn_text_joins_its_passages(tmp_path):
    long = "内製化を進めました。" * 60  # 600 characters: two passages
    doc = Document(id="long", type="transcript", title="長い発言", source="x.md", date="2025-06-17",
                   segments=[Segment(order=0, text=long, speaker="北条真琴")])
    ix = Index(tmp_path / "index", create=True)
    ix.put([doc])
    searcher, snap = ix.reading()
    assert snap.n == 2 and snap.turn_docs(1) == [0, 1]
    assert snap.turn_text(searcher, 1) == long == snap.turn_text(searcher, 0)
    hit = KnowledgeBase(ix).search("内製化", role="public").hits[0]
    assert hit.text == long


def test_columns_of_several_segments_decode_to_their_values(tmp_path):
    from indexer.index.internals import read_string_column
    from indexer.index.schema import ARRAY_COLUMNS

    ix = Index(tmp_path / "index", create=True)
    docs = _docs()
    for n, doc in enumerate(docs):  # one segment per document, then a replacement deletes passages
        doc.segments[1].answers_to = 0
        doc.segments[2].speaker = f"話者{n}"
        ix.put([doc])
    ix.put([docs[0]])
    searcher, snap = ix.reading()
    leaves = searcher.reader().leaf_readers()
    assert len(leaves) >= 2
    for name in ARRAY_COLUMNS:
        raw = np.concatenate([read_string_column(r, name, r.doc_count_all()) for r, _ in leaves]).astype(str)
        col = snap.cols[name]
        assert col.values[col.codes].tolist() == raw.tolist(), name
        assert col.values.tolist() == sorted(set(raw.tolist()))
    answers = [snap.turn.values[t] for t in snap.answer_turns.tolist()]
    questions = [snap.turn.values[t] for t in snap.question_turns.tolist()]
    assert sorted(zip(answers, questions, strict=True)) == sorted((f"d{d}#0001", f"d{d}#0000") for d in range(2))


def test_postings_over_all_segments_are_remembered_per_snapshot(tmp_path):
    ix = Index(tmp_path / "index", create=True)
    for doc in _docs():  # two segments
        ix.put([doc])
    searcher, snap = ix.reading()
    leaves = searcher.reader().leaf_readers()
    first = snap.postings(leaves, "text", "内製")
    assert snap.postings(leaves, "text", "内製") is first and len(first[0]) == 2  # one per document
    public = snap.visible_postings(leaves, "text", "内製", public_only=True)
    assert snap.visible_postings(leaves, "text", "内製", public_only=True) is public
    assert set(public[0].tolist()) <= set(first[0].tolist())
    ix.put([_docs()[0]])  # a new generation: a new snapshot, nothing carried over
    searcher, again = ix.reading()
    assert again is not snap and again.postings(searcher.reader().leaf_readers(), "text", "内製")[0].size == 2
