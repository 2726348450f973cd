"""String columns (seg_id, doc_id, speaker …) of many segments as integer codes into sorted distinct values.

Each segment's column is encoded once, when its arrays are read (`encode`). An index's snapshot needs
one coding over all its segments: `ColumnUnion` keeps the sorted union of the segments' values and,
per segment, where its own values sit in it. A new segment (after `kb add`) only has its values
inserted and the other segments' maps shifted; nothing already there is sorted again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Codes:
    """A string column as integer codes plus the distinct values."""

    codes: np.ndarray
    values: np.ndarray


def encode(values: np.ndarray) -> Codes:
    """A segment's string column (an object array) as codes into its sorted distinct values.

    >>> c = encode(np.array(["b", "a", "b"], dtype=object))
    >>> c.values.tolist(), c.codes.tolist()
    (['a', 'b'], [1, 0, 1])
    """
    uniq, inverse = np.unique(values.astype(str), return_inverse=True)
    return Codes(inverse.astype(np.int32), uniq)


class ColumnUnion:
    """One column's values over the segments of the latest snapshot, kept up to date as segments come.

    >>> u = ColumnUnion()
    >>> m = u.merged([("s1", encode(np.array(["b", "a", "b"], dtype=object)))])
    >>> m = u.merged([("s1", encode(np.array(["b", "a", "b"], dtype=object))),
    ...               ("s2", encode(np.array(["c", "aa"], dtype=object)))])
    >>> m.values.tolist(), m.codes.tolist()
    (['a', 'aa', 'b', 'c'], [2, 0, 2, 3, 1])
    """

    def __init__(self):
        self.values = np.zeros(0, dtype=str)
        self.maps: dict[str, np.ndarray] = {}  # segment → its distinct values' positions in `values`

    def merged(self, parts: list[tuple[str, Codes]]) -> Codes:
        """The column of the segments `parts` ((segment key, its codes) in the snapshot's order) as one."""
        keys = {k for k, _ in parts}
        if not self.maps.keys() <= keys:  # a segment went away (merged, emptied): its values with it
            self.values, self.maps = np.zeros(0, dtype=str), {}
        new = [(k, c) for k, c in parts if k not in self.maps]
        if new:
            self._insert(new)
        codes = [self.maps[k][c.codes] for k, c in parts]
        return Codes(np.concatenate(codes) if codes else np.zeros(0, np.int32), self.values)

    def _insert(self, new: list[tuple[str, Codes]]) -> None:
        add = np.unique(np.concatenate([c.values for _, c in new]))
        pos = np.searchsorted(self.values, add)
        held = pos < len(self.values)
        held[held] = self.values[pos[held]] == add[held]
        add, pos = add[~held], pos[~held]
        if len(add):
            old = np.arange(len(self.values))
            moved = (old + np.searchsorted(pos, old, side="right")).astype(np.int32)  # inserted before them
            self.values = np.insert(self.values.astype(np.result_type(self.values, add)), pos, add)
            self.maps = {k: moved[m] for k, m in self.maps.items()}
        for k, c in new:
            self.maps[k] = np.searchsorted(self.values, c.values).astype(np.int32)
