"""The one Whoosh schema. Each indexed record is a *passage*: a bounded piece of one speaker turn.

A turn (segment) of any length stays whole for display: its passages are stored in order with
their offsets and joined back. The first passage of a document's first turn carries the
document's own metadata (`doc_meta`) and its title (indexed once per document, as words and as
character bigrams).
"""

from __future__ import annotations

from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema

from indexer.text.analysis import ANALYZER_VERSION, bigram_analyzer, japanese_analyzer, reading_analyzer

#: Bump when the schema changes. With ANALYZER_VERSION it is stored beside the index;
#: an index of another version is refused and rebuilt.
SCHEMA_VERSION = 9  # 9: the analyzer moved to indexer.text.analysis (its pickled import path)
VERSION = {"schema": SCHEMA_VERSION, "analyzer": ANALYZER_VERSION}

#: Columns read into arrays by the ranking engine (indexer.index.engine); each is a sortable field.
ARRAY_COLUMNS = ("seg_id", "doc_id", "session", "date", "doc_type", "part", "speaker", "speaker_role",
                 "visibility", "question_id")

#: Text fields the ranking engine scores with BM25.
SCORED_FIELDS = ("text", "bigram", "reading", "title", "speaker_text", "speaker_reading")

#: Longest passage indexed as one record (characters); longer turns are cut at sentence ends.
PASSAGE_CHARS = 400


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
        offset=STORED,
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
        title=TEXT(analyzer=analyzer, stored=True, phrase=False),
        title_bigram=TEXT(analyzer=bigram_analyzer(), phrase=False),
        speaker_text=TEXT(analyzer=analyzer, phrase=False),
        speaker_reading=KEYWORD(scorable=True),
        text=TEXT(analyzer=analyzer, stored=True, phrase=False),
        bigram=TEXT(analyzer=bigram_analyzer(), phrase=False),
        reading=TEXT(analyzer=reading_analyzer(), phrase=False),
        doc_meta=STORED,
        turn_text=STORED,
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
