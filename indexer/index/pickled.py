"""Short posting blocks as Whoosh's W3 writer stores them, pickled with NumPy instead of one `pickle.dumps`
pair per block.

A W3 block is a size, a pickled info tuple `(count, last id, max weight, compression, min length byte, max
length byte)` and a pickled data tuple `((id deltas...), weights, values)`. Most blocks of a segment hold a
handful of postings, weights None (all 1) or one number, no values, and are too short to be compressed: their
bytes are protocol-2 pickles of small ints and floats, written here for all of them at once. Any other block
(`fast` False) is left to the caller's `pickle.dumps`; tests/test_bulk.py compares the segments byte for byte.

>>> from pickle import dumps
>>> blob, ends = block_bytes(np.array([3, 2]), np.array([5]), np.array([0]), np.array([2]),
...                          np.array([0]), np.array([1.0]), np.array([1.0]), np.array([1]), np.array([4]),
...                          np.array([True]), np.array([True]))
>>> blob == b"W3Bl" + (-len(dumps((2, 5, 1.0, 0, 1, 4), 2) + dumps(((3, 2), None, None), 2))).to_bytes(4, "big",
...     signed=True) + dumps((2, 5, 1.0, 0, 1, 4), 2) + dumps(((3, 2), None, None), 2)
True
"""

from __future__ import annotations

import numpy as np

MAGIC = b"W3Bl"  # whoosh.codec.whoosh3.WHOOSH3_HEADER_MAGIC (checked by the caller)
_U8 = np.uint8


def int_sizes(v: np.ndarray) -> np.ndarray:
    """Bytes of each non-negative int pickled (BININT1, BININT2, BININT: 2, 3 or 5)."""
    return np.where(v <= 0xFF, 2, np.where(v <= 0xFFFF, 3, 5))


def _put_ints(buf: np.ndarray, at: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pickled ints `v` (0 ≤ v < 2**31) written at offsets `at` of `buf`; returns where each ends."""
    v = v.astype(np.int64)
    for op, lo, hi, width in ((ord("K"), 0, 0xFF, 1), (ord("M"), 0x100, 0xFFFF, 2), (ord("J"), 0x10000, 0x7FFFFFFF, 4)):
        sel = (v >= lo) & (v <= hi)
        if not sel.any():
            continue
        pos, val = at[sel], v[sel]
        buf[pos] = op
        for k in range(width):
            buf[pos + 1 + k] = (val >> (8 * k)) & 0xFF
    return at + int_sizes(v)


def _put_floats(buf: np.ndarray, at: np.ndarray, v: np.ndarray) -> None:
    """Pickled floats (BINFLOAT: "G" and 8 big-endian bytes) written at offsets `at`."""
    buf[at] = ord("G")
    raw = v.astype(">f8").view(_U8).reshape(-1, 8)
    for k in range(8):
        buf[at + 1 + k] = raw[:, k]


def _put(buf: np.ndarray, at: np.ndarray, data: bytes) -> None:
    for k, byte in enumerate(data):
        buf[at + k] = byte


def data_sizes(deltas: np.ndarray, bstart: np.ndarray, counts: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Bytes of each block's pickled data tuple (kinds 0 and 1, no values): PROTO 2, [MARK], the id deltas,
    TUPLEn or TUPLE, BINPUT 0, the weights (None or a float), None, TUPLE3, BINPUT 1, STOP."""
    post_size = int_sizes(deltas)
    ends = np.cumsum(post_size)
    deltas_size = ends[bstart + counts - 1] - ends[bstart] + post_size[bstart]
    return 2 + (counts > 3) + deltas_size + 3 + np.where(kinds == 0, 1, 9) + 5


def block_bytes(deltas: np.ndarray, last_ids: np.ndarray, bstart: np.ndarray, counts: np.ndarray,
                kinds: np.ndarray, weights: np.ndarray, maxw: np.ndarray, minbyte: np.ndarray, maxbyte: np.ndarray,
                first: np.ndarray, last: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The bytes of some blocks, one after another, and where each ends. Per block: its postings' id deltas
    (`deltas[bstart[i]:bstart[i] + counts[i]]`, the blocks' postings concatenated), its last id, kind (0: all
    weights 1, pickled None; 1: all `weights[i]`), max weight (0 pickled as the int 0), length bytes, and
    whether it is its term's first (the magic before it) or last block (its size negated)."""
    nb = len(counts)
    if not nb:
        return b"", np.zeros(0, dtype=np.int64)
    counts = counts.astype(np.int64)
    post_size = int_sizes(deltas)
    ends = np.cumsum(post_size)
    deltas_size = ends[bstart + counts - 1] - ends[bstart] + post_size[bstart]
    mw_zero = maxw == 0
    mw_size = np.where(mw_zero, 2, 9)
    # info: PROTO 2, MARK, n, last id, max weight, compression 0, min, max, TUPLE, BINPUT 0, STOP
    info_size = 3 + int_sizes(counts) + int_sizes(last_ids) + mw_size + 2 + int_sizes(minbyte) + \
        int_sizes(maxbyte) + 4
    marked = counts > 3
    w_size = np.where(kinds == 0, 1, 9)
    size = info_size + data_sizes(deltas, bstart, counts, kinds)
    rec = 4 * first + 4 + size
    rec_end = np.cumsum(rec)
    start = rec_end - rec
    buf = np.zeros(int(rec_end[-1]), dtype=_U8)
    # the magic and the size
    _put(buf, start[first], MAGIC)
    at = start + 4 * first
    signed = np.where(last, -size, size).astype(">i4").view(_U8).reshape(-1, 4)
    for k in range(4):
        buf[at + k] = signed[:, k]
    at = at + 4
    # info
    _put(buf, at, b"\x80\x02(")
    at = at + 3
    at = _put_ints(buf, _put_ints(buf, at, counts), last_ids)
    _put(buf, at[mw_zero], b"K\x00")
    _put_floats(buf, at[~mw_zero], maxw[~mw_zero])
    at = at + mw_size
    _put(buf, at, b"K\x00")
    at = at + 2
    at = _put_ints(buf, _put_ints(buf, at, minbyte), maxbyte)
    _put(buf, at, b"tq\x00.")
    at = at + 4
    # data
    _put(buf, at, b"\x80\x02")
    at = at + 2
    buf[at[marked]] = ord("(")
    at = at + marked
    block_of = np.repeat(np.arange(nb), counts)
    within = ends - post_size - np.repeat(ends[bstart] - post_size[bstart], counts)  # offset in its block's run
    _put_ints(buf, at[block_of] + within, deltas)
    at = at + deltas_size
    closer = np.array([0, 0x85, 0x86, 0x87], dtype=_U8)[np.minimum(counts, 3)]
    buf[at] = np.where(marked, ord("t"), closer)
    _put(buf, at + 1, b"q\x00")
    at = at + 3
    none_w = kinds == 0
    buf[at[none_w]] = ord("N")
    _put_floats(buf, at[~none_w], weights[~none_w])
    at = at + w_size
    _put(buf, at, b"N\x87q\x01.")
    return buf.tobytes(), rec_end
