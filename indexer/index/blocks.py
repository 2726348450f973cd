"""One field's postings written as Whoosh's W3 posting blocks, byte for byte, in bulk.

Whoosh's writer encodes posting by posting; here the postings are sorted once with NumPy, the
statistics of every block and every term are computed with NumPy, and the Python loop only pickles
(and compresses) each block. The term infos go into the terms table in one piece.
"""

from __future__ import annotations

import zlib
from pickle import dumps

import numpy as np
from whoosh.codec.whoosh3 import COMPRESSION_MIN_SIZE, WHOOSH3_HEADER_MAGIC
from whoosh.system import emptybytes, pack_int
from whoosh.util.numeric import byte_to_length

from indexer.index.internals import add_terms, field_writer_handles, term_info_records
from indexer.index.pickled import MAGIC, block_bytes, data_sizes
from indexer.index.pool import FieldPostings

#: Whoosh's one-byte field length code → the length it stands for.
LENGTH_OF_BYTE = np.array([byte_to_length(i) for i in range(256)], dtype=np.int64)
_NO_LENGTH = np.iinfo(np.int64).max
_CHUNK = 1 << 18  # postings converted to Python lists at a time (a list of ints costs 36 bytes an item)


def lengths_to_bytes(lengths: np.ndarray) -> np.ndarray:
    """`length_to_byte` of every element (0 for "no length")."""
    out = np.searchsorted(LENGTH_OF_BYTE, lengths, side="left")
    out[lengths >= 106374] = 255
    out[lengths == _NO_LENGTH] = 0
    return out


def _blocks(counts: np.ndarray, blocklimit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each term's postings (`counts` of them, in term order) cut every `blocklimit`: per block its
    term, first and end posting; per term its first block."""
    nblocks = (counts + blocklimit - 1) // blocklimit
    first_block = np.cumsum(nblocks) - nblocks
    bterm = np.repeat(np.arange(len(counts)), nblocks)
    tstart = np.cumsum(counts) - counts
    bstart = tstart[bterm] + blocklimit * (np.arange(len(bterm)) - first_block[bterm])
    bend = np.minimum(bstart + blocklimit, (tstart + counts)[bterm])
    return bterm, bstart, bend, first_block


def write_field(fw, fieldname: str, field, fp: FieldPostings, lengths: np.ndarray | None,
                blocklimit: int = 128, compression: int = 3) -> None:
    """Write one field's postings through `fw` (a W3FieldWriter) exactly as Whoosh's add_postings would:
    blocks of `blocklimit` postings, each a pickled (id deltas, weights, values) tuple, zlib-compressed
    from COMPRESSION_MIN_SIZE bytes, with its statistics, and one term info per term.

    Weights are whole numbers (frequencies, 1 for an ID), so sums in any order are exact."""
    fw.start_field(fieldname, field)
    key_prefix, postfile, tindex = field_writer_handles(fw)
    fixedsize = field.format.fixed_value_size()
    # postings sorted by (term, docnum)
    keys = sorted(fp.terms)
    terms = fp.term_bytes(keys)
    rank = np.empty(len(terms), dtype=np.int32)
    rank[np.fromiter(map(fp.terms.__getitem__, keys), dtype=np.int64, count=len(keys))] = np.arange(len(terms),
                                                                                                   dtype=np.int32)
    tid_rank = rank[np.frombuffer(fp.tids, dtype=np.int32)]
    docs_arr = np.frombuffer(fp.docs, dtype=np.int32)
    order = np.lexsort((docs_arr, tid_rank))
    docs = docs_arr[order]
    w64, values = fp.columns(order)
    del order
    w32 = w64 if fp.whole_weights else w64.astype(np.float32).astype(np.float64)  # as a block stores them
    counts = np.bincount(tid_rank, minlength=len(terms))
    bterm, bstart, bend, first_block = _blocks(counts, blocklimit)
    # block statistics
    b_maxw = np.maximum.reduceat(w64, bstart)
    b_wsum = np.add.reduceat(w32, bstart)
    b_min32, b_max32 = np.minimum.reduceat(w32, bstart), np.maximum.reduceat(w32, bstart)
    kinds = np.where((b_min32 == 1.0) & (b_max32 == 1.0), 0, np.where(b_min32 == b_max32, 1, 2)).tolist()
    if lengths is not None:
        plens = lengths.astype(np.int32)[docs]
        b_minlen = np.minimum.reduceat(np.where(plens > 0, plens, np.iinfo(np.int32).max), bstart).astype(np.int64)
        b_minlen[b_minlen == np.iinfo(np.int32).max] = _NO_LENGTH
        b_maxlen = np.maximum.reduceat(plens, bstart).astype(np.int64)
        del plens
    else:
        b_minlen = np.full(len(bstart), _NO_LENGTH, dtype=np.int64)
        b_maxlen = np.zeros(len(bstart), dtype=np.int64)
    minbyte, maxbyte = lengths_to_bytes(b_minlen).tolist(), lengths_to_bytes(b_maxlen).tolist()
    maxw = [w if w > 0 else 0 for w in b_maxw.tolist()]  # 0, not 0.0: pickled as Whoosh does
    deltas = docs.copy()
    deltas[1:] -= docs[:-1]
    deltas[bstart] = docs[bstart]
    fixed_bytes = values if isinstance(values, bytes) else None
    is_first = np.zeros(len(bstart), dtype=bool)
    is_first[first_block] = True
    is_last = np.roll(is_first, -1)
    # short blocks (weights None or one number, no values, not compressed) pickled with NumPy at once
    kinds_a = np.asarray(kinds, dtype=np.int64)
    counts_b = bend - bstart
    fast = np.zeros(len(bstart), dtype=bool)
    if fixedsize == 0 and WHOOSH3_HEADER_MAGIC == MAGIC and len(docs) and int(docs.max()) < 1 << 31:
        fast = (kinds_a <= 1) & (data_sizes(deltas, bstart, counts_b, kinds_a) < COMPRESSION_MIN_SIZE)
    fb = np.flatnonzero(fast)
    blob, blob_ends = block_bytes(deltas[np.repeat(fast, counts_b)], docs[bend[fb] - 1],
                                  np.cumsum(counts_b[fb]) - counts_b[fb], counts_b[fb], kinds_a[fb], w32[bstart[fb]],
                                  np.maximum(b_maxw[fb], 0), np.asarray(minbyte)[fb], np.asarray(maxbyte)[fb],
                                  is_first[fb], is_last[fb])
    sizes_a = np.zeros(len(bstart), dtype=np.int64)
    sizes_a[fb] = np.diff(blob_ends, prepend=0) - 4 * is_first[fb]
    # the other blocks pickled as W3PostingsWriter writes them; the postings as Python lists a chunk at a time
    slow = np.flatnonzero(~fast)
    fast_before = np.searchsorted(fb, slow).tolist()
    blob_ends_l = blob_ends.tolist()
    blob_at = 0
    base = postfile.tell()
    out: list[bytes] = []
    append = out.append
    lo_p = hi_p = 0  # the postings in the lists: [lo_p, hi_p)
    slow_l = slow.tolist()
    for b, nf, b0, b1, kind, last, first, mw, lo, hi in zip(
            slow_l, fast_before, bstart[slow].tolist(), bend[slow].tolist(), kinds_a[slow].tolist(),
            is_last[slow].tolist(), is_first[slow].tolist(), [maxw[i] for i in slow_l], [minbyte[i] for i in slow_l],
            [maxbyte[i] for i in slow_l], strict=True):
        if nf and blob_ends_l[nf - 1] > blob_at:  # the short blocks before this one
            append(blob[blob_at:blob_ends_l[nf - 1]])
            blob_at = blob_ends_l[nf - 1]
        if b1 > hi_p:
            postfile.write(emptybytes.join(out))
            out.clear()
            lo_p, hi_p = b0, max(b1, b0 + _CHUNK)
            deltas_l, docs_l, w32_l = deltas[lo_p:hi_p].tolist(), docs[lo_p:hi_p].tolist(), w32[lo_p:hi_p].tolist()
        p0, p1 = b0 - lo_p, b1 - lo_p
        mini_w = None if kind == 0 else (w32_l[p0] if kind == 1 else tuple(w32_l[p0:p1]))
        if fixedsize == 0:
            mini_v = None
        elif fixed_bytes is not None:
            mini_v = fixed_bytes[b0 * fixedsize:b1 * fixedsize]
        elif fixedsize is None or fixedsize < 0:
            mini_v = tuple(v for v in values[b0:b1] if v)
        else:
            mini_v = emptybytes.join(v for v in values[b0:b1] if v)
        data = dumps((tuple(deltas_l[p0:p1]), mini_w, mini_v), 2)
        comp = compression if len(data) >= COMPRESSION_MIN_SIZE else 0
        if comp:
            data = zlib.compress(data, comp)
        info = dumps((b1 - b0, docs_l[p1 - 1], mw, comp, lo, hi), 2)
        size = len(info) + len(data)
        if first:
            append(WHOOSH3_HEADER_MAGIC)
        append(pack_int(-size if last else size))
        append(info)
        append(data)
        sizes_a[b] = size + 4
    append(blob[blob_at:])
    postfile.write(emptybytes.join(out))
    # the term infos, as W3TermInfo accumulates them block by block (every term has postings)
    starts = first_block
    term_sizes = np.add.reduceat(sizes_a, starts) + len(WHOOSH3_HEADER_MAGIC)
    infos = term_info_records(len(terms))
    infos["weight"] = np.add.reduceat(b_wsum, starts)
    infos["df"] = counts
    infos["minlength"] = lengths_to_bytes(np.minimum.reduceat(b_minlen, starts))
    infos["maxlength"] = lengths_to_bytes(np.maximum.reduceat(b_maxlen, starts))
    infos["maxweight"] = np.maximum.reduceat(np.maximum(b_maxw, 0), starts)
    infos["minid"] = docs[bstart[starts]]
    infos["maxid"] = docs[bend[np.append(starts[1:], len(bstart)) - 1] - 1]
    infos["offset"] = base + np.cumsum(term_sizes) - term_sizes
    infos["length"] = term_sizes
    size = infos.dtype.itemsize
    raw = infos.tobytes()
    add_terms(tindex, [key_prefix + t for t in terms], [raw[i:i + size] for i in range(0, len(raw), size)])
    fw.finish_field()
