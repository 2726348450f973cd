"""The one room for Whoosh's private internals (pinned: whoosh3==3.54.0, the API of Whoosh 2.7.4).

The fast paths read segment files and drive writer steps that Whoosh keeps private: the ranking
engine reads whole columns and posting blocks at once, the bulk writer fills Whoosh's own file
writers, and the parallel build commits segments written by other processes. Every access to a
private attribute or method of a Whoosh object is in this module, behind a small named function,
so that a Whoosh upgrade is checked in one place: ruff's private-member rule (SLF001) is allowed
here only (pyproject.toml), and importing this module with another Whoosh version fails with a
Japanese message naming the pinned one.

The readers are tested against Whoosh's public (slow) path in tests/test_internals.py, the writers
by tests/test_bulk.py (segments byte-identical to Whoosh's own writer).

Readers take a *leaf* reader (one of `reader.leaf_readers()`); a leaf that is not a segment (the
`EmptyReader` of an index without segments) has no columns, lengths or postings.
"""

from __future__ import annotations

import re
from array import array
from functools import partial
from hashlib import md5
from pickle import dumps
from typing import TYPE_CHECKING

import numpy as np
import whoosh
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3TermInfo
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.filedb.filetables import HashWriter, md5_hash
from whoosh.filedb.filetables import _lengths as _record_lengths
from whoosh.filedb.filetables import _pointer as _hash_pointer
from whoosh.index import TOC
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort

from indexer.errors import IndexError_

if TYPE_CHECKING:
    from whoosh.codec.base import Codec, FieldWriter, PerDocumentReader, PerDocumentWriter, Segment
    from whoosh.columns import Column, ColumnWriter
    from whoosh.filedb.filetables import OrderedHashWriter
    from whoosh.filedb.structfile import StructFile
    from whoosh.reading import IndexReader
    from whoosh.writing import SegmentWriter

#: The Whoosh release whose internals this module reads, as `whoosh.versionstring()` reports it.
WHOOSH_VERSION = "3.54.0"
#: The requirement that installs it (pyproject.toml).
WHOOSH_REQUIREMENT = f"whoosh3=={WHOOSH_VERSION}"


class WhooshVersionError(IndexError_):
    """The installed Whoosh is not the version whose internals this program reads."""


def check_whoosh_version(installed: str | None = None) -> None:
    """Raise `WhooshVersionError` unless the installed Whoosh (or `installed`) is the pinned version."""
    found = installed if installed is not None else whoosh.versionstring()
    if found != WHOOSH_VERSION:
        raise WhooshVersionError(
            f"インストールされている Whoosh の版（{found}）は、このプログラムが対応する版と異なります。"
            f"索引の内部形式を直接読み書きするため、指定の版 `{WHOOSH_REQUIREMENT}` が必要です"
            f"（`pip install {WHOOSH_REQUIREMENT}` または `bash scripts/setup.sh` で入れ直してください）。"
        )


check_whoosh_version()


# -- reading a segment ------------------------------------------------------------------------


def is_segment(reader: IndexReader) -> bool:
    """Whether a leaf reader reads one segment (an index without segments gives an `EmptyReader`)."""
    return isinstance(reader, SegmentReader)


def _string_cells(reader: IndexReader, name: str, n: int) -> list[bytes]:
    """The raw values of a string column (a sortable ID field: VarBytesColumn) of the first `n` documents
    of a segment, read in one piece; b"" for a document without a value (or a segment without the column)."""
    if not is_segment(reader) or not reader.has_column(name):
        return [b""] * n
    raw = reader.column_reader(name, translate=False)
    lengths = raw._lengths.tolist()
    offsets = raw._offsets.tolist()
    count = min(n, len(lengths))
    if not count:
        return [b""] * n
    blob = raw._dbfile.get(raw._basepos, offsets[count - 1] + lengths[count - 1])
    cells = [blob[o:o + k] for o, k in zip(offsets[:count], lengths[:count], strict=True)]
    return cells + [b""] * (n - count)


def read_string_column(reader: IndexReader, name: str, n: int) -> np.ndarray:
    """A string column of the first `n` documents of a segment as an object array ("" for none)."""
    out = np.empty(n, dtype=object)
    out[:] = [cell.decode("utf-8") for cell in _string_cells(reader, name, n)]
    return out


def read_string_codes(reader: IndexReader, name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A string column of the first `n` documents of a segment as (codes, sorted distinct values): the same
    as `np.unique(read_string_column(...).astype(str), return_inverse=True)` without a string per document
    (UTF-8 byte order is code point order)."""
    cells = _string_cells(reader, name, n)
    distinct = sorted(set(cells))
    number = {cell: i for i, cell in enumerate(distinct)}
    codes = np.fromiter(map(number.__getitem__, cells), dtype=np.int32, count=n)
    return codes, np.array([cell.decode("utf-8") for cell in distinct], dtype=str)


def read_numeric_column(reader: IndexReader, name: str, n: int) -> np.ndarray:
    """A NumericColumn of the first `n` documents of a segment as an array of its type (`"i"`: int32);
    documents after the last one written (and a segment without the column) hold the column's default."""
    column = reader.schema[name].column_type
    dtype = np.dtype(">" + column._typecode)
    out = np.full(n, column._default, dtype=dtype.newbyteorder("="))
    if not is_segment(reader) or not reader.has_column(name):
        return out
    col = reader.column_reader(name, translate=False)
    count = min(col._count, n)
    if count:
        out[:count] = np.frombuffer(col._dbfile.get(col._basepos, count * dtype.itemsize), dtype=dtype)
    return out


def length_bytes(perdoc_reader: PerDocumentReader, fieldname: str, n: int) -> np.ndarray:
    """Whoosh's one-byte field lengths (`length_to_byte`) of the first `n` documents, read from a
    per-document reader (a segment's, or a writer's `per_document_reader()`); 0: no length."""
    lenfield = f"_{fieldname}_len"
    out = np.zeros(n, dtype=np.uint8)
    if not perdoc_reader.has_column(lenfield):
        return out
    col = perdoc_reader._cached_reader(lenfield, LENGTHS_COLUMN)
    count = min(col._count, n)  # documents after the last non-zero one are 0
    if count:
        out[:count] = np.frombuffer(col._dbfile.get(col._basepos, count), dtype=np.uint8)
    return out


def segment_length_bytes(reader: IndexReader, fieldname: str, n: int) -> np.ndarray:
    """`length_bytes` of a leaf reader (all 0 for a leaf that is not a segment)."""
    if not is_segment(reader):
        return np.zeros(n, dtype=np.uint8)
    return length_bytes(reader._perdoc, fieldname, n)


def read_postings(reader: IndexReader, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(local docnums, weights) of one term in one segment, block by block, *deleted documents
    included* (the caller masks them); the weight of a frequency field is the term's frequency."""
    empty = np.empty(0, np.int32), np.empty(0, np.float32)
    if not is_segment(reader):
        return empty
    terms = reader._terms
    if (fieldname, btext) not in terms:
        return empty
    m = terms.matcher(fieldname, btext, reader.schema[fieldname].format)
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    while m.is_active():
        m._read_ids()
        m._read_weights()
        ids.append(np.asarray(m._ids, dtype=np.int32))
        weights.append(np.asarray(m._weights, dtype=np.float32))
        m._next_block()
    if not ids:
        return empty
    return np.concatenate(ids), np.concatenate(weights)


# -- writing a segment ------------------------------------------------------------------------


def field_lengths(perdoc: PerDocumentWriter) -> dict[str, int]:
    """The per-document writer's running total length of each field, to be added to in place."""
    return perdoc._fieldlengths


#: A struct typecode of a NumericColumn → the NumPy type of its big-endian values.
_NUMERIC = {"B": "u1", "b": "i1", "H": ">u2", "h": ">i2", "I": ">u4", "i": ">i4", "Q": ">u8", "q": ">i8"}


def _growable(values: np.ndarray) -> array:
    """What a GrowableArray (allow_longs=False) holds after `values` were appended one by one."""
    top = int(values.max()) if len(values) else 0
    code = "B" if top < 2**8 else "H" if top < 2**16 else "i" if top < 2**31 else "I" if top < 2**32 else None
    if code is None:
        raise OverflowError(f"{top!r} is too big to fit in an array")
    out = array(code)
    out.frombytes(values.astype(np.dtype(code).newbyteorder("=")).tobytes())
    return out


def _add_varbytes(w, docnums: list[int], values: list[bytes]) -> None:
    """`w.add(d, v)` for each pair of a fresh VarBytesColumn writer, in one write (the same state)."""
    n = docnums[-1] + 1
    lengths = np.zeros(n, dtype=np.int64)
    lengths[docnums] = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    w._dbfile.write(b"".join(values))
    w._lengths.array = _growable(lengths)
    w._offsets.array = _growable(np.cumsum(lengths) - lengths)  # a document without a value: the current end
    w._offset_base = int(lengths.sum())
    w._count = n


def _add_numbers(w, column: NumericColumn, docnums: list[int], values: list) -> None:
    """`w.add(d, v)` for each pair of a fresh NumericColumn writer (default values are not written)."""
    keep = [(d, v) for d, v in zip(docnums, values, strict=True) if v != w._default]
    if not keep:
        return
    out = np.full(keep[-1][0] + 1, w._default, dtype=np.dtype(_NUMERIC[column._typecode]))
    out[[d for d, _ in keep]] = [v for _, v in keep]
    w._dbfile.write(out.tobytes())
    w._count = len(out)


def write_documents(perdoc: PerDocumentWriter, count: int, stored: list[tuple[int, dict]],
                    columns: dict[str, tuple[Column, list[int], list]]) -> None:
    """What `count` documents added one by one (`start_doc`, `add_column_value`, `finish_doc`) leave in a
    W3PerDocWriter that has none yet, written in bulk: the same bytes. `stored`: (docnum, stored fields)
    of the documents with some; `columns`: name → (column type, increasing docnums, values), each column
    writer already created (Whoosh creates them in the order of first use, and so must the caller)."""
    if perdoc._doccount or perdoc._indoc:
        raise ValueError("write_documents needs a per-document writer without documents")
    if stored:
        pickled = perdoc._get_column("_stored")  # PickleColumn(CompressedBytesColumn()): pickle, compress
        level, compress = pickled._child._level, pickled._child._compress
        _add_varbytes(pickled._child, [d for d, _ in stored], [compress(dumps(f, 2), level) for _, f in stored])
    for name, (column, docnums, values) in columns.items():
        if not docnums:
            continue
        w = perdoc._get_column(name)
        if type(column) is NumericColumn and column._typecode in _NUMERIC:
            _add_numbers(w, column, docnums, values)
        elif type(column) is VarBytesColumn:
            _add_varbytes(w, docnums, values)
        else:
            for d, v in zip(docnums, values, strict=True):
                w.add(d, v)
    perdoc._doccount = count
    perdoc._docnum = count - 1 if count else None


def column_writer(perdoc: PerDocumentWriter, name: str, column: Column) -> ColumnWriter:
    """The per-document writer's column writer for `name`, created (of type `column`) on first use."""
    if not perdoc._has_column(name):
        perdoc._create_column(name, column)
    return perdoc._get_column(name)


def block_settings(codec: Codec) -> tuple[int, int]:
    """(postings per block, zlib level) of a W3Codec."""
    return codec._blocklimit, codec._compression


def field_writer_handles(fw: FieldWriter) -> tuple[bytes, StructFile, OrderedHashWriter]:
    """(term key prefix, postings file, terms table) of a W3FieldWriter inside `start_field`:
    a term's key in the terms table is the prefix (the field's number) followed by its bytes."""
    return pack_ushort(fw._fieldid), fw._postfile, fw._tindex


#: W3TermInfo's fixed part ("!BfIBBfII") then, for postings not inlined, their offset ("!q") and length ("!i").
_TERM_INFO = np.dtype([("flags", "u1"), ("weight", ">f4"), ("df", ">u4"), ("minlength", "u1"), ("maxlength", "u1"),
                       ("maxweight", ">f4"), ("minid", ">u4"), ("maxid", ">u4"), ("offset", ">i8"), ("length", ">i4")])


def term_info_records(n: int) -> np.ndarray:
    """`n` zeroed term infos as the terms table stores them (W3TermInfo.to_bytes of postings that are not
    inlined): fill the fields, and `tobytes()` gives every record's bytes, one after another."""
    if W3TermInfo._struct.format != "!BfIBBfII":
        raise WhooshVersionError(f"W3TermInfo の形式が想定と異なります: {W3TermInfo._struct.format}")
    return np.zeros(n, dtype=_TERM_INFO)


#: A hash table slot as HashWriter packs it ("!Iq": hash value, key position).
_SLOT = np.dtype([("hash", ">u4"), ("pos", ">i8")])


def md5_hashes(keys: list[bytes]) -> list[int]:
    """Whoosh's `md5_hash` of every key (the digest's last four bytes, big-endian).

    >>> md5_hashes([b"a"]) == [md5_hash(b"a")]
    True
    """
    if not keys:
        return []
    digests = np.frombuffer(b"".join([md5(k, usedforsecurity=False).digest() for k in keys]), dtype=np.uint8)
    return digests.reshape(-1, 16)[:, 12:].copy().view(">u4").ravel().tolist()


def write_hashes(tindex) -> None:
    """`HashWriter._write_hashes`: the 256 hash tables, each entry in the first free slot from its hash's (the
    same probing), written a table at a time: the same bytes."""
    dbfile, directory = tindex.dbfile, tindex.directory
    for entries in tindex.buckets:
        numslots = 2 * len(entries)
        directory.append((dbfile.tell(), numslots))
        if not numslots:
            continue
        table = np.zeros(numslots, dtype=_SLOT)
        taken = [False] * numslots
        hashes, places = [], []
        for hashval, _ in entries:
            slot = (hashval >> 8) % numslots
            while taken[slot]:
                slot = (slot + 1) % numslots
            taken[slot] = True
            hashes.append(hashval)
            places.append(slot)
        table["hash"][places] = hashes
        table["pos"][places] = [position for _, position in entries]
        dbfile.write(table.tobytes())


def add_terms(tindex: OrderedHashWriter, keys: list[bytes], values: list[bytes]) -> None:
    """`tindex.add(key, value)` for every pair (an OrderedHashWriter: keys in increasing order),
    written in one piece: the same bytes, hash buckets and key positions as one call per pair (and its hash
    tables written at a table a time when it closes)."""
    if not keys:
        return
    if keys[0] <= tindex.lastkey:
        raise ValueError("terms must be written in increasing order")
    pack_lengths, buckets, positions = _record_lengths.pack, tindex.buckets, tindex.index
    hashes = md5_hashes(keys) if tindex.hashfn is md5_hash else [tindex.hashfn(k) for k in keys]
    if type(tindex)._write_hashes is HashWriter._write_hashes and _hash_pointer.format == "!Iq":
        tindex._write_hashes = partial(write_hashes, tindex)
    dbfile = tindex.dbfile
    pos = dbfile.tell()
    records: list[bytes] = []
    for key, value, h in zip(keys, values, hashes, strict=True):
        record = pack_lengths(len(key), len(value)) + key + value
        records.append(record)
        positions.append(pos)
        buckets[h & 255].append((h, pos))
        pos += len(record)
    dbfile.write(b"".join(records))
    tindex.lastkey = keys[-1]


# -- generations ----------------------------------------------------------------------------------
_TOC_PATTERNS: dict[str, re.Pattern] = {}


def latest_generation(ix) -> int:
    """`ix.latest_generation()` (the newest table of contents in the directory), with Whoosh's file name
    pattern compiled once: Whoosh compiles it on every call, and a search that also compiles its own
    patterns pushes it out of `re`'s cache (1.6 ms a query on the minutes)."""
    pattern = _TOC_PATTERNS.get(ix.indexname)
    if pattern is None:
        pattern = _TOC_PATTERNS[ix.indexname] = TOC._pattern(ix.indexname)
    return max((int(m.group(1)) for m in map(pattern.match, ix.storage) if m), default=-1)


# -- committing ---------------------------------------------------------------------------------


def finalize_segment(writer: SegmentWriter) -> Segment:
    """Write out a writer's new segment and return it, without committing (as Whoosh's
    multi-process sub-writers do); the segment is committed by `commit_segments` in the parent."""
    return writer._finalize_segment()


def commit_segments(writer: SegmentWriter, segments: list[Segment]) -> None:
    """Commit `segments` (written by `finalize_segment` in other processes) as the index's segments,
    as Whoosh's multi-process writer commits: the writer's own segment stays empty and is dropped;
    the new table of contents replaces the old one and the write lock is released."""
    writer._close_segment()
    writer._commit_toc(segments)
    writer._finish()
