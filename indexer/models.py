"""Domain model: sessions, documents, segments (speaker turns) and search hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

DOC_TYPES = ("report", "transcript")
VISIBILITIES = ("public", "members")
ROLES = ("public", "member", "secretariat")
PARTS = ("lecture", "guest_talk", "qa", "discussion", "report", "other")

PART_LABELS = {
    "lecture": "講義",
    "guest_talk": "ゲスト講演",
    "qa": "質疑応答",
    "discussion": "ディスカッション",
    "report": "報告",
    "other": "その他",
}
TYPE_LABELS = {"report": "レポート", "transcript": "トランスクリプト"}
VISIBILITY_LABELS = {"public": "公開", "members": "会員限定"}


@dataclass
class Speaker:
    """A speaker: normalized name plus the role written with it.

    >>> Speaker(name="北条真琴", role="座長").label
    '北条真琴（座長）'
    """

    name: str
    role: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}（{self.role}）" if self.role and self.name else (self.name or self.role)


@dataclass
class Session:
    """One meeting of the study group."""

    number: int
    date: str = ""
    title: str = ""
    theme: str = ""
    chair: str = ""
    guests: list[str] = field(default_factory=list)


@dataclass
class Segment:
    """One speaker turn (or report paragraph) of a document.

    `qa` is "question", "answer" or ""; an answer's `answers_to` holds the order of its question.
    """

    order: int
    text: str
    speaker: str = ""
    speaker_role: str = ""
    part: str = "other"
    start: float | None = None
    end: float | None = None
    visibility: str = "public"
    qa: str = ""
    answers_to: int | None = None
    speaker_reading: str = ""
    key: str = ""  # an external id (e.g. a JSONL line id) used as the segment id when set

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


@dataclass
class Document:
    """A report or transcript with its metadata and segments."""

    id: str
    session: int | None = None
    type: str = "report"
    title: str = ""
    source: str = ""
    visibility: str = "public"
    date: str = ""
    meeting: str = ""
    encoding: str = ""
    content_hash: str = ""
    fingerprint: str = ""
    segments: list[Segment] = field(default_factory=list)

    def segment_id(self, order: int) -> str:
        seg = self.segments[order] if 0 <= order < len(self.segments) else None
        return seg.key if seg is not None and seg.key else f"{self.id}#{order:04d}"

    def to_dict(self) -> dict:
        return asdict(self)

    def metadata(self) -> dict:
        """The document's own fields, without its segments (cheap: no copy of the segments)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "segments"}


@dataclass
class Hit:
    """One search result: a segment with its document metadata and a highlighted snippet."""

    id: str
    doc_id: str
    order: int
    title: str
    session: int | None
    date: str
    speaker: str
    speaker_role: str
    part: str
    doc_type: str
    visibility: str
    snippet: str
    text: str
    score: float = 0.0
    start: float | None = None
    end: float | None = None
    qa: str = ""
    answers_to: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchResult:
    """A page of hits with the total and the facet counts over every match."""

    query: str
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    page: int = 1
    page_size: int = 10
    mode: str = "and"
    message: str = ""

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "mode": self.mode,
            "message": self.message,
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
        }
