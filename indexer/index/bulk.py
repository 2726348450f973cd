"""Fast segment writing: Whoosh's SegmentWriter with its postings kept in arrays, written term by term.

Whoosh's own writer pushes every posting through a pickled external-sort pool and then encodes it
with several Python calls each; on a large archive that was most of the build time. `BulkWriter`
writes the same files in the same format (byte for byte, see tests/test_bulk.py): only the pool and
the posting-list encoder are replaced. Whoosh reads the segments it writes unchanged.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable
from pickle import dumps

import numpy as np
from whoosh.analysis import IDTokenizer
from whoosh.codec.whoosh3 import COMPRESSION_MIN_SIZE, LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC
from whoosh.fields import ID
from whoosh.formats import Existence, Frequency
from whoosh.system import emptybytes, pack_int, pack_long, pack_uint, unpack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from indexer.index.counting import term_counter
from indexer.index.internals import (
    add_terms,
    block_settings,
    column_writer,
    field_writer_handles,
    length_bytes,
    perdoc_buffers,
    term_info_packer,
)

#: Whoosh's one-byte field length code → the length it stands for.
LENGTH_OF_BYTE = np.array([byte_to_length(i) for i in range(256)], dtype=np.int64)


class Vocabulary(dict):
    """Term → number, numbering a new term on first lookup (`vocabulary[term]` never fails)."""

    def __missing__(self, term) -> int:
        number = self[term] = len(self)
        return number


class FieldPostings:
    """The postings of one field, in the order they were added."""

    def __init__(self, intern: bool):
        self.terms = Vocabulary()
        self.tids = array("i")
        self.docs = array("i")
        self.weights = array("d")
        self.values: list[bytes] = []
        # Fixed-size values (frequencies) repeat: keep one object each. Variable ones (positions) are
        # pickled per block, where shared objects would be written differently from Whoosh.
        self._interned: dict[bytes, bytes] | None = {} if intern else None

    def extend(self, docnum: int, items: list[tuple[bytes, float, bytes]]) -> None:
        """Add one document's (term bytes, weight, value bytes) postings."""
        terms = self.terms
        self.tids.extend([terms[b] for b, _, _ in items])
        self.docs.extend([docnum] * len(items))
        self.weights.extend([w for _, w, _ in items])
        if self._interned is None:
            self.values.extend([v for _, _, v in items])
        else:
            intern = self._interned.setdefault
            self.values.extend([intern(v, v) for _, _, v in items])

    def add_identifier(self, docnum: int, btext: bytes) -> None:
        """Add the one term of an ID field (weight 1, no value)."""
        self.tids.append(self.terms[btext])
        self.docs.append(docnum)
        self.weights.append(1.0)
        self.values.append(emptybytes)

    def sorted_terms(self) -> list[bytes]:
        return sorted(self.terms)

    def columns(self, order: np.ndarray) -> tuple[list[float], list[float], list[bytes]]:
        """Weights, weights as stored (float32) and values of the postings in `order`."""
        w = np.frombuffer(self.weights, dtype=np.float64)[order]
        values = self.values
        return w.tolist(), w.astype(np.float32).tolist(), [values[i] for i in order.tolist()]


class FrequencyPostings(FieldPostings):
    """Postings of a field that stores frequencies only (weight = frequency): terms kept as str."""

    def __init__(self):
        super().__init__(intern=True)
        self.freqs = array("i")

    def count(self, docnum: int, counts: dict[str, int]) -> None:
        """Add one document's term counts."""
        self.tids.extend(map(self.terms.__getitem__, counts))
        self.docs.extend([docnum] * len(counts))
        self.freqs.extend(counts.values())

    def extend(self, docnum: int, items: list[tuple[bytes, float, bytes]]) -> None:
        self.count(docnum, {b.decode("utf-8"): unpack_uint(v)[0] for b, _, v in items})

    def sorted_terms(self) -> list[bytes]:
        return [t.encode("utf-8") for t in sorted(self.terms)]  # code point order = UTF-8 byte order

    def columns(self, order: np.ndarray) -> tuple[list[float], list[float], bytes]:
        freqs = np.frombuffer(self.freqs, dtype=np.int32)[order]
        weights = freqs.astype(np.float64).tolist()
        return weights, weights, freqs.astype(">u4").tobytes()  # the values: pack_uint(freq) each


class ArrayPool:
    """Stands in for Whoosh's PostingPool: postings per field in arrays, sorted once when written."""

    def __init__(self, schema, frequency_fields: set[str]):
        self.schema = schema
        self.frequency_fields = frequency_fields
        self.fields: dict[str, FieldPostings] = {}

    def field(self, fieldname: str) -> FieldPostings:
        fp = self.fields.get(fieldname)
        if fp is None:
            if fieldname in self.frequency_fields:
                fp = FrequencyPostings()
            else:
                size = self.schema[fieldname].format.fixed_value_size()
                fp = FieldPostings(intern=size is not None and size >= 0)
            self.fields[fieldname] = fp
        return fp

    def add(self, item) -> None:
        """One (fieldname, term bytes, docnum, weight, value) posting (Whoosh's pool interface, used by merges)."""
        fieldname, btext, docnum, weight, value = item
        self.field(fieldname).extend(docnum, [(btext, weight, value or emptybytes)])

    def cleanup(self) -> None:
        self.fields.clear()


class BulkWriter(SegmentWriter):
    """A Whoosh SegmentWriter whose new segment's postings are written in bulk (same file format)."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        if any(f.vector or f.separate_spelling() for _, f in self.schema.items()):
            raise ValueError("BulkWriter does not write term vectors or spelling words")
        self._counters = {name: _fast_counter(field) for name, field in self.schema.items()}
        self._columns: dict = {}
        self.pool = ArrayPool(self.schema, {name for name, c in self._counters.items()
                                            if c is not None and c is not _IDENTIFIER})

    def add_document(self, **fields) -> None:
        """Same steps as SegmentWriter.add_document for this project's schema (no vectors, no spelling)."""
        self._check_state()
        schema, perdoc, docnum, pool, counters = self.schema, self.perdocwriter, self.docnum, self.pool, self._counters
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdoc.start_doc(docnum)
        stored, fieldlengths = perdoc_buffers(perdoc)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                counter = counters[fieldname]
                if counter is _IDENTIFIER:  # an ID field: the value is the one term
                    pool.field(fieldname).add_identifier(docnum, value.encode("utf-8"))
                elif counter is not None:  # the same terms as field.index(value), without Token objects
                    counts = counter(value)
                    length = sum(counts.values())
                    pool.field(fieldname).count(docnum, counts)
                elif field.indexed:
                    items = list(field.index(value))
                    if field.scorable:
                        length = sum(freq for _, freq, _, _ in items)
                    pool.field(fieldname).extend(docnum, [(b, w, v) for b, _, w, v in items])
                # W3PerDocWriter.add_field and add_column_value, with the column writers looked up once
                if field.stored:
                    stored[fieldname] = value
                if length:
                    self._column(f"_{fieldname}_len", LENGTHS_COLUMN).add(docnum, length_to_byte(length))
                    fieldlengths[fieldname] += length
                if field.column_type:
                    cv = value.encode("utf-8") if type(field) is ID else field.to_column_value(value)
                    self._column(fieldname, field.column_type).add(docnum, cv)
        except ValueError:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _column(self, name: str, column):
        """The per-document writer's column writer `name`, created on first use."""
        writer = self._columns.get(name)
        if writer is None:
            writer = self._columns[name] = column_writer(self.perdocwriter, name, column)
        return writer

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader()
        try:
            n = self.docnum
            fw = self.fieldwriter
            blocklimit, compression = block_settings(self.codec)
            for fieldname in sorted(self.pool.fields):
                if not len(self.pool.fields[fieldname].docs):
                    continue  # as in Whoosh, a field without postings gets no field number
                field = self.schema[fieldname]
                lengths = LENGTH_OF_BYTE[length_bytes(pdr, fieldname, n)] if field.scorable else None
                write_field(fw, fieldname, field, self.pool.fields[fieldname], lengths, blocklimit, compression)
            fw.close()
        finally:
            pdr.close()


_PACKED = [pack_uint(n) for n in range(256)]


def _packed(n: int) -> bytes:
    return _PACKED[n] if n < 256 else pack_uint(n)


def _IDENTIFIER(value: str) -> dict[str, int]:  # noqa: N802 - a marker, and what it computes
    return {value: 1}


def _fast_counter(field) -> Callable[[str], dict[str, int]] | None:
    """A term-counting function for a text field whose postings hold frequencies only
    (`_IDENTIFIER` for a plain ID field); None: use Whoosh's own `field.index`."""
    fmt = field.format
    if (type(field) is ID and type(fmt) is Existence and fmt.field_boost == 1.0
            and field.analyzer == IDTokenizer()):
        return _IDENTIFIER
    if not field.indexed or type(fmt) is not Frequency or fmt.field_boost != 1.0 or not field.scorable:
        return None
    return term_counter(getattr(field, "analyzer", None))


_NO_LENGTH = np.iinfo(np.int64).max


def _length_bytes(lengths: np.ndarray) -> np.ndarray:
    """`length_to_byte` of every element (0 for "no length")."""
    out = np.searchsorted(LENGTH_OF_BYTE, lengths, side="left")
    out[lengths >= 106374] = 255
    out[lengths == _NO_LENGTH] = 0
    return out


def write_field(fw, fieldname: str, field, fp: FieldPostings, lengths: np.ndarray | None,
                blocklimit: int = 128, compression: int = 3) -> None:
    """Write one field's postings through `fw` (a W3FieldWriter) exactly as Whoosh's add_postings would:
    blocks of `blocklimit` postings, each a pickled (id deltas, weights, values) tuple, zlib-compressed
    from COMPRESSION_MIN_SIZE bytes, with its statistics; the block statistics are computed in NumPy."""
    fw.start_field(fieldname, field)
    key_prefix, postfile, tindex = field_writer_handles(fw)
    fixedsize = field.format.fixed_value_size()
    # postings sorted by (term, docnum)
    terms = fp.sorted_terms()
    rank = np.empty(len(terms), dtype=np.int64)
    rank[[fp.terms[t] for t in sorted(fp.terms)]] = np.arange(len(terms))
    tid_rank = rank[np.frombuffer(fp.tids, dtype=np.int32)]
    docs_arr = np.frombuffer(fp.docs, dtype=np.int32)
    order = np.lexsort((docs_arr, tid_rank))
    docs = docs_arr[order].astype(np.int64)
    weights, weights32, values = fp.columns(order)
    counts = np.bincount(tid_rank, minlength=len(terms))
    # blocks: each term's postings cut every `blocklimit`
    nblocks = (counts + blocklimit - 1) // blocklimit
    tstart = np.cumsum(counts) - counts
    bterm = np.repeat(np.arange(len(terms)), nblocks)
    bstart = tstart[bterm] + blocklimit * (np.arange(len(bterm)) - np.repeat(np.cumsum(nblocks) - nblocks, nblocks))
    bend = np.minimum(bstart + blocklimit, (tstart + counts)[bterm])
    w64 = np.asarray(weights, dtype=np.float64)
    w32 = np.asarray(weights32, dtype=np.float64)
    b_maxw = np.maximum.reduceat(w64, bstart).tolist()
    b_wsum = np.add.reduceat(w32, bstart).tolist()
    b_min32, b_max32 = np.minimum.reduceat(w32, bstart), np.maximum.reduceat(w32, bstart)
    b_ones = ((b_min32 == 1.0) & (b_max32 == 1.0)).tolist()
    b_same = (b_min32 == b_max32).tolist()
    if lengths is not None:
        plens = lengths[docs]
        b_minlen = np.minimum.reduceat(np.where(plens > 0, plens, _NO_LENGTH), bstart)
        b_maxlen = np.maximum.reduceat(plens, bstart)
    else:
        b_minlen = np.full(len(bstart), _NO_LENGTH, dtype=np.int64)
        b_maxlen = np.zeros(len(bstart), dtype=np.int64)
    b_minbyte, b_maxbyte = _length_bytes(b_minlen).tolist(), _length_bytes(b_maxlen).tolist()
    b_minlen = [None if x == _NO_LENGTH else x for x in b_minlen.tolist()]
    b_maxlen = b_maxlen.tolist()
    deltas = docs.copy()
    deltas[1:] -= docs[:-1]
    deltas[bstart] = docs[bstart]
    deltas = deltas.tolist()
    docs = docs.tolist()
    fixed_bytes = values if isinstance(values, bytes) else None
    bstart_l, bend_l = bstart.tolist(), bend.tolist()
    pack_terminfo = term_info_packer()
    offset = postfile.tell()
    keys: list[bytes] = []
    infos: list[bytes] = []
    first = 0
    for btext, nb in zip(terms, nblocks.tolist(), strict=True):
        startoffset = offset
        parts = [WHOOSH3_HEADER_MAGIC]
        weight, df, minlength, maxlength, maxweight = 0, 0, None, 0, 0
        last = first + nb - 1
        for j in range(first, last + 1):
            b0, b1 = bstart_l[j], bend_l[j]
            if b_ones[j]:
                mini_w = None
            elif b_same[j]:
                mini_w = weights32[b0]
            else:
                mini_w = tuple(weights32[b0:b1])
            if fixed_bytes is not None:
                mini_v = fixed_bytes[b0 * fixedsize:b1 * fixedsize]
            else:
                vals = [v for v in values[b0:b1] if v]
                if fixedsize is None or fixedsize < 0:
                    mini_v = tuple(vals)
                elif fixedsize == 0:
                    mini_v = None
                else:
                    mini_v = emptybytes.join(vals)
            databytes = dumps((tuple(deltas[b0:b1]), mini_w, mini_v), 2)
            comp = compression if len(databytes) >= COMPRESSION_MIN_SIZE else 0
            if comp:
                databytes = zlib.compress(databytes, comp)
            bmaxw = b_maxw[j] if b_maxw[j] > 0 else 0
            infobytes = dumps((b1 - b0, docs[b1 - 1], bmaxw, comp, b_minbyte[j], b_maxbyte[j]), 2)
            blocklength = len(infobytes) + len(databytes)
            parts += (pack_int(-blocklength if j == last else blocklength), infobytes, databytes)
            # the term's statistics, as W3TermInfo.add_block accumulates them
            weight += b_wsum[j]
            df += b1 - b0
            ml = b_minlen[j]
            if minlength is None:
                minlength = ml
            elif ml is not None:
                minlength = min(minlength, ml)
            maxlength = max(maxlength, b_maxlen[j])
            maxweight = max(maxweight, bmaxw)
        data = emptybytes.join(parts)
        postfile.write(data)
        offset += len(data)
        info = pack_terminfo(0, weight, df, 0 if minlength is None else length_to_byte(minlength),
                             length_to_byte(maxlength), maxweight, docs[bstart_l[first]], docs[bend_l[last] - 1])
        keys.append(key_prefix + btext)
        infos.append(info + pack_long(startoffset) + pack_int(offset - startoffset))
        first = last + 1
    add_terms(tindex, keys, infos)  # the term infos go straight into the terms table, in one piece
    fw.finish_field()
