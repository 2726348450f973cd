"""The index on disk, written through the archive: incremental add/replace/remove, idempotency, atomic failure,
version check."""

import json

import pytest

from indexer.archive.actions import add_files, index_corpus, remove
from indexer.archive.datadir import DataDir
from indexer.errors import IndexError_
from indexer.index.store import VERSION_FILE, Index
from indexer.ingest.catalogue import Catalogue
from indexer.search.kb import KnowledgeBase

from helpers import write_corpus


@pytest.fixture
def setup(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    data = DataDir.at(tmp_path / "data")
    ix = index_corpus(corpus, data)
    return corpus, data, ix


def _snapshot(ix):
    kb = KnowledgeBase(ix)
    return sorted(ix.doc_ids()), [h.id for h in kb.search("内製化", role="member").hits]


def test_readding_an_unchanged_file_changes_nothing(setup):
    corpus, data, ix = setup
    gen = ix.ix.latest_generation()
    res = add_files(data, [corpus / "s01" / "report.md"])
    assert res[0].status == "unchanged"
    assert ix.ix.latest_generation() == gen


def test_changed_file_replaces_its_segments(setup, tmp_path):
    corpus, data, ix = setup
    p = corpus / "s01" / "report.md"
    p.write_text(p.read_text(encoding="utf-8").replace("防災", "減災"), encoding="utf-8")
    assert add_files(data, [p])[0].status == "replaced"
    kb = KnowledgeBase(ix)
    assert kb.search("防災", role="member").total == 0
    assert kb.search("減災", role="member").total == 1
    assert ix.doc_ids().count("r1") == 1


def test_new_file_is_added_and_remove_by_id(setup, tmp_path):
    corpus, data, ix = setup
    p = tmp_path / "new.md"
    p.write_text("---\nid: n1\nsession: 2\n---\nLGWANの分離について。", encoding="utf-8")
    assert add_files(data, [p])[0].status == "added"
    assert KnowledgeBase(ix).search("LGWAN", role="public").total == 1
    assert remove(data, "n1") > 0
    assert KnowledgeBase(ix).search("LGWAN", role="public").total == 0
    assert remove(data, "n1") == 0


def test_a_bad_file_leaves_the_index_exactly_as_it_was(setup, tmp_path):
    corpus, data, ix = setup
    before = _snapshot(ix)
    gen = ix.ix.latest_generation()
    good = tmp_path / "good.md"
    good.write_text("---\nid: g1\n---\n内製化の追加資料。", encoding="utf-8")
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: [broken\n---\n本文", encoding="utf-8")
    res = add_files(data, [good, bad])
    assert [r.status for r in res] == ["parsed", "error"]
    assert _snapshot(ix) == before and ix.ix.latest_generation() == gen


def test_dry_run_writes_nothing(setup, tmp_path):
    corpus, data, ix = setup
    gen = ix.ix.latest_generation()
    p = tmp_path / "x.md"
    p.write_text("【北条座長】ドライラン\n田村：質問です。", encoding="utf-8")
    res = add_files(data, [p], dry_run=True, catalogue=Catalogue.load(corpus))
    assert res[0].document.segments[0].speaker == "北条真琴"
    assert ix.ix.latest_generation() == gen


def test_version_mismatch_is_detected(setup):
    _, _, ix = setup
    (ix.path / VERSION_FILE).write_text(json.dumps({"schema": 0, "analyzer": 0}))
    with pytest.raises(IndexError_, match="作り直して"):
        Index(ix.path)


def test_missing_index(tmp_path):
    with pytest.raises(IndexError_, match="見つかりません"):
        Index(tmp_path / "none")


def test_full_rebuild_swaps_in_place(setup, tmp_path):
    corpus, data, ix = setup
    (corpus / "s01" / "report.md").unlink()
    ix2 = index_corpus(corpus, data)
    assert "r1" not in ix2.doc_ids() and "t1" in ix2.doc_ids()
    assert not any(p.name.startswith(".kb-build-") for p in ix.path.parent.iterdir())


def test_long_turns_are_passages_but_stay_whole(tmp_path):
    p = tmp_path / "long.md"
    body = "".join(f"第{i}の論点は内製化です。" for i in range(200))
    p.write_text("---\nid: L\ntype: transcript\nvisibility: public\n---\n【北条座長】" + body + "最後に防災。",
                 encoding="utf-8")
    data = DataDir.at(tmp_path / "data")
    add_files(data, [p])
    kb = KnowledgeBase(Index(data.index))
    hit = kb.search("防災", role="public").hits[0]
    assert hit.text == body + "最後に防災。"
    assert kb.search("内製化", role="public").total == 1
    assert kb.document("L", role="public").segments[0].text == body + "最後に防災。"
