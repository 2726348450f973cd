"""The bulk writer's postings pool: one field's postings in arrays, sorted once when the segment is written.

Stands in for Whoosh's PostingPool (a pickled external sort). A frequency field takes each record's terms
as a list (`add_terms`) or, for the bigram fields, its text (`add_bigram_text`); both are counted per
(term, record) with NumPy when the segment is written (`settle`). Merges of older segments add postings
one by one through Whoosh's pool interface (`ArrayPool.add`).
"""

from __future__ import annotations

from array import array

import numpy as np
from whoosh.system import emptybytes

from indexer.index.counting import DOC_BITS, bigram_length, bigram_postings, bigram_text, count_keys

#: Characters of text cut into bigrams, and terms counted, at a time (bounds the memory of a large segment).
BATCH_CHARS = 4_000_000
BATCH_TERMS = 4_000_000


class Vocabulary(dict):
    """Term → number, numbering a new term on first lookup (`vocabulary[term]` never fails)."""

    def __missing__(self, term) -> int:
        number = self[term] = len(self)
        return number


class FieldPostings:
    """The postings of one field, in the order they were added."""

    whole_weights = False  # weights are counts (float32 and float64 the same): frequency fields

    def __init__(self, intern: bool):
        self.terms = Vocabulary()
        self.tids = array("i")
        self.docs = array("i")
        self.weights = array("d")
        self.values: list[bytes] = []
        # Fixed-size values (frequencies) repeat: keep one object each. Variable ones (positions) are
        # pickled per block, where shared objects would be written differently from Whoosh.
        self._interned: dict[bytes, bytes] | None = {} if intern else None
        self._ids: list[str] = []  # values of an ID field, one posting each (`add_identifier`)
        self._id_docs: list[int] = []

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

    def add_identifier(self, docnum: int, value: str) -> None:
        """Add the one term of an ID field (weight 1, no value), numbered when settled."""
        self._ids.append(value)
        self._id_docs.append(docnum)

    def settle(self) -> None:
        """Move postings still held in another form into the arrays (before writing)."""
        if self._ids:
            n = len(self._ids)
            self.tids.extend(map(self.terms.__getitem__, (v.encode("utf-8") for v in self._ids)))
            self.docs.extend(self._id_docs)
            self.weights.extend(array("d", [1.0]) * n)
            self.values.extend([emptybytes] * n)
            self._ids, self._id_docs = [], []

    def term_bytes(self, keys: list) -> list[bytes]:
        """The terms `keys` (of `self.terms`, sorted) as the terms table stores them."""
        return keys

    def columns(self, order: np.ndarray) -> tuple[np.ndarray, list[bytes]]:
        """Weights and values of the postings in `order`."""
        values = self.values
        return np.frombuffer(self.weights, dtype=np.float64)[order], [values[i] for i in order.tolist()]


class FrequencyPostings(FieldPostings):
    """Postings of a field that stores frequencies only (weight = frequency): terms kept as str."""

    whole_weights = True

    def __init__(self, with_values: bool = True):
        super().__init__(intern=True)
        self.with_values = with_values  # Whoosh's Frequency stores each count again as the posting's value
        self.freqs = array("i")
        self._tokens: list[str] = []  # the terms of the records added by `add_terms`, one per occurrence
        self._ends: list[int] = []  # where each of those records' terms end in `_tokens`
        self._token_docs: list[int] = []
        self._texts: list[str] = []  # `bigram_text` of the records added by `add_bigram_text`
        self._text_docs: list[int] = []
        self._text_chars = 0

    def count(self, docnum: int, counts: dict[str, int]) -> None:
        """Add one document's term counts."""
        self.tids.extend(map(self.terms.__getitem__, counts))
        self.docs.extend([docnum] * len(counts))
        self.freqs.extend(counts.values())

    def extend(self, docnum: int, items: list[tuple[bytes, float, bytes]]) -> None:
        self.count(docnum, {b.decode("utf-8"): int(w) for b, w, _ in items})  # the weight is the count

    def add_terms(self, docnum: int, terms: list[str]) -> None:
        """Add one record's terms (a term repeats as often as it occurs), counted when settled."""
        if terms:
            self._tokens += terms
            self._ends.append(len(self._tokens))
            self._token_docs.append(docnum)
            if len(self._tokens) > BATCH_TERMS:
                self._settle_terms()

    def add_bigram_text(self, docnum: int, text: str) -> int:
        """Add one record's text to be cut into bigrams when settled; its length (number of bigrams)."""
        folded = bigram_text(text)
        length = bigram_length(folded)
        if length:
            self._texts.append(folded)
            self._text_docs.append(docnum)
            self._text_chars += len(folded)
            if self._text_chars > BATCH_CHARS:
                self._settle_bigrams()
        return length

    def settle(self) -> None:
        super().settle()
        self._settle_terms()
        self._settle_bigrams()

    def _settle_terms(self) -> None:
        if self._token_docs:
            tokens = np.fromiter(map(self.terms.__getitem__, self._tokens), dtype=np.int64, count=len(self._tokens))
            sizes = np.diff(np.asarray([0, *self._ends], dtype=np.int64))
            docs = np.repeat(np.asarray(self._token_docs, dtype=np.int64), sizes)
            if self._token_docs[-1] >= 1 << DOC_BITS:
                raise ValueError("too many records in one segment")
            keys, freqs = count_keys((tokens << DOC_BITS) | docs)
            self._append(keys >> DOC_BITS, keys & ((1 << DOC_BITS) - 1), freqs)
            self._tokens, self._ends, self._token_docs = [], [], []

    def _settle_bigrams(self) -> None:
        """Cut and count the kept texts (a batch: a record's bigrams are all in one batch)."""
        if self._text_docs:
            names, tids, docs, freqs = bigram_postings(self._text_docs, self._texts)
            numbers = np.fromiter(map(self.terms.__getitem__, names), dtype=np.int64, count=len(names))
            self._append(numbers[tids], docs, freqs)
            self._texts, self._text_docs, self._text_chars = [], [], 0

    def _append(self, tids: np.ndarray, docs: np.ndarray, freqs: np.ndarray) -> None:
        self.tids.frombytes(tids.astype(np.int32).tobytes())
        self.docs.frombytes(docs.astype(np.int32).tobytes())
        self.freqs.frombytes(freqs.astype(np.int32).tobytes())

    def term_bytes(self, keys: list) -> list[bytes]:
        return [t.encode("utf-8") for t in keys]  # code point order = UTF-8 byte order

    def columns(self, order: np.ndarray) -> tuple[np.ndarray, bytes]:
        freqs = np.frombuffer(self.freqs, dtype=np.int32)[order]
        values = freqs.astype(">u4").tobytes() if self.with_values else b""  # Frequency's: pack_uint(freq) each
        return freqs.astype(np.float64), values


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
                fp = FrequencyPostings(with_values=self.schema[fieldname].format.fixed_value_size() != 0)
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
