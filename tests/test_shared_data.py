"""Ingestion of real third-party files from ../shared/data (skips without them, fails under CI=true)."""

import json

import pytest

from indexer import archive
from indexer.ingest.jsonl import documents_from_jsonl
from indexer.ingest.loading import load_document
from indexer.search.kb import KnowledgeBase

from conftest import shared_path


@pytest.mark.parametrize("name", ["sangiin_8969_houmu_20260421", "sangiin_8978_soumu_20260423"])
def test_real_vtt_has_speakers_and_times(name):
    doc = load_document(shared_path(f"data/subtitles_ja/{name}.vtt"))
    assert doc.type == "transcript" and len(doc.segments) == 2
    first, second = doc.segments
    assert first.speaker and second.speaker and first.speaker != second.speaker
    assert first.start is not None and first.start > 1800 and first.end <= second.start
    assert all("<v" not in s.text for s in doc.segments)


@pytest.mark.parametrize("name", ["sangiin_8969_houmu_20260421", "sangiin_8978_soumu_20260423"])
def test_real_srt_keeps_times_and_text(name):
    vtt = load_document(shared_path(f"data/subtitles_ja/{name}.vtt"))
    srt = load_document(shared_path(f"data/subtitles_ja/{name}.srt"))
    assert srt.segments[0].start == vtt.segments[0].start
    assert "".join(s.text for s in srt.segments).replace("\n", "") == "".join(
        s.text for s in vtt.segments).replace("\n", "")


def test_diet_minutes_speakers_and_roles():
    docs = documents_from_jsonl(shared_path("data/diet_minutes_sample/corpus.jsonl"))
    segs = [s for d in docs for s in d.segments]
    assert len(segs) == 434 and len(docs) == 7
    speakers = {s.speaker for s in segs if s.speaker}
    assert len(speakers) > 20
    assert any(s.speaker_role for s in segs)
    assert not any(" " in s.speaker or "　" in s.speaker for s in segs)


@pytest.fixture(scope="module")
def tokyo_kb(tmp_path_factory):
    data = archive.DataDir.at(tmp_path_factory.mktemp("tokyo"))
    docs = archive.import_jsonl(data, shared_path("data/tokyo_assembly_minutes/corpus.jsonl"), procs=2)
    return docs, KnowledgeBase(archive.open_index(data), data_dir=data.root)


def test_whole_tokyo_minutes_import(tokyo_kb):
    docs, kb = tokyo_kb
    segs = [s for d in docs for s in d.segments]
    assert len(segs) == 25892
    assert len({s.key for s in segs}) == 25892
    assert len({s.speaker for s in segs if s.speaker}) > 300
    assert sum(1 for d in docs if d.date) >= len(docs) - 5
    st = kb.stats("secretariat")
    assert st["turns"] == 25892
    assert st["passages"] > st["turns"]  # long turns are indexed as bounded passages


def test_tokyo_questions_link_to_answers(tokyo_kb):
    docs, _ = tokyo_kb
    segs = [s for d in docs for s in d.segments]
    answers = [s for s in segs if s.qa == "answer" and s.answers_to is not None]
    assert len(answers) > 500
    doc = next(d for d in docs if any(s.qa == "answer" and s.answers_to is not None for s in d.segments))
    a = next(s for s in doc.segments if s.qa == "answer" and s.answers_to is not None)
    assert doc.segments[a.answers_to].qa == "question"


def test_tokyo_search_returns_line_ids(tokyo_kb):
    _, kb = tokyo_kb
    res = kb.search("新型コロナウイルス 検査体制", role="public")
    assert res.total > 0 and res.hits[0].id.startswith("tmg-")
    with shared_path("data/tokyo_assembly_minutes/corpus.jsonl").open(encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    assert kb.search(f'"{first["text"][40:52]}"', role="public").total >= 1
