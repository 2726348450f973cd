"""A string column over segments: the union kept up to date as segments come and go decodes every
segment's values, sorted and distinct, as a coding from scratch would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.index.columns import ColumnUnion, encode

segment = st.lists(st.text(alphabet="abcあい#0", max_size=6), max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(segment, min_size=0, max_size=4), min_size=1, max_size=5))
def test_the_union_decodes_every_snapshot_as_a_coding_from_scratch(snapshots):
    union = ColumnUnion()
    names = {}
    for snapshot in snapshots:  # each: the segments of one generation (new ones appended, some gone)
        parts = []
        for values in snapshot:
            key = names.setdefault(tuple(values), f"seg{len(names)}")
            parts.append((key, encode(np.array(values, dtype=object))))
        merged = union.merged(parts)
        everything = [v for values in snapshot for v in values]
        assert merged.values[merged.codes].tolist() == everything
        assert merged.values.tolist() == sorted(set(merged.values.tolist()))
        assert set(everything) <= set(merged.values.tolist())


def test_a_new_segment_keeps_the_older_values_and_shifts_their_codes():
    union = ColumnUnion()
    first = ("s1", encode(np.array(["b", "d", "b"], dtype=object)))
    union.merged([first])
    merged = union.merged([first, ("s2", encode(np.array(["a", "longer value", "c"], dtype=object)))])
    assert merged.values.tolist() == ["a", "b", "c", "d", "longer value"]  # wider strings are not cut
    assert merged.codes.tolist() == [1, 3, 1, 0, 4, 2]
    assert union.merged([parts for parts in [first]]).values.tolist() == ["b", "d"]  # s2 gone: values too
