"""Browsing on top of search: related turns, Q&A pairs, speakers, trends, CSV export, document lists,
sessions with their titles, and turns one session holds twice (subtitles and transcript, see `dedupe`).

Every function takes the viewer's `role` and enforces visibility here (never only in the page):
public viewers never see members-only turns, in rows, counts, links or exports.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from whoosh import query as Q

from indexer.errors import KbError
from indexer.index.store import segments_from_records
from indexer.ingest.catalogue import Catalogue
from indexer.models import PART_LABELS, TYPE_LABELS, VISIBILITY_LABELS, Document, Hit, Segment
from indexer.search.cite import Citer, permalink
from indexer.search.dedupe import Copy, fold, same_turn, turn_key
from indexer.search.kb import Filters, KnowledgeBase, check_role, visibility_filter
from indexer.search.people import speaker_matches
from indexer.text.analysis import japanese_analyzer

CSV_MAX_ROWS = 5000
_KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30a1-\u30ff]{1,2}$")


# -- related turns ---------------------------------------------------------------------------------
def distinctive_terms(kb: KnowledgeBase, text: str, n: int = 8, role: str = "public") -> list[str]:
    """The `n` terms of `text` with the highest tf·idf (short kana and digits left out).

    Document frequencies and the passage count are taken over the passages `role` may see only, so
    members-only text never changes which terms a public reader gets."""
    check_role(role)
    counts = Counter(t.text for t in japanese_analyzer()(text))
    searcher, snap = kb.index.reading()
    leaves = searcher.reader().leaf_readers()
    visible = snap.stats(role == "public")["visible"]
    total = max(1, int(visible.sum()))
    scored = []
    for term, tf in counts.items():
        if len(term) < 2 and not re.match(r"[\u4e00-\u9fff]", term) or term.isdigit() or _KANA_ONLY.match(term):
            continue
        docs, _ = snap.postings(leaves, "text", term)
        df = int(visible[docs].sum()) if len(docs) else 0
        if df == 0:
            continue
        scored.append((tf * math.log(1 + total / df), term))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [t for _, t in scored[:n]]


def _visible_turn(kb: KnowledgeBase, seg_id: str, role: str) -> dict | None:
    """The stored passages of one turn joined, or None when missing or not visible to `role`."""
    with kb.index.searcher() as s:
        q: Q.Query = Q.Term("seg_id", seg_id)
        vis = visibility_filter(role)
        if vis is not None:
            q = Q.And([q, vis])
        recs = sorted((s.stored_fields(d) for d in q.docs(s)), key=lambda r: r.get("passage", 0))
    if not recs:
        return None
    return {**recs[0], "text": "".join(r.get("text", "") for r in recs)}


def related(kb: KnowledgeBase, hit_id: str, role: str = "public", k: int = 5) -> list[Hit]:
    """Turns that discuss what the turn `hit_id` discusses: an OR search over its most distinctive
    terms (the turn itself left out). Empty when the turn is not visible to `role`."""
    check_role(role)
    turn = _visible_turn(kb, hit_id, role)
    if turn is None:
        return []
    terms = distinctive_terms(kb, turn["text"], role=role)
    if not terms:
        return []
    # A trailing "？" makes the parser treat the terms as a question: every term optional (OR), BM25
    # weighing them. (KnowledgeBase.search has no `mode` argument; this is its public way to OR.)
    res = kb.search(" ".join(terms) + "？", role=role, page_size=k + 1)
    return [h for h in res.hits if h.id != hit_id][:k]


# -- Q&A -------------------------------------------------------------------------------------------
@dataclass
class QALinks:
    """The question a turn answers, or the answers a question received (within what the role sees)."""

    question: Segment | None = None
    answers: list[Segment] = field(default_factory=list)


def qa_links(doc: Document, order: int) -> QALinks:
    """For a question: its answers; for an answer: its question. `doc` is already role-filtered."""
    by_order = {s.order: s for s in doc.segments}
    seg = by_order.get(order)
    if seg is None:
        return QALinks()
    if seg.qa == "question":
        return QALinks(answers=[s for s in doc.segments if s.qa == "answer" and s.answers_to == order])
    if seg.qa == "answer" and seg.answers_to is not None:
        return QALinks(question=by_order.get(seg.answers_to))
    return QALinks()


@dataclass
class QAPair:
    """A question and its answers. `copies`: the same exchange in another document of the session
    (the subtitles of a transcript's Q&A), shown once, with both sources named."""

    doc_id: str
    title: str
    session: int | None
    date: str
    question: Segment
    answers: list[Segment]
    copies: list[Copy] = field(default_factory=list)

    @property
    def source(self) -> Copy:
        return Copy(self.doc_id, self.title, self.question.order, self.question.start)

    @property
    def sources(self) -> list[Copy]:
        """Every document holding this exchange: this pair's own first."""
        return [self.source, *self.copies]


def _turns(kb: KnowledgeBase, role: str, q: Q.Query) -> dict[str, list[dict]]:
    """Stored passages matching `q` that `role` may see, grouped by document."""
    vis = visibility_filter(role)
    whole = Q.And([q, vis]) if vis is not None else q
    by_doc: dict[str, list[dict]] = {}
    with kb.index.searcher() as s:
        for d in whole.docs(s):
            r = s.stored_fields(d)
            by_doc.setdefault(r["doc_id"], []).append(r)
    return by_doc


def _matching_turns(kb: KnowledgeBase, query: str, role: str, limit: int = 5000) -> set[str]:
    """Ids of the turns a search finds (as `role`), through the public search API."""
    out: set[str] = set()
    page = 1
    while len(out) < limit:
        res = kb.search(query, role=role, page=page, page_size=100)
        out.update(h.id for h in res.hits)
        if not res.hits or page * 100 >= res.total:
            break
        page += 1
    return out


def qa_pairs(kb: KnowledgeBase, role: str = "public", answerer: str | None = None,
             session: int | None = None, query: str | None = None) -> list[QAPair]:
    """Questions with their answers. A question the role may not see hides its pair; answers the
    role may not see are dropped one by one. `answerer` keeps pairs answered by that speaker (a part
    of the name or its reading in kana is enough: `people.speaker_matches`), `query` pairs whose question or an
    answer matches the search."""
    check_role(role)
    q: Q.Query = Q.Or([Q.Term("qa", "question"), Q.Term("qa", "answer")])
    if session is not None:
        q = Q.And([q, Q.Term("session", str(int(session)))])
    matching = _matching_turns(kb, query, role) if query and query.strip() else None
    needle = answerer.strip() if answerer and answerer.strip() else ""  # a part of the name, or its reading
    pairs: list[QAPair] = []
    for doc_id, recs in _turns(kb, role, q).items():
        segs = segments_from_records(recs)
        head = recs[0]
        ids = {r["order"]: r["seg_id"] for r in recs}
        for seg in segs:
            if seg.qa != "question":
                continue
            answers = [a for a in segs if a.qa == "answer" and a.answers_to == seg.order]
            if needle and not any(speaker_matches(a.speaker, needle) for a in answers):
                continue
            if matching is not None and not ({ids[seg.order]} | {ids[a.order] for a in answers}) & matching:
                continue
            pairs.append(QAPair(doc_id, kb.title(doc_id), int(head["session"]) if head.get("session") else None,
                                head.get("date", ""), seg, answers))
    return merge_copied_pairs(pairs)


def _pair_text(p: QAPair) -> str:
    return turn_key(p.question.text + "".join(a.text for a in p.answers))


def merge_copied_pairs(pairs: list[QAPair]) -> list[QAPair]:
    """Pairs one session holds twice (same question, see `dedupe.same_turn`) as one pair naming both
    documents. The fuller record is kept (the longer text; on a tie the one without subtitle times, whose
    text is not broken into cues), in date order."""
    order = sorted(pairs, key=lambda p: (-len(_pair_text(p)), p.question.start is not None, p.doc_id,
                                         p.question.order))
    folded = fold(order, session=lambda p: p.session, doc=lambda p: p.doc_id,
                  speaker=lambda p: p.question.speaker, text=lambda p: p.question.text)
    out = []
    for pair, copies in folded:
        pair.copies = [c.source for c in copies]
        out.append(pair)
    out.sort(key=lambda p: (p.date, p.session or 0, p.doc_id, p.question.order))
    return out


def matching_turns(kb: KnowledgeBase, doc: Document, query: str, role: str = "public") -> list[int]:
    """The orders of the turns of `doc` (as the role sees it) that a search for `query` finds, in document
    order: the document page's next/previous hit."""
    check_role(role)
    if not query or not query.strip():
        return []
    found: set[str] = set()
    f = Filters(sessions=(int(doc.session),)) if doc.session is not None else None
    page = 1
    while True:
        res = kb.search(query, f, role=role, page=page, page_size=100)
        found.update(h.id for h in res.hits if h.doc_id == doc.id)
        if not res.hits or page * 100 >= res.total or page >= 50:
            break
        page += 1
    return [s.order for s in doc.segments if doc.segment_id(s.order) in found]


# -- turns one session holds twice -----------------------------------------------------------------
def fold_hits(hits: list[Hit]) -> list[tuple[Hit, list[Copy]]]:
    """Hits in their order, a hit that copies an earlier one of its session (subtitles and transcript)
    folded under it: (hit, where else the same turn is)."""
    folded = fold(hits, session=lambda h: h.session, doc=lambda h: h.doc_id, speaker=lambda h: h.speaker,
                  text=lambda h: h.text)
    return [(h, [Copy(c.doc_id, c.title, c.order, c.start) for c in copies]) for h, copies in folded]


def copies_in_session(kb: KnowledgeBase, doc: Document, role: str = "public") -> dict[int, list[Copy]]:
    """For each turn of `doc` (as the role sees it) the same turn in the session's other documents the role
    may see: order → copies. Empty for a document without a session."""
    check_role(role)
    if doc.session is None:
        return {}
    others = {d: recs for d, recs in _turns(kb, role, Q.Term("session", str(int(doc.session)))).items()
              if d != doc.id}
    out: dict[int, list[Copy]] = {}
    for other_id, recs in sorted(others.items()):
        segs = segments_from_records(recs)
        title = kb.title(other_id)
        for seg in doc.segments:
            for o in segs:
                if same_turn(seg.text, o.text, seg.speaker, o.speaker):
                    out.setdefault(seg.order, []).append(Copy(other_id, title, o.order, o.start))
                    break
    return out


# -- sessions --------------------------------------------------------------------------------------
@dataclass
class SessionInfo:
    number: int
    date: str
    title: str

    @property
    def label(self) -> str:
        """第N回 and the title (when the catalogue has one; a title that already starts with 第N回 as it is).

        >>> SessionInfo(6, "", "生成AIの業務利用").label, SessionInfo(6, "", "第6回 生成AI").label, SessionInfo(2, "", "").label
        ('第6回 生成AIの業務利用', '第6回 生成AI', '第2回')
        """
        if re.match(rf"第\s*{self.number}\s*回", self.title):
            return self.title
        return f"第{self.number}回 {self.title}".strip()


def sessions(kb: KnowledgeBase, role: str = "public") -> list[SessionInfo]:
    """The numbered sessions the role may see (it sees a document of them), with the earliest date and
    the title from the data directory's catalogue (`sessions.yaml`; none when it has no entry)."""
    check_role(role)
    try:
        catalogue = Catalogue.load(kb.data_dir)
    except KbError:
        catalogue = Catalogue()
    out = []
    for s, date in _session_dates(kb, role).items():
        if not str(s).isdigit():
            continue
        known = catalogue.session(int(s))
        out.append(SessionInfo(int(s), date or (known.date if known else ""), known.title if known else ""))
    out.sort(key=lambda x: x.number)
    return out


# -- speakers --------------------------------------------------------------------------------------
@dataclass
class SpeakerInfo:
    name: str
    roles: list[str]
    turns: int
    sessions: list[int]
    documents: int


def speakers(kb: KnowledgeBase, role: str = "public") -> list[SpeakerInfo]:
    """Every named speaker the role may see, with the turns it may see, by number of turns."""
    check_role(role)
    acc: dict[str, dict] = {}
    for recs in _turns(kb, role, Q.Every()).values():
        for r in recs:
            name = r.get("speaker", "")
            if not name or r.get("passage", 0) != 0:
                continue
            a = acc.setdefault(name, {"roles": set(), "turns": 0, "sessions": set(), "docs": set()})
            a["turns"] += 1
            a["docs"].add(r["doc_id"])
            if r.get("speaker_role"):
                a["roles"].add(r["speaker_role"])
            if str(r.get("session", "")).isdigit():
                a["sessions"].add(int(r["session"]))
    out = [SpeakerInfo(n, sorted(a["roles"]), a["turns"], sorted(a["sessions"]), len(a["docs"]))
           for n, a in acc.items()]
    out.sort(key=lambda s: (-s.turns, s.name))
    return out


# -- trend -----------------------------------------------------------------------------------------
@dataclass
class TrendPoint:
    session: int | None
    date: str
    count: int


@dataclass
class Trend:
    query: str
    total: int
    points: list[TrendPoint]
    speakers: list[tuple[str, int]]
    message: str = ""


def _session_dates(kb: KnowledgeBase, role: str) -> dict[str, str]:
    """session → earliest date among the documents the role may see."""
    dates: dict[str, str] = {}
    with kb.index.searcher() as s:
        vis = visibility_filter(role)
        for d in (vis if vis is not None else Q.Every()).docs(s):
            r = s.stored_fields(d)
            sess, date = r.get("session", ""), r.get("date", "")
            if sess and (sess not in dates or (date and (not dates[sess] or date < dates[sess]))):
                dates[sess] = date
    return dates


def trend(kb: KnowledgeBase, query: str, role: str = "public", top: int = 10) -> Trend:
    """How many turns match `query` in each session (every visible session, zeros included, in
    date order) and who said them. Counts are the search facets, so they are visibility-safe."""
    check_role(role)
    res = kb.search(query, role=role, page_size=1)
    counts = res.facets.get("session", {})
    points = [TrendPoint(int(s) if s.isdigit() else None, date, int(counts.get(s, 0)))
              for s, date in _session_dates(kb, role).items()]
    points.sort(key=lambda p: (p.date or "9999", p.session or 0))
    spk = sorted(res.facets.get("speaker", {}).items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return Trend(query, res.total, points, [(n, int(c)) for n, c in spk], res.message)


# -- CSV export ------------------------------------------------------------------------------------
CSV_COLUMNS = ("回", "日付", "種類", "文書ID", "タイトル", "話者", "役職", "パート", "開始（秒）", "公開範囲", "発言",
               "引用", "リンク")


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def results_csv(kb: KnowledgeBase, query: str, filters: Filters | None = None, role: str = "public",
                sort: str = "relevance", max_rows: int = CSV_MAX_ROWS, base_url: str = "http://127.0.0.1:8501") -> str:
    """Every hit of a search (up to `max_rows`) as CSV text, its values in Japanese (種類・パート・公開範囲 as
    the screen names them) with each turn's citation and a link to it (`permalink` on `base_url`).
    Members-only rows are never written for the public, even if a hit were to slip through."""
    check_role(role)
    citer = Citer.of(kb.data_dir, base_url)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    page, written = 1, 0
    while written < max_rows:
        res = kb.search(query, filters, role=role, page=page, page_size=100, sort=sort)
        for h in res.hits:
            if role == "public" and h.visibility != "public":
                continue
            w.writerow([csv_cell(v) for v in (
                h.session, h.date, TYPE_LABELS.get(h.doc_type, h.doc_type), h.doc_id, h.title, h.speaker,
                h.speaker_role, PART_LABELS.get(h.part, h.part), h.start, VISIBILITY_LABELS.get(h.visibility, h.visibility),
                h.text, citer.hit(h).cite, permalink(base_url, h.doc_id, h.order, query))])
            written += 1
            if written >= max_rows:
                break
        if page * 100 >= res.total or not res.hits:
            break
        page += 1
    return out.getvalue()


# -- documents -------------------------------------------------------------------------------------
@dataclass
class DocInfo:
    id: str
    title: str
    session: int | None
    date: str
    type: str
    turns: int


def documents(kb: KnowledgeBase, role: str = "public") -> list[DocInfo]:
    """Documents with at least one turn the role may see (turn counts as the role sees them)."""
    check_role(role)
    out = []
    for doc_id, recs in _turns(kb, role, Q.Every()).items():
        r = recs[0]
        out.append(DocInfo(doc_id, kb.title(doc_id), int(r["session"]) if str(r.get("session", "")).isdigit()
                           else None, r.get("date", ""), r.get("doc_type", ""),
                           len({x["seg_id"] for x in recs})))
    out.sort(key=lambda d: (d.date, d.session or 0, d.id))
    return out
