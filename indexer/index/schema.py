"""The one Whoosh schema. Each indexed record is a *passage*: a bounded piece of one speaker turn.

A turn (segment) of any length stays whole for display: its passages are stored in order (`passage`,
absent on the first) and joined back (`Snapshot.turn_text`). The first passage of a document's first turn
(its head, the only record with an `id`) carries the document's own metadata (`doc_meta`) and its
title (indexed once per document, as words and as character bigrams).
"""

from __future__ import annotations

from collections import defaultdict

from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Format, tokens
from whoosh.system import emptybytes

from indexer.text.analysis import ANALYZER_VERSION, bigram_analyzer, japanese_analyzer, reading_analyzer

#: Bump when the schema changes. With ANALYZER_VERSION it is stored beside the index;
#: an index of another version is refused and rebuilt.
#: 10: no turn_text (a turn's passages are joined) nor offset, `id` on heads only, TermCounts postings.
SCHEMA_VERSION = 10
VERSION = {"schema": SCHEMA_VERSION, "analyzer": ANALYZER_VERSION}

#: Columns read into arrays by the ranking engine (indexer.index.engine); each is a sortable field.
ARRAY_COLUMNS = ("seg_id", "doc_id", "session", "date", "doc_type", "part", "speaker", "speaker_role",
                 "visibility", "question_id")

#: Text fields the ranking engine scores with BM25.
SCORED_FIELDS = ("text", "bigram", "reading", "title", "speaker_text", "speaker_reading")

#: Longest passage indexed as one record (characters); longer turns are cut at sentence ends.
PASSAGE_CHARS = 400


class TermCounts(Format):
    """Whoosh's `Frequency` format without the posting value: a posting's weight is already the term's
    count in the record, so the count is not stored a second time (the W3 codec pickles the values of a
    block as a `_codecs.encode` call: about 45 bytes for a rare term). Whoosh reads, scores and merges
    these postings like an `Existence` field's, with their weights."""

    posting_size = 0

    def word_values(self, value, analyzer, **kwargs):
        """(term, count, count × field boost, no value) of each term `analyzer` gives for `value`."""
        counts: dict[str, int] = defaultdict(int)
        for t in tokens(value, analyzer, kwargs):
            counts[t.text] += 1
        return ((w, n, n * self.field_boost, emptybytes) for w, n in counts.items())

    def combine(self, vs) -> bytes:
        return emptybytes


def _counts_only(field):
    """`field` with its postings in the `TermCounts` format."""
    field.format = TermCounts(field_boost=field.format.field_boost)
    return field


def make_schema() -> Schema:
    """Build the schema (its analyzer is pickled into the index: keep import paths stable)."""
    analyzer = japanese_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        seg_id=ID(stored=True, sortable=True),
        doc_id=ID(stored=True, sortable=True),
        order=STORED,
        turn_order=COLUMN(NumericColumn("i")),  # the turn's order as an array (date sort)
        passage=STORED,
        session=ID(stored=True, sortable=True),
        date=ID(stored=True, sortable=True),
        doc_type=ID(stored=True, sortable=True),
        visibility=ID(stored=True, sortable=True),
        speaker=ID(stored=True, sortable=True),
        speaker_role=ID(stored=True, sortable=True),
        part=ID(stored=True, sortable=True),
        qa=ID(stored=True),
        answers_to=STORED,
        question_id=ID(stored=True, sortable=True),
        start=STORED,
        end=STORED,
        title=_counts_only(TEXT(analyzer=analyzer, stored=True, phrase=False)),
        title_bigram=_counts_only(TEXT(analyzer=bigram_analyzer(), phrase=False)),
        speaker_text=_counts_only(TEXT(analyzer=analyzer, phrase=False)),
        speaker_reading=_counts_only(KEYWORD(scorable=True)),
        text=_counts_only(TEXT(analyzer=analyzer, stored=True, phrase=False)),
        bigram=_counts_only(TEXT(analyzer=bigram_analyzer(), phrase=False)),
        reading=_counts_only(TEXT(analyzer=reading_analyzer(), phrase=False)),
        doc_meta=STORED,
    )


def split_passages(text: str, limit: int = PASSAGE_CHARS) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters at line or sentence ends; joined, they are `text`.

    >>> split_passages("一文目。二文目。", 5)
    ['一文目。', '二文目。']
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        cut = max(window.rfind("\n"), window.rfind("。"), window.rfind("？"), window.rfind("！"))
        stop = start + cut + 1 if cut >= limit // 3 else start + limit
        pieces.append(text[start:stop])
        start = stop
    pieces.append(text[start:])
    return pieces
