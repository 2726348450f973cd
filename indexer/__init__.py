"""kb: knowledge-base search over a study group's reports and transcripts (Whoosh + fugashi).

The package follows the data flow, each layer importing only the layers below it (checked by
import-linter, see pyproject.toml)::

    cli / bench   the `kb` command, benchmarks and evaluations
    archive       the one write path: lock, kept sources, audit, check, backup, uploads, accounts
    search        query parsing, ranking, highlighting, browsing (read only)
    index         the Whoosh schema, store, bulk writer, ranking arrays, Whoosh internals
    ingest        files → documents: decoding, formats, segments, catalogue (no index writes)
    text          normalization, the Japanese analyzer, speaker names
    models/errors the domain objects and the Japanese errors
"""

from indexer.errors import IngestError, KbError, QueryError
from indexer.index.store import Index
from indexer.ingest.catalogue import Catalogue
from indexer.models import Document, Hit, SearchResult, Segment, Session, Speaker
from indexer.search.kb import Filters, KnowledgeBase

__all__ = [
    "Catalogue", "Document", "Filters", "Hit", "Index", "IngestError", "KbError", "KnowledgeBase",
    "QueryError", "SearchResult", "Segment", "Session", "Speaker",
]
