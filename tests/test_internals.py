"""Whoosh's internals, read in one piece, against Whoosh's own public (slow) path.

Every reader of indexer/index/internals.py is compared, on generated documents, with what Whoosh
returns through its public API (stored fields, column readers, `doc_field_length`, postings
matchers) and with the documents themselves: over several segments, with deleted documents
and several posting blocks per term. The writers are compared
byte for byte with Whoosh's (and in tests/test_bulk.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import whoosh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.analysis import RegexTokenizer
from whoosh.codec.whoosh3 import W3Codec
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage
from whoosh.filedb.filetables import OrderedHashWriter, md5_hash
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from indexer.errors import IndexError_, KbError
from indexer.index import internals
from indexer.index.bulk import LENGTH_OF_BYTE
from indexer.index.internals import (
    WHOOSH_REQUIREMENT,
    WHOOSH_VERSION,
    WhooshVersionError,
    add_terms,
    check_whoosh_version,
    md5_hashes,
    read_numeric_column,
    read_postings,
    read_string_codes,
    read_string_column,
    segment_length_bytes,
)
from indexer.index.schema import ARRAY_COLUMNS, SCORED_FIELDS
from indexer.index.store import Index
from indexer.models import Document, Segment

WORDS = ["alpha", "beta", "gamma", "delta", "内製化", "クラウド"]
LABELS = ["", "a", "b", "公開", "x" * 40]


def small_schema() -> Schema:
    return Schema(
        key=ID(stored=True, unique=True),
        label=ID(stored=True, sortable=True),
        number=COLUMN(NumericColumn("i")),
        body=TEXT(analyzer=RegexTokenizer(), stored=True),
    )


small_docs = st.lists(
    st.fixed_dictionaries(
        {"segment": st.integers(0, 2), "deleted": st.booleans()},
        optional={
            "label": st.sampled_from(LABELS),
            "number": st.integers(-(2**31), 2**31 - 1) | st.sampled_from([0, 1, -1]),
            "body": st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join),
        },
    ),
    min_size=1,
    max_size=30,
)


def build_small(docs: list[dict], blocklimit: int):
    """A RAM index of `docs` written with Whoosh's own writer: one commit (segment) per distinct
    `segment` value, in order, without merging; then the `deleted` documents deleted."""
    ix = RamStorage().create_index(small_schema())
    codec = W3Codec(blocklimit=blocklimit)
    for seg in sorted({d["segment"] for d in docs}):
        w = SegmentWriter(ix, codec=codec)
        for i, d in enumerate(docs):
            if d["segment"] == seg:
                w.add_document(key=f"k{i}", **{f: d[f] for f in ("label", "number", "body") if f in d})
        w.commit(merge=False)
    if any(d["deleted"] for d in docs):
        w = SegmentWriter(ix, codec=codec)
        for i, d in enumerate(docs):
            if d["deleted"]:
                w.delete_by_term("key", f"k{i}")
        w.commit(merge=False)
    return ix


def public_length(reader, docnum: int, field: str) -> int:
    """Whoosh's `doc_field_length` (it answers None, not 0, for a document without the field)."""
    return reader.doc_field_length(docnum, field) or 0


def public_postings(reader, field: str, btext: bytes) -> tuple[list[int], list[float]]:
    """(docnums, weights) of a term through Whoosh's public matcher (deleted documents skipped)."""
    m = reader.postings(field, btext)
    ids, weights = [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        m.next()
    assert ids == list(reader.postings(field, btext).all_ids())
    return ids, weights


def assert_postings_match_public(reader, field: str) -> None:
    """read_postings of every term of `field` in one segment equals the public matcher on the
    live documents, and sums to the term's total weight (deleted documents included)."""
    for btext in reader.lexicon(field):
        ids, weights = read_postings(reader, field, btext)
        assert ids.dtype == np.int32 and weights.dtype == np.float32
        assert list(ids) == sorted(set(ids.tolist()))
        live = np.array([not reader.is_deleted(d) for d in ids.tolist()], dtype=bool)
        pub_ids, pub_weights = public_postings(reader, field, btext)
        assert ids[live].tolist() == pub_ids
        assert weights[live].tolist() == np.asarray(pub_weights, dtype=np.float32).tolist()
        assert float(weights.sum()) == pytest.approx(reader.frequency(field, btext), rel=1e-5)
    assert len(read_postings(reader, field, "未知の語".encode())[0]) == 0


@settings(max_examples=60, deadline=None)
@given(small_docs, st.sampled_from([2, 3, 128]))
def test_readers_match_whoosh_and_the_documents(docs, blocklimit):
    ix = build_small(docs, blocklimit)
    reader = ix.reader()
    leaves = reader.leaf_readers()
    assert sum(r.doc_count_all() for r, _ in leaves) == len(docs)
    for r, _ in leaves:
        n = r.doc_count_all()
        source = [docs[int(r.stored_fields(i)["key"][1:])] for i in range(n)]  # deleted documents too
        # string column: the stored fields, Whoosh's column reader and the documents agree
        labels = read_string_column(r, "label", n).tolist()
        assert labels == [r.stored_fields(i).get("label", "") for i in range(n)]
        assert labels == [d.get("label", "") for d in source]
        if r.has_column("label"):
            assert labels == list(r.column_reader("label"))
        # numeric column (0: Whoosh's default, not written)
        numbers = read_numeric_column(r, "number", n)
        assert numbers.dtype == np.int32
        assert numbers.tolist() == [d.get("number", 0) for d in source]
        if r.has_column("number"):
            assert numbers.tolist() == list(r.column_reader("number"))
        # field lengths, as Whoosh stores them (one byte)
        codes = segment_length_bytes(r, "body", n)
        assert codes.tolist() == [length_to_byte(len(d.get("body", "").split())) for d in source]
        assert LENGTH_OF_BYTE[codes].tolist() == [public_length(r, i, "body") for i in range(n)]
        # postings: frequencies (positions format) and the Existence field
        assert_postings_match_public(r, "body")
        assert_postings_match_public(r, "key")
        for word in WORDS:
            ids, freqs = read_postings(r, "body", word.encode("utf-8"))
            counts = {i: Counter(d.get("body", "").split())[word] for i, d in enumerate(source)}
            assert dict(zip(ids.tolist(), freqs.tolist(), strict=True)) == {i: c for i, c in counts.items() if c}


def test_a_term_of_several_blocks_is_read_whole():
    """The case the generated test relies on is really produced: a term's postings in several blocks."""
    docs = [{"segment": 0, "deleted": False, "body": "alpha beta" if i else "gamma"} for i in range(20)]
    ix = build_small(docs, blocklimit=3)
    (r, _), = ix.reader().leaf_readers()
    m, block_ends = r.postings("body", "alpha"), set()
    while m.is_active():
        block_ends.add(m.block_max_id())
        m.next()
    assert len(block_ends) == 7  # 19 postings, 3 a block
    ids, freqs = read_postings(r, "body", b"alpha")
    assert ids.tolist() == list(range(1, 20)) and set(freqs.tolist()) == {1.0}
    ids, freqs = read_postings(r, "body", b"gamma")
    assert ids.tolist() == [0] and freqs.tolist() == [1.0]


def test_an_index_without_segments_has_empty_arrays():
    reader = RamStorage().create_index(small_schema()).reader()
    (leaf, _), = reader.leaf_readers()
    assert not internals.is_segment(leaf)
    assert read_string_column(leaf, "label", 0).tolist() == []
    assert read_numeric_column(leaf, "number", 0).tolist() == []
    assert segment_length_bytes(leaf, "body", 0).tolist() == []
    ids, weights = read_postings(leaf, "body", b"alpha")
    assert ids.tolist() == [] and weights.tolist() == []


# -- the project's index --------------------------------------------------------------------------


def project_docs(texts: list[str], n_docs: int) -> list[Document]:
    docs = []
    for d in range(n_docs):
        segs = [Segment(order=i, text=t, speaker=["北条真琴", "佐伯一郎", ""][i % 3], part="qa",
                        visibility="members" if (i + d) % 3 == 2 else "public",
                        qa="question" if i % 2 == 0 else "answer", answers_to=i - 1 if i % 2 else None)
                for i, t in enumerate(texts)]
        docs.append(Document(id=f"doc{d}", type="transcript", title=f"第{d + 1}回 内製化とクラウド", source="x.md",
                             date=f"2025-0{d + 1}-10", session=d + 1, segments=segs))
    return docs


def assert_project_index_matches_whoosh(ix: Index) -> None:
    """Every array the ranking engine reads from each segment equals Whoosh's public answer."""
    with ix.searcher() as s:
        for r, _ in s.reader().leaf_readers():
            n = r.doc_count_all()
            stored = [r.stored_fields(i) for i in range(n)]
            for name in ARRAY_COLUMNS:
                assert read_string_column(r, name, n).tolist() == [f.get(name, "") for f in stored], name
            order = read_numeric_column(r, "turn_order", n).tolist()
            assert order == [f["order"] for f in stored] == list(r.column_reader("turn_order"))
            for field in SCORED_FIELDS:
                lengths = LENGTH_OF_BYTE[segment_length_bytes(r, field, n)].tolist()
                assert lengths == [public_length(r, i, field) for i in range(n)], field
            for field in (*SCORED_FIELDS, "doc_id", "seg_id"):
                assert_postings_match_public(r, field)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.sampled_from(list("内製化をクラウドｸﾗｳﾄﾞ進めたＤＸdx　 \n。予算防災北条")),
                        min_size=1, max_size=500), min_size=1, max_size=5),
       st.integers(1, 3), st.booleans())
def test_project_index_arrays_match_whoosh(tmp_path_factory, texts, n_docs, remove_one):
    ix = Index(tmp_path_factory.mktemp("kb") / "index", create=True)
    docs = project_docs(texts, n_docs)
    ix.put(docs)
    if remove_one:
        assert ix.remove(docs[0].id) > 0
    assert_project_index_matches_whoosh(Index(ix.path))


def test_project_index_in_two_segments_with_deletions(tmp_path):
    texts = ["内製化を進めました。ネットワークの内製化です。", "クラウドの契約と費用。" * 60, "防災と予算。"]
    ix = Index(tmp_path / "index", create=True)
    ix.put(project_docs(texts, 4), procs=2)
    assert ix.remove("doc1") > 0
    ix = Index(ix.path)
    with ix.searcher() as s:
        leaves = s.reader().leaf_readers()
        assert len(leaves) == 2 and any(r.has_deletions() for r, _ in leaves)
    assert_project_index_matches_whoosh(ix)


# -- writing ------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.binary(min_size=1, max_size=12), st.binary(max_size=40), max_size=60),
       st.integers(0, 3))
def test_add_terms_writes_what_one_add_per_term_writes(pairs, before):
    """`add_terms` in one piece = OrderedHashWriter.add per key (bytes, buckets, key positions)."""
    items = sorted(pairs.items())
    storage = RamStorage()
    one, many = OrderedHashWriter(storage.create_file("one")), OrderedHashWriter(storage.create_file("many"))
    for key, value in items[:before]:  # the table may already hold keys (an earlier field)
        one.add(key, value)
        many.add(key, value)
    for key, value in items[before:]:
        one.add(key, value)
    add_terms(many, [k for k, _ in items[before:]], [v for _, v in items[before:]])
    assert many.lastkey == one.lastkey
    one.close()
    many.close()
    assert storage.files["many"] == storage.files["one"]


@pytest.mark.parametrize("n", [1, 300, 20_000])
def test_add_terms_hash_tables_probe_as_whoosh_does(n):
    """Many keys: buckets of hundreds, slots taken by earlier keys (linear probing), the same file."""
    rng = np.random.default_rng(n)
    keys = sorted({rng.bytes(int(rng.integers(1, 9))) for _ in range(n)})
    storage = RamStorage()
    one, many = OrderedHashWriter(storage.create_file("one")), OrderedHashWriter(storage.create_file("many"))
    for key in keys:
        one.add(key, key[:3])
    add_terms(many, keys, [k[:3] for k in keys])
    one.close()
    many.close()
    assert storage.files["many"] == storage.files["one"]
    assert md5_hashes(keys) == [md5_hash(k) for k in keys]


def test_add_terms_refuses_keys_out_of_order():
    tindex = OrderedHashWriter(RamStorage().create_file("t"))
    add_terms(tindex, [b"b"], [b"1"])
    with pytest.raises(ValueError):
        add_terms(tindex, [b"a"], [b"2"])


# -- the pinned version -------------------------------------------------------------------------


def test_the_installed_whoosh_is_the_pinned_one():
    assert whoosh.versionstring() == WHOOSH_VERSION
    assert WHOOSH_REQUIREMENT == "whoosh3==3.54.0"
    check_whoosh_version()


def test_another_whoosh_version_is_refused_in_japanese(monkeypatch):
    monkeypatch.setattr(whoosh, "versionstring", lambda: "2.7.4")
    with pytest.raises(WhooshVersionError) as err:
        check_whoosh_version()
    message = str(err.value)
    assert "2.7.4" in message and "whoosh3==3.54.0" in message and "版" in message
    assert isinstance(err.value, IndexError_) and isinstance(err.value, KbError)


def test_importing_the_internals_with_another_whoosh_fails():
    code = ("import whoosh\nwhoosh.versionstring = lambda: '3.55.0'\n"
            "try:\n    import indexer.index.internals\nexcept Exception as e:\n"
            "    print(type(e).__name__, [c.__name__ for c in type(e).__mro__], e)\n    raise SystemExit(3)\n")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"}, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("WhooshVersionError") and "'KbError'" in done.stdout and "3.55.0" in done.stdout
    assert "whoosh3==3.54.0" in done.stdout


def test_string_codes_are_numpys_unique_of_the_column(tmp_path):

    ix = Index(tmp_path / "ix", create=True)
    ix.put([Document(id=f"文書{i}", type="transcript", title="t", source="x.md", date="2025-01-0" + str(i % 3 + 1),
                     segments=[Segment(order=k, text="本文", speaker=["北条", "", "佐伯"][k % 3]) for k in range(4)])
            for i in range(3)])
    for r, _ in ix.ix.reader().leaf_readers():
        n = r.doc_count_all() + 2  # two documents past the column's end
        for name in ("doc_id", "speaker", "date", "question_id"):
            values, codes = np.unique(read_string_column(r, name, n).astype(str), return_inverse=True)
            got_codes, got_values = read_string_codes(r, name, n)
            assert got_values.tolist() == values.tolist() and got_codes.tolist() == codes.tolist(), name
