"""Fast segment writing: Whoosh's SegmentWriter with its postings kept in arrays, written term by term.

Whoosh's own writer pushes every posting through a pickled external-sort pool and then encodes it
with several Python calls each; on a large archive that was most of the build time. `BulkWriter`
writes the same files in the same format (byte for byte, see tests/test_bulk.py): only the pool
(`indexer.index.pool`) and the posting-list encoder (`indexer.index.blocks`) are replaced, and the
analysis lists terms without Token objects (`indexer.index.counting`). Whoosh reads the segments it
writes unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from whoosh.analysis import IDTokenizer
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.fields import ID, UnknownFieldError
from whoosh.formats import Existence, Frequency
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from indexer.index.blocks import LENGTH_OF_BYTE, write_field
from indexer.index.counting import bigram_terms, term_lister
from indexer.index.internals import (
    block_settings,
    column_writer,
    field_lengths,
    length_bytes,
    write_documents,
)
from indexer.index.pool import ArrayPool
from indexer.index.schema import TermCounts

__all__ = ["LENGTH_OF_BYTE", "BulkWriter"]


class BulkWriter(SegmentWriter):
    """A Whoosh SegmentWriter whose new segment's postings are written in bulk (same file format)."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        if any(f.vector or f.separate_spelling() for _, f in self.schema.items()):
            raise ValueError("BulkWriter does not write term vectors or spelling words")
        self._plans = {name: _Plan(name, field) for name, field in self.schema.items()}
        self.pool = ArrayPool(self.schema, {name for name, plan in self._plans.items()
                                            if plan.lister is not None and plan.lister is not _IDENTIFIER})
        # per-document values, written in bulk before merging or flushing (`write_documents`)
        self._stored: list[tuple[int, dict]] = []
        self._values: dict[str, tuple[object, list[int], list]] = {}
        self._documents_written = False

    def add_document(self, **fields) -> None:
        """Same steps as SegmentWriter.add_document for this project's schema (no vectors, no spelling); the
        stored fields and column values are kept and written in bulk."""
        self._check_state()
        if self._documents_written:
            raise ValueError("BulkWriter: no document can be added after merging or flushing")
        plans, docnum, pool = self._plans, self.docnum, self.pool
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        unknown = [name for name in fieldnames if name not in plans]
        if unknown:
            raise UnknownFieldError(f"No field named {unknown[0]!r} in {self.schema}")
        stored: dict = {}
        values: list[tuple[str, object, object]] = []  # (column, its type, value) in Whoosh's order
        lengths: list[tuple[str, int]] = []
        for fieldname in fieldnames:
            value = fields[fieldname]
            if value is None:
                continue
            plan = plans[fieldname]
            length = 0
            lister = plan.lister
            if lister is _IDENTIFIER:  # an ID field: the value is the one term
                pool.field(fieldname).add_identifier(docnum, value)
            elif lister is bigram_terms:  # cut and counted with the segment's other records
                length = pool.field(fieldname).add_bigram_text(docnum, value)
            elif lister is not None:  # the same terms as field.index(value), without Token objects
                terms = lister(value)
                length = len(terms)
                pool.field(fieldname).add_terms(docnum, terms)
            elif plan.indexed:
                items = list(plan.field.index(value))
                if plan.scorable:
                    length = sum(freq for _, freq, _, _ in items)
                pool.field(fieldname).extend(docnum, [(b, w, v) for b, _, w, v in items])
            # what W3PerDocWriter.add_field and add_column_value would be given
            if plan.stored:
                stored[fieldname] = value
            if length:
                byte = _LENGTH_BYTE[length] if length < len(_LENGTH_BYTE) else length_to_byte(length)
                values.append((plan.length_column, LENGTHS_COLUMN, byte))
                lengths.append((fieldname, length))
            if plan.column_type:
                cv = value.encode("utf-8") if plan.is_id else plan.field.to_column_value(value)
                values.append((fieldname, plan.column_type, cv))
        for name, column, value in values:
            self._value(name, column, docnum, value)
        if stored:
            self._stored.append((docnum, stored))
        totals = field_lengths(self.perdocwriter)
        for fieldname, length in lengths:
            totals[fieldname] += length
        self._added = True
        self.docnum += 1

    def _value(self, name: str, column, docnum: int, value) -> None:
        """Keep a column value (its column writer created now: Whoosh creates them in order of first use)."""
        kept = self._values.get(name)
        if kept is None:
            column_writer(self.perdocwriter, name, column)
            kept = self._values[name] = (column, [], [])
        kept[1].append(docnum)
        kept[2].append(value)

    def _write_documents(self) -> None:
        """Write the kept stored fields and column values of the documents added so far."""
        if not self._documents_written:
            write_documents(self.perdocwriter, self.docnum, self._stored, self._values)
            self._stored, self._values, self._documents_written = [], {}, True

    def _merge_segments(self, mergetype, optimize, merge):
        self._write_documents()  # merged documents follow the added ones
        return super()._merge_segments(mergetype, optimize, merge)

    def _flush_segment(self) -> None:
        self._write_documents()
        self.perdocwriter.close()
        pdr = self.per_document_reader()
        try:
            n = self.docnum
            fw = self.fieldwriter
            blocklimit, compression = block_settings(self.codec)
            for fieldname in sorted(self.pool.fields):
                fp = self.pool.fields[fieldname]
                fp.settle()
                if not len(fp.docs):
                    continue  # as in Whoosh, a field without postings gets no field number
                field = self.schema[fieldname]
                lengths = LENGTH_OF_BYTE[length_bytes(pdr, fieldname, n)] if field.scorable else None
                write_field(fw, fieldname, field, fp, lengths, blocklimit, compression)
            fw.close()
        finally:
            pdr.close()


_LENGTH_BYTE = [length_to_byte(n) for n in range(4096)]


class _Plan:
    """What add_document does with a value of one field (looked up once per writer)."""

    def __init__(self, name: str, field):
        self.field = field
        self.lister = _fast_lister(field)
        self.indexed, self.scorable, self.stored = field.indexed, field.scorable, field.stored
        self.column_type = field.column_type
        self.is_id = type(field) is ID
        self.length_column = f"_{name}_len"


def _IDENTIFIER(value: str) -> list[str]:  # noqa: N802 - a marker, and what it computes
    return [value]


def _fast_lister(field) -> Callable[[str], list[str]] | None:
    """A term-listing function for a text field whose postings hold frequencies only (`bigram_terms`
    for a bigram field, `_IDENTIFIER` for a plain ID field); None: use Whoosh's own `field.index`."""
    fmt = field.format
    if (type(field) is ID and type(fmt) is Existence and fmt.field_boost == 1.0
            and field.analyzer == IDTokenizer()):
        return _IDENTIFIER
    if not field.indexed or type(fmt) not in (Frequency, TermCounts) or fmt.field_boost != 1.0 or not field.scorable:
        return None
    return term_lister(getattr(field, "analyzer", None))
