"""Property and fuzz tests: garbage in → a Japanese IngestError, never a crash; queries never raise;
a failing add never changes the index."""

from __future__ import annotations

import io
import json
import os
import random
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer import archive
from indexer.errors import IngestError, QueryError
from indexer.index.store import Index
from indexer.ingest.jsonl import documents_from_jsonl
from indexer.ingest.sources import read_source
from indexer.search.kb import Filters, KnowledgeBase
from indexer.search.query import parse_query
from indexer.text.analysis import analyze, japanese_analyzer

from helpers import write_corpus

SUFFIXES = [".txt", ".md", ".vtt", ".srt", ".html", ".docx", ".pdf"]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="x"><w:body>'
                   "<w:p><w:r><w:t>北条：内製化の話</w:t></w:r></w:p></w:body></w:document>")
    return buf.getvalue()


PREFIXES = {  # garbage that starts like the real thing, so the parsers get past the first check
    ".docx": [b"", b"PK\x03\x04", _docx_bytes()[:200]],
    ".pdf": [b"", b"%PDF-1.4\n", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n"],
    ".vtt": [b"", b"WEBVTT\n\n", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"],
    ".srt": [b"", b"1\n00:00:01,000 --> 00:00:02,000\n"],
    ".html": [b"", b"<html><body>", b"<!DOCTYPE html><p>"],
    ".md": [b"", b"---\n", b"---\nid: [\n---\n"],
    ".txt": [b"", "\ufeff".encode(), "【北条座長】".encode("cp932")],
}


def _mutate(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    b = bytearray(data)
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    return bytes(b)


@pytest.mark.parametrize("suffix", SUFFIXES)
@FAST
@given(data=st.data())
def test_every_reader_raises_only_ingest_error_on_garbage(suffix, data):
    prefix = data.draw(st.sampled_from(PREFIXES[suffix]))
    body = data.draw(st.binary(max_size=600) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
    raw = prefix + body
    if suffix == ".docx" and data.draw(st.booleans()):
        raw = _mutate(_docx_bytes(), data.draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                                        min_size=1, max_size=8)))
    try:
        read_source(Path("x" + suffix), data=raw)
    except IngestError as e:
        assert str(e)  # a message for the user
    except RecursionError:
        pytest.fail("recursion")


_json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=6)
_record = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=6), st.integers(), st.none()), "text": _json_value},
    optional={"speaker": _json_value, "speaker_name": _json_value, "speaker_role": _json_value,
              "date": _json_value, "meeting": _json_value, "visibility": _json_value, "title": _json_value},
).map(lambda r: json.dumps(r, ensure_ascii=False))
_line = st.one_of(_record, st.text(max_size=80), _json_value.map(json.dumps),
                  st.binary(max_size=60).map(lambda b: b.decode("latin-1")))


@FAST
@given(lines=st.lists(_line, max_size=8), raw=st.binary(max_size=64))
def test_jsonl_raises_only_ingest_error_on_random_lines(lines, raw):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.jsonl"
        path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n" + raw)
        try:
            docs = documents_from_jsonl(path)
        except IngestError as e:
            assert str(e)
        else:
            assert all(d.id and d.fingerprint for d in docs)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzkb")
    data = archive.DataDir.at(root / "data")
    return KnowledgeBase(archive.index_corpus(write_corpus(root / "corpus"), data), data_dir=data.root)


_QUERY_ALPHABET = st.sampled_from(list('内製化推進体制クラウド契約ＤＸdx "\'()*?:：　-+~^&|!<>[]{}\\/#%@\t\n\x00')
                                  + ["speaker:", "session:", "from:", "to:", "type:", "part:", "AND", "OR", "NOT",
                                     "session:999999999999999999999", "from:2025-13-45", "\ud7ff", "🙂", "ｶﾀｶﾅ"])
_queries = st.one_of(st.text(max_size=60), st.lists(_QUERY_ALPHABET, max_size=12).map("".join))


@settings(max_examples=150, deadline=None)
@given(q=_queries, role=st.sampled_from(["public", "member", "secretariat"]), sort=st.sampled_from(
    ["relevance", "date", "date_asc"]))
def test_query_parser_and_search_never_raise(kb, q, role, sort):
    parse_query(q)
    try:
        res = kb.search(q, Filters(), role=role, page_size=5, sort=sort)
    except QueryError as e:  # an invalid filter value written in the query: a Japanese message, by design
        assert str(e)
        return
    assert res.total >= len(res.hits)
    if role == "public":
        assert all(h.visibility == "public" for h in res.hits)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_analyzer_never_raises(text):
    analyze(text)
    list(t.text for t in japanese_analyzer()(text))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suffix=st.sampled_from(SUFFIXES), raw=st.binary(max_size=300),
       prefix=st.sampled_from([b"", b"\x00" * 64, b"WEBVTT\n\n", b"---\nid: [\n---\n", b"%PDF-1.4\n"]))
def test_a_failing_add_never_changes_the_index(fuzz_store, suffix, raw, prefix):
    data, good = fuzz_store
    random.seed(os.urandom(16))  # Hypothesis seeds `random` per example; Whoosh names new segments with it
    bad = good.parent / f"bad{suffix}"
    bad.write_bytes(prefix + raw)
    ix = Index(data.index)
    gen = ix.ix.latest_generation()
    kbase = KnowledgeBase(ix)
    before = [kbase.search(q, role="member").total for q in ("内製化", "オンライン申請")]
    sources = sorted((p.name, p.stat().st_size) for p in (data.root / "sources").rglob("*"))
    results = archive.add_files(data, [good, bad])
    if any(r.status == "error" for r in results):
        assert Index(data.index).ix.latest_generation() == gen
        assert [kbase.search(q, role="member").total for q in ("内製化", "オンライン申請")] == before
        assert sorted((p.name, p.stat().st_size) for p in (data.root / "sources").rglob("*")) == sources
    else:
        archive.remove(data, results[1].doc_id)  # back to the baseline when the garbage was readable
        if results[1].doc_id != "good":
            archive.remove(data, "good")


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzadd")
    data = archive.DataDir.at(root / "data")
    archive.index_corpus(write_corpus(root / "corpus"), data)
    good = root / "in" / "good.md"
    good.parent.mkdir()
    good.write_text("---\nid: good\n---\nオンライン申請の話です。\n", encoding="utf-8")
    return data, good
