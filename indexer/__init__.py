"""kb: knowledge-base search over a study group's reports and transcripts (Whoosh + fugashi)."""

from .catalogue import Catalogue
from .errors import IngestError, KbError, QueryError
from .models import Document, Hit, SearchResult, Segment, Session, Speaker
from .search import Filters, KnowledgeBase
from .store import Index, build_index, default_index_dir

__all__ = [
    "Catalogue", "Document", "Filters", "Hit", "Index", "IngestError", "KbError", "KnowledgeBase",
    "QueryError", "SearchResult", "Segment", "Session", "Speaker", "build_index", "default_index_dir",
]
