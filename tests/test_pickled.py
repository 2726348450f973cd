"""Short posting blocks pickled with NumPy: the bytes W3's writer makes with pickle.dumps, block by block."""

from pickle import dumps

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.system import pack_int

from indexer.index.pickled import MAGIC, block_bytes, data_sizes

_INTS = st.sampled_from([0, 1, 2, 255, 256, 1000, 65535, 65536, 3_000_000, 2**31 - 1])
_BLOCK = st.tuples(
    st.lists(st.one_of(_INTS, st.integers(0, 2**31 - 1)), min_size=1, max_size=8),  # id deltas
    st.sampled_from([0, 1]),  # kind: weights None, or one weight
    st.sampled_from([1.0, 2.0, 3.5, 1e6]),  # the weight
    st.sampled_from([0, 1.0, 2.0, 7.25]),  # max weight (0: the int 0, as Whoosh pickles it)
    st.integers(0, 255), st.integers(0, 255),  # length bytes
    st.booleans(), st.booleans(),  # first, last
    st.one_of(_INTS, st.integers(0, 2**31 - 1)),  # last id
)


def _whoosh_bytes(deltas, kind, weight, maxw, lo, hi, first, last, last_id):
    data = dumps((tuple(deltas), None if kind == 0 else weight, None), 2)
    info = dumps((len(deltas), last_id, maxw, 0, lo, hi), 2)
    size = len(info) + len(data)
    return (MAGIC if first else b"") + pack_int(-size if last else size) + info + data


@settings(max_examples=200, deadline=None)
@given(st.lists(_BLOCK, max_size=12))
def test_blocks_are_what_pickle_dumps_writes(blocks):
    expected = [_whoosh_bytes(*b) for b in blocks]
    counts = np.array([len(b[0]) for b in blocks], dtype=np.int64)
    deltas = np.array([d for b in blocks for d in b[0]], dtype=np.int64)
    bstart = np.cumsum(counts) - counts
    kinds = np.array([b[1] for b in blocks], dtype=np.int64)
    blob, ends = block_bytes(
        deltas, np.array([b[8] for b in blocks], dtype=np.int64), bstart, counts, kinds,
        np.array([b[2] for b in blocks], dtype=np.float64), np.array([b[3] for b in blocks], dtype=np.float64),
        np.array([b[4] for b in blocks], dtype=np.int64), np.array([b[5] for b in blocks], dtype=np.int64),
        np.array([b[6] for b in blocks], dtype=bool), np.array([b[7] for b in blocks], dtype=bool))
    assert blob == b"".join(expected)
    assert ends.tolist() == np.cumsum([len(e) for e in expected]).tolist()
    if blocks:
        sizes = data_sizes(deltas, bstart, counts, kinds).tolist()
        assert sizes == [len(dumps((tuple(b[0]), None if b[1] == 0 else b[2], None), 2)) for b in blocks]
