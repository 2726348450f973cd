"""Search: parse, filter (visibility first), rank, collapse passages to turns, count facets, highlight.

Visibility is enforced here, before ranking and counting: a public search never sees
members-only segments, in hits, totals or facets.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field

from whoosh import query as Q
from whoosh.sorting import FieldFacet

from .analysis import japanese_analyzer
from .errors import QueryError
from .highlight import Span, mark, snippet
from .models import DOC_TYPES, PARTS, ROLES, Document, Hit, SearchResult
from .query import ParsedQuery, build_query, parse_query
from .store import Index, head_id, segments_from_records

FACET_FIELDS = ("session", "speaker", "doc_type", "part")
MAX_PAGE_SIZE = 100


@dataclass
class Filters:
    """Filters chosen in the UI or on the command line (query-string filters fill the gaps)."""

    sessions: list[int] = field(default_factory=list)
    date_from: str = ""
    date_to: str = ""
    doc_type: str = ""
    speaker: str = ""
    speaker_role: str = ""
    part: str = ""

    def check(self) -> Filters:
        """Raise QueryError (Japanese) for malformed values."""
        for d in (self.date_from, self.date_to):
            if d and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
                raise QueryError(f"日付は YYYY-MM-DD の形で指定してください: {d}")
        return self

    def merged(self, from_query: dict[str, str]) -> Filters:
        f = Filters(**self.__dict__)
        if not f.sessions and from_query.get("session"):
            f.sessions = [_int(v) for v in from_query["session"].split(",") if v.strip()]
        f.date_from = f.date_from or from_query.get("from", "")
        f.date_to = f.date_to or from_query.get("to", "")
        f.doc_type = f.doc_type or from_query.get("type", "")
        f.speaker = f.speaker or from_query.get("speaker", "")
        f.speaker_role = f.speaker_role or from_query.get("speaker_role", "")
        f.part = f.part or from_query.get("part", "")
        return f


def _int(v: str) -> int:
    try:
        return int(str(v).strip().lstrip("第").rstrip("回"))
    except ValueError:
        raise QueryError(f"回の指定は数字で入力してください: {v}") from None


def check_role(role: str) -> str:
    if role not in ROLES:
        raise QueryError(f"利用者の種別は {' / '.join(ROLES)} のいずれかです: {role}")
    return role


def visibility_filter(role: str) -> Q.Query | None:
    """What a role may see: public sees only public segments; members and the secretariat see all."""
    return Q.Term("visibility", "public") if check_role(role) == "public" else None


def _column(reader, name: str):
    """docnum → stored column value, read segment by segment.

    Whoosh's multi-segment column reader skips segments that lack the column, which shifts every
    later document's value; a segment reader fills the gap with the default instead.
    """
    leaves = list(reader.leaf_readers())
    offsets = [offset for _, offset in leaves]
    cols = [r.column_reader(name) for r, _ in leaves]

    def value(docnum: int) -> str:
        i = bisect_right(offsets, docnum) - 1
        try:
            v = cols[i][docnum - offsets[i]]
        except IndexError:  # no trailing empty values are stored in a segment's column
            return ""
        return v.decode("utf-8") if isinstance(v, bytes) else (v or "")

    return value


class KnowledgeBase:
    """Read access to one index, always on behalf of a role."""

    def __init__(self, index: Index):
        self.index = index

    # -- filters -----------------------------------------------------------------------------
    def _filter(self, role: str, f: Filters, searcher) -> Q.Query | None:
        clauses: list[Q.Query] = []
        vis = visibility_filter(role)
        if vis is not None:
            clauses.append(vis)
        if f.sessions:
            clauses.append(Q.Or([Q.Term("session", str(s)) for s in f.sessions]))
        if f.date_from or f.date_to:
            clauses.append(Q.TermRange("date", f.date_from or None, f.date_to or None))
        if f.doc_type:
            if f.doc_type not in DOC_TYPES:
                raise QueryError(f"種類は {' / '.join(DOC_TYPES)} のいずれかです: {f.doc_type}")
            clauses.append(Q.Term("doc_type", f.doc_type))
        if f.part:
            if f.part not in PARTS:
                raise QueryError(f"パートは {' / '.join(PARTS)} のいずれかです: {f.part}")
            clauses.append(Q.Term("part", f.part))
        if f.speaker:
            names = self.match_speakers(f.speaker, searcher)
            clauses.append(Q.Or([Q.Term("speaker", n) for n in names]) if names else Q.NullQuery)
        if f.speaker_role:
            clauses.append(Q.Term("speaker_role", f.speaker_role))
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else Q.And(clauses)

    @staticmethod
    def match_speakers(text: str, searcher) -> list[str]:
        """Speaker names in the index containing `text` (spaces and width ignored)."""
        from .speakers import normalize_name

        needle = normalize_name(text)[0] or text.strip()
        return [n for n in (t.decode("utf-8") for t in searcher.reader().lexicon("speaker")) if needle in n]

    # -- search ------------------------------------------------------------------------------
    def search(
        self,
        text: str,
        filters: Filters | None = None,
        role: str = "public",
        page: int = 1,
        page_size: int = 10,
        sort: str = "relevance",
    ) -> SearchResult:
        """Search turns; `total` and `facets` count distinct turns over every match the role may see."""
        parsed = parse_query(text)
        f = (filters or Filters()).merged(parsed.filters).check()
        page = max(1, int(page))
        page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        result = SearchResult(query=text, total=0, hits=[], facets={}, page=page, page_size=page_size,
                              mode=parsed.mode)
        if parsed.empty:
            result.message = "検索語を入力してください（助詞や記号だけでは検索できません）。" if text.strip() else ""
            return result
        with self.index.searcher() as searcher:
            filt = self._filter(role, f, searcher)
            total, facets = self._count(searcher, build_query(parsed), filt)
            if total == 0 and parsed.mode == "and" and len(parsed.terms) > 1:
                total, facets = self._count(searcher, build_query(parsed, mode="or"), filt)
                if total:
                    result.mode = "or"
                    result.message = "すべての語を含む発言が見つからないため、いずれかの語を含む発言を表示しています。"
            result.total, result.facets = total, facets
            if total:
                result.hits = self._hits(searcher, parsed, build_query(parsed, mode=result.mode), filt,
                                         page, page_size, sort)
        return result

    def _count(self, searcher, q: Q.Query, filt: Q.Query | None) -> tuple[int, dict[str, dict[str, int]]]:
        whole = Q.And([q, filt]) if filt is not None else q
        reader = searcher.reader()
        seg_col = _column(reader, "seg_id")
        cols = {name: _column(reader, name) for name in FACET_FIELDS}
        seen: set[str] = set()
        facets: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
        for docnum in whole.docs(searcher):
            seg = seg_col(docnum)
            if seg in seen:
                continue
            seen.add(seg)
            for name, col in cols.items():
                value = col(docnum)
                if value:
                    facets[name][value] = facets[name].get(value, 0) + 1
        return len(seen), {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in facets.items()}

    def _hits(self, searcher, parsed: ParsedQuery, q: Q.Query, filt, page: int, page_size: int,
              sort: str) -> list[Hit]:
        kwargs = {}
        if sort == "date":
            kwargs["sortedby"] = [FieldFacet("date", reverse=True), FieldFacet("order")]
        elif sort == "date_asc":
            kwargs["sortedby"] = [FieldFacet("date"), FieldFacet("order")]
        results = searcher.search(q, filter=filt, limit=page * page_size, collapse="seg_id",
                                  collapse_limit=1, **kwargs)
        hits = []
        for r in list(results)[(page - 1) * page_size:]:
            score = r.score if isinstance(r.score, int | float) else 0.0  # a sort key when sorted by date
            hits.append(self._hit(searcher, parsed, r.docnum, r.fields(), score, filt))
        return hits

    def _spans(self, searcher, terms: list[str], docnum: int) -> list[Span]:
        reader = searcher.reader()
        spans: list[Span] = []
        for term in terms:
            if ("text", term) not in reader:
                continue
            m = reader.postings("text", term)
            m.skip_to(docnum)
            if m.is_active() and m.id() == docnum:
                spans.extend((s, e) for _, s, e in m.value_as("characters"))
        return spans

    def _hit(self, searcher, parsed: ParsedQuery, docnum: int, fields: dict, score: float, filt) -> Hit:
        spans = self._spans(searcher, parsed.terms, docnum)
        passage_text = fields.get("text", "")
        full = self._turn_text(searcher, fields, passage_text)
        return Hit(
            id=fields["seg_id"],
            doc_id=fields["doc_id"],
            order=fields["order"],
            title=fields.get("title", ""),
            session=int(fields["session"]) if fields.get("session") else None,
            date=fields.get("date", ""),
            speaker=fields.get("speaker", ""),
            speaker_role=fields.get("speaker_role", ""),
            part=fields.get("part", "other"),
            doc_type=fields.get("doc_type", ""),
            visibility=fields.get("visibility", "public"),
            snippet=snippet(passage_text, spans),
            text=full,
            score=round(float(score), 4),
            start=fields.get("start"),
            end=fields.get("end"),
            qa=fields.get("qa", ""),
            answers_to=fields.get("answers_to"),
        )

    @staticmethod
    def _turn_text(searcher, fields: dict, passage_text: str) -> str:
        if fields.get("passage", 0) == 0 and len(passage_text) < 400:
            return passage_text
        parts = sorted(searcher.documents(seg_id=fields["seg_id"]), key=lambda r: r.get("passage", 0))
        return "".join(p.get("text", "") for p in parts)

    @staticmethod
    def highlight(text: str, query: str) -> str:
        """`text` escaped, with the query's terms marked (as the analyzer matches them).

        >>> KnowledgeBase.highlight("サーバーの内製化", "サーバ")
        '<mark>サーバー</mark>の内製化'
        """
        terms = set(parse_query(query).terms)
        spans = [(t.startchar, t.endchar) for t in japanese_analyzer()(text, chars=True) if t.text in terms]
        return mark(text, spans)

    # -- documents ---------------------------------------------------------------------------
    def document(self, doc_id: str, role: str = "public") -> Document | None:
        """A whole document as the role may see it; None when missing *or* not visible."""
        with self.index.searcher() as searcher:
            head = searcher.document(id=head_id(doc_id))
            if not head or "doc_meta" not in head:
                return None
            meta = json.loads(head["doc_meta"])
            q: Q.Query = Q.Term("doc_id", doc_id)
            vis = visibility_filter(role)
            if vis is not None:
                if meta.get("visibility") != "public":
                    return None
                q = Q.And([q, vis])
            records = [searcher.stored_fields(d) for d in q.docs(searcher)]
        if not records:
            return None
        meta.pop("segments", None)
        return Document(**meta, segments=segments_from_records(records))

    def stats(self, role: str = "public") -> dict:
        """Counts of documents, turns and passages, by type and session, as the role may see them."""
        with self.index.searcher() as searcher:
            vis = visibility_filter(role)
            q = vis if vis is not None else Q.Every()
            docs: set[str] = set()
            turns: set[str] = set()
            by_type: dict[str, set[str]] = {}
            sessions: set[str] = set()
            speakers: set[str] = set()
            passages = 0
            for d in q.docs(searcher):
                r = searcher.stored_fields(d)
                passages += 1
                docs.add(r["doc_id"])
                turns.add(r["seg_id"])
                by_type.setdefault(r.get("doc_type", ""), set()).add(r["doc_id"])
                if r.get("session"):
                    sessions.add(r["session"])
                if r.get("speaker"):
                    speakers.add(r["speaker"])
        return {
            "documents": len(docs),
            "turns": len(turns),
            "passages": passages,
            "sessions": sorted(sessions, key=lambda s: int(s) if s.isdigit() else 0),
            "speakers": len(speakers),
            "by_type": {k: len(v) for k, v in sorted(by_type.items())},
            "index": str(self.index.path),
        }
