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
    recording: str = ""  # the session's recording (sessions.yaml `recording:`), linked at subtitle times


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
    heading: bool = False  # a report's heading line, a hit only because nothing else in its document matched
    all_terms: bool = True  # holds every content word of the query (False: a question's partial match)
    url: str = ""  # the turn's permalink (search.cite)
    cite: str = ""  # its Japanese citation, ending in `url`
    media_url: str = ""  # the session's recording at the turn's subtitle time ("" without either)
    followups: list[dict] = field(default_factory=list)  # turns of other sessions on its topic (search.followup_links)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class HitGroup:
    """Consecutive hits of one document on a page: the first leads, the others fold under it."""

    doc_id: str
    lead: str
    others: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The fold's caption.

        >>> HitGroup("s04", "s04#0003", ["s04#0004", "s04#0007"]).label
        '同じ文書のほか 2 件'
        """
        return f"同じ文書のほか {len(self.others)} 件" if self.others else ""


@dataclass
class SearchResult:
    """A page of hits with honest counts over every match, and the facet counts.

    `mode`: "keyword" (every word must occur, as the operators combine them) or "question" (ranked OR).
    `total`: the turns found; keyword mode: the turns holding every word. Question mode: `total_all_terms`
    hold every content word and `total_some_terms` (= total − total_all_terms) only some of them (or a
    part of a word, or they answer a question that matched). `groups`: the page's hits in order, runs of
    one document folded under their first hit. `notes`: how the query was read (lenient parsing) and,
    when nothing matched, what to try; `message` joins them. `suggestions`: queries worth trying instead.
    """

    query: str
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    page: int = 1
    page_size: int = 10
    mode: str = "keyword"
    message: str = ""
    total_all_terms: int = 0
    total_some_terms: int = 0
    groups: list[HitGroup] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    @property
    def counts(self) -> str:
        """The counts line shown above the hits.

        >>> SearchResult("q", 116, [], {}, mode="question", total_all_terms=12, total_some_terms=104).counts
        '116 件（すべての語を含む 12 件・一部の語を含む 104 件）'
        """
        if self.mode == "question" and self.total:
            return (f"{self.total} 件（すべての語を含む {self.total_all_terms} 件・"
                    f"一部の語を含む {self.total_some_terms} 件）")
        return f"{self.total} 件"

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "total_all_terms": self.total_all_terms,
            "total_some_terms": self.total_some_terms,
            "counts": self.counts,
            "page": self.page,
            "mode": self.mode,
            "message": self.message,
            "notes": self.notes,
            "suggestions": self.suggestions,
            "groups": [asdict(g) for g in self.groups],
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
        }
