"""Build processes started ahead (`kb import` starts them while it reads the JSONL) build the same index,
and the faster JSONL reading gives the same documents and fingerprints."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import FileStorage

from indexer.archive import import_jsonl, open_index
from indexer.archive.datadir import DataDir
from indexer.index.store import Index
from indexer.index.workers import BuildPool
from indexer.ingest.jsonl import documents_from_jsonl
from indexer.ingest.loading import corpus_files, jsonable, load_document
from indexer.search.kb import KnowledgeBase
from tests.test_bulk import TEXTS, _docs

ROOT = Path(__file__).resolve().parent.parent


def _segments(path: Path) -> list[dict[str, bytes]]:
    """Each segment's files (compound or not), named and filled without the segment's random id."""
    store = FileStorage(str(path))
    out = []
    for seg in sorted(p for p in path.iterdir() if p.suffix == ".seg"):
        sid = seg.stem.split("_", 1)[1]
        parts = CompoundStorage(store.open_file(seg.name), use_mmap=False)
        out.append({n.replace(sid, "S"): parts.open_file(n).read().replace(sid.encode(), b"S")
                    for n in parts.list()})
    return sorted(out, key=lambda files: sorted((k, len(v)) for k, v in files.items()))


def test_processes_started_ahead_write_the_same_segments(tmp_path):
    docs = _docs(TEXTS, 6)
    own = Index(tmp_path / "own", create=True)
    own.put(docs, procs=2)
    steps = []
    ahead = Index(tmp_path / "ahead", create=True)
    with BuildPool(2, warm=True) as pool:
        ahead.put(docs, procs=2, pool=pool, progress=lambda done, total: steps.append((done, total)))
    assert len(ahead.ix.reader().leaf_readers()) == 2
    assert steps[-1] == (6, 6)
    got, want = _segments(tmp_path / "ahead"), _segments(tmp_path / "own")
    assert len(got) == 2 and got == want


def _jsonl(path: Path, meetings: int = 4) -> Path:
    lines = []
    for m in range(meetings):
        for i, text in enumerate(TEXTS):
            lines.append({"id": f"m{m}-{i}", "meeting": f"第{m + 1}回定例会", "date": f"2025-0{m + 1}-10",
                          "title": f"第{m + 1}回定例会", "speaker": "一番（北条真琴君）" if i % 2 == 0 else "知事（佐伯一郎君）",
                          "text": f"{text}（{m}）"})
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    return path


def test_an_import_with_processes_started_ahead_finds_what_one_process_finds(tmp_path):
    src = _jsonl(tmp_path / "minutes.jsonl")
    results = []
    for procs in (1, 2):
        data = DataDir.at(tmp_path / f"data{procs}")
        docs = import_jsonl(data, src, procs=procs)
        kb = KnowledgeBase(open_index(data), data_dir=data.root)
        res = kb.search("内製化はどう進めたのか", page_size=20)
        results.append(([d.fingerprint for d in docs], res.total,
                        [(h.id, round(h.score, 5), h.speaker) for h in res.hits]))
    assert results[0][1] > 0
    assert results[1] == results[0]
    assert len(open_index(DataDir.at(tmp_path / "data2")).ix.reader().leaf_readers()) == 2


def test_an_import_into_an_archive_with_documents_starts_no_processes_ahead(tmp_path, monkeypatch):
    data = DataDir.at(tmp_path / "data")
    import_jsonl(data, _jsonl(tmp_path / "a.jsonl", 1), procs=1)
    started = []
    monkeypatch.setattr(BuildPool, "__init__", lambda self, *a, **k: started.append(a))
    import_jsonl(data, _jsonl(tmp_path / "b.jsonl", 2), procs=2)  # not a parallel build: one segment added
    assert started == []


@pytest.mark.parametrize("procs, size, expected", [(2, 10, 2), (1, 10**9, 0), (0, 10, 0)])
def test_processes_are_started_ahead_only_for_a_parallel_build(procs, size, expected):
    assert BuildPool.wanted(procs, size, 2_000_000) == expected


def test_fingerprints_hash_the_same_fields_as_asdict(tmp_path):
    docs = documents_from_jsonl(_jsonl(tmp_path / "m.jsonl"))
    docs += [load_document(p) for p in corpus_files(ROOT / "corpus")[:4]]
    assert docs
    for doc in docs:
        assert json.dumps(jsonable(doc), ensure_ascii=False, sort_keys=True) == \
            json.dumps(asdict(doc), ensure_ascii=False, sort_keys=True)
