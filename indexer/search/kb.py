"""Search: parse, filter (visibility first), rank, match, collapse passages to turns, count, highlight.

Visibility is enforced here, before ranking and counting: a public search never sees
members-only segments, in hits, totals or facets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from whoosh import query as Q

from indexer.errors import QueryError
from indexer.index.engine import Snapshot
from indexer.index.store import Index, head_id, segments_from_records
from indexer.models import DOC_TYPES, PARTS, ROLES, Document, Hit, SearchResult
from indexer.search import followup_links, synonyms
from indexer.search.advice import no_match
from indexer.search.cite import Citer
from indexer.search.highlight import Marks, highlight, query_snippet
from indexer.search.matching import Matches, match
from indexer.search.pages import drop_repeated_headings, fold_runs
from indexer.search.query import QUESTION, ParsedQuery, parse_query
from indexer.search.ranking import RankParams, alternatives, marks, rank
from indexer.search.rerank import bigram_idf, rerank

FACET_FIELDS = ("session", "speaker", "doc_type", "part")
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Filters:
    """Filters chosen in the UI or on the command line (query-string filters fill the gaps).

    Frozen and hashable (a cache key as it is): `sessions` is kept as a tuple, whatever sequence is given.

    >>> Filters(sessions=[2, 1]) == Filters(sessions=(2, 1)), hash(Filters()) == hash(Filters())
    (True, True)
    """

    sessions: tuple[int, ...] = ()
    date_from: str = ""
    date_to: str = ""
    doc_type: str = ""
    speaker: str = ""
    speaker_role: str = ""
    part: str = ""
    doc_ids: tuple[str, ...] = ()  # only these documents (a saved search's 新着); () = every document

    def __post_init__(self) -> None:
        object.__setattr__(self, "sessions", tuple(self.sessions or ()))
        object.__setattr__(self, "doc_ids", tuple(self.doc_ids or ()))

    def check(self) -> Filters:
        """Raise QueryError (Japanese) for malformed values."""
        for d in (self.date_from, self.date_to):
            if d and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
                raise QueryError(f"日付は YYYY-MM-DD の形で指定してください: {d}")
        return self

    def merged(self, from_query: dict[str, str]) -> Filters:
        sessions = self.sessions
        if not sessions and from_query.get("session"):
            sessions = tuple(_int(v) for v in from_query["session"].split(",") if v.strip())
        return replace(
            self, sessions=sessions,
            date_from=self.date_from or from_query.get("from", ""),
            date_to=self.date_to or from_query.get("to", ""),
            doc_type=self.doc_type or from_query.get("type", ""),
            speaker=self.speaker or from_query.get("speaker", ""),
            speaker_role=self.speaker_role or from_query.get("speaker_role", ""),
            part=self.part or from_query.get("part", ""),
        )


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


@dataclass
class _Found:
    """What one query matched (before paging): the snapshot read, the scores, the matching turns."""

    snap: Snapshot
    searcher: object
    synonyms: synonyms.Synonyms
    ranked: object
    found: Matches
    matched: np.ndarray  # turns found, heading lines that repeat their document left out
    headings: set[int]  # heading-line turns kept (their document matched through them alone)


def _isin(col, values: list[str]) -> np.ndarray:
    codes = [i for i, v in enumerate(col.values.tolist()) if v in set(values)]
    return np.isin(col.codes, codes)


def first_in_order(keys: np.ndarray, k: int) -> np.ndarray:
    """The positions of the `k` smallest keys, in the order a stable argsort gives them (positions tied
    with the k-th key follow), without sorting every key.

    >>> first_in_order(np.array([3, 1, 2, 1]), 2).tolist()
    [1, 3]
    """
    if k >= len(keys):
        return np.argsort(keys, kind="stable")
    near = None
    if len(keys) >= 64 * k:  # many keys: a sample's k-th smallest bounds the k-th (at least k keys are below)
        sample = keys[::16]
        bound = np.partition(sample, k - 1)[k - 1]
        near = np.flatnonzero(keys <= bound)
    kth = np.partition(keys if near is None else keys[near], k - 1)[k - 1]
    near = np.nonzero(keys <= kth)[0] if near is None else near[keys[near] <= kth]
    return near[np.argsort(keys[near], kind="stable")]


class KnowledgeBase:
    """Read access to one index, always on behalf of a role.

    `data_dir` is the data directory whose `synonyms.yaml` applies (default: the index's folder's parent,
    where `kb` keeps it)."""

    def __init__(self, index: Index, params: RankParams | None = None, data_dir: str | Path | None = None):
        self.index = index
        self.params = params or RankParams()
        self.data_dir = Path(data_dir) if data_dir is not None else index.path.parent

    # -- filters -----------------------------------------------------------------------------
    @staticmethod
    def _visible(snap: Snapshot, role: str) -> np.ndarray:
        """Passages this role may see."""
        return snap.live & snap.public if check_role(role) == "public" else snap.live

    def _mask(self, snap: Snapshot, role: str, f: Filters) -> np.ndarray:
        """Documents (passages) this role may see and the filters keep: applied before any ranking."""
        mask = self._visible(snap, role).copy()
        cols = snap.cols
        if f.sessions:
            mask &= _isin(cols["session"], [str(x) for x in f.sessions])
        if f.date_from or f.date_to:
            lo = int(f.date_from.replace("-", "")) if f.date_from else 0
            hi = int(f.date_to.replace("-", "")) if f.date_to else 99999999
            mask &= (snap.date >= lo) & (snap.date <= hi)
        if f.doc_type:
            if f.doc_type not in DOC_TYPES:
                raise QueryError(f"種類は {' / '.join(DOC_TYPES)} のいずれかです: {f.doc_type}")
            mask &= _isin(cols["doc_type"], [f.doc_type])
        if f.part:
            if f.part not in PARTS:
                raise QueryError(f"パートは {' / '.join(PARTS)} のいずれかです: {f.part}")
            mask &= _isin(cols["part"], [f.part])
        if f.speaker:
            mask &= _isin(cols["speaker"], self._speakers_like(cols["speaker"].values, f.speaker))
        if f.speaker_role:
            mask &= _isin(cols["speaker_role"], [f.speaker_role])
        if f.doc_ids:
            mask &= _isin(cols["doc_id"], list(f.doc_ids))
        return mask

    @staticmethod
    def _speakers_like(names, text: str) -> list[str]:
        from indexer.text.speakers import normalize_name

        needle = normalize_name(text)[0] or text.strip()
        return [n for n in names.tolist() if n and needle in n]

    def match_speakers(self, text: str) -> list[str]:
        """Speaker names in the index containing `text` (spaces and width ignored)."""
        searcher, snap = self.index.reading()
        return self._speakers_like(snap.cols["speaker"].values, text)

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
        page = max(1, min(int(page), 10_000))
        page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        result = SearchResult(query=text, total=0, hits=[], facets={}, page=page, page_size=page_size,
                              mode=parsed.mode, notes=list(parsed.notes))
        if parsed.empty:
            if parsed.excluded:
                result.notes.append("除外する語だけでは検索できません。探す語も入力してください（例: クラウド -契約）。")
            elif text.strip():
                result.notes.append("検索語を入力してください（助詞や記号だけでは検索できません）。")
            result.message = " ".join(result.notes)
            return result
        got = self._find(parsed, f, role)
        snap, searcher, ranked, found = got.snap, got.searcher, got.ranked, got.found
        turns = np.nonzero(got.matched)[0]
        result.total = int(len(turns))
        result.total_all_terms = int((found.all_terms & got.matched).sum())
        result.total_some_terms = result.total - result.total_all_terms
        result.facets = self._facets(snap, turns)
        if not len(turns):
            if found.universe.any():  # an empty archive (or filters that keep nothing) needs no advice
                self._advise(result, parsed, got, f, role)
            result.message = " ".join(result.notes)
            return result
        result.message = " ".join(result.notes)
        needed = max(page * page_size, self.params.rerank_depth)
        if sort in ("date", "date_asc"):
            reps = snap.turn_rep[turns]
            key_date = snap.date[reps].astype(np.int64) * 100_000 + snap.order[reps]
            order = first_in_order(-key_date if sort == "date" else key_date, needed)
        else:
            order = first_in_order(-ranked.turn_scores[turns], needed)
        ordered = turns[order]  # the first `needed` turns (and any tied with the last of them)
        scores = ranked.turn_scores
        best_of: dict[int, int] = {}
        stored: dict[int, dict] = {}
        if (sort not in ("date", "date_asc") and self.params.rerank_weight and parsed.mode == QUESTION
                and (page - 1) * page_size < self.params.rerank_depth):
            scores = scores.copy()
            ordered, best_of, stored = self._rerank(searcher, snap, parsed, ordered, ranked.doc_scores,
                                                    scores, role == "public")
        chosen = ordered[(page - 1) * page_size: page * page_size]
        if all(t in best_of for t in chosen.tolist()):
            best = [best_of[t] for t in chosen.tolist()]
        else:
            best = list(snap.best_doc_of_turns(chosen, ranked.doc_scores)) if len(chosen) else []
        wanted = marks(parsed, alternatives(parsed, self.params, got.synonyms))
        result.hits = [self._hit(searcher, snap, wanted, int(d), float(scores[t]), stored.get(int(d)),
                                 heading=t in got.headings, all_terms=bool(found.all_terms[t]))
                       for t, d in zip(chosen.tolist(), best, strict=True)]
        Citer.of(self.data_dir).annotate(result.hits)  # permalink, citation, recording link
        followup_links.attach(self, result.hits, role)  # ほかの回でも
        result.groups = fold_runs(result.hits)
        return result

    def _find(self, parsed: ParsedQuery, f: Filters, role: str) -> _Found:
        """Rank and match a query among the passages the role may see and the filters keep; drop the
        heading lines that repeat their document."""
        searcher, snap = self.index.reading()
        mask = self._mask(snap, role, f)
        for name, value in parsed.excluded_filters:  # -speaker:北条
            mask &= ~self._mask(snap, role, Filters().merged({name: value}).check())
        syn = synonyms.load(self.data_dir)
        ranked = rank(snap, searcher, parsed, mask, role == "public", self.params, synonyms=syn)
        found = match(snap, searcher, parsed, ranked, mask, self.params, syn)
        matched, headings = drop_repeated_headings(snap, searcher, found.turns)
        return _Found(snap, searcher, syn, ranked, found, matched, headings)

    def _advise(self, result: SearchResult, parsed: ParsedQuery, got: _Found, f: Filters, role: str) -> None:
        """Nothing matched: say so, with each word's own count (as its own search would give it) and what
        to try instead (only suggestions that find something)."""
        counts = []
        for i in parsed.positive:
            leaf = parsed.leaves[i]
            alone = drop_repeated_headings(got.snap, got.searcher, got.found.leaf_turns(i))[0]
            counts.append((f'"{leaf.word}"' if leaf.phrase else leaf.word, int(alone.sum())))
        plain = parsed.mode != QUESTION and not parsed.uses_operators
        constrained = bool(parsed.excluded) or any(parsed.leaves[i].phrase for i in parsed.positive)

        def finds(query: str) -> bool:
            other = parse_query(query)
            return not other.empty and bool(self._find(other, f, role).matched.any())

        notes, result.suggestions = no_match(parsed.mode, counts, plain, constrained, got.synonyms, finds)
        result.notes += notes

    def _rerank(self, searcher, snap: Snapshot, parsed: ParsedQuery, ordered: np.ndarray,
                doc_scores: np.ndarray, scores: np.ndarray, public_only: bool
                ) -> tuple[np.ndarray, dict[int, int], dict[int, dict]]:
        """Re-rank a question's top turns by the wording their best passage shares with it (`scores` is
        updated in place); returns the new turn order, each top turn's best passage and its stored fields."""
        head = ordered[: self.params.rerank_depth]
        best = snap.best_doc_of_turns(head, doc_scores).tolist()
        stored = {d: searcher.stored_fields(d) for d in best}
        asked = parsed.positive_text  # the question as typed, without operators, filters or excluded words
        weights = bigram_idf(snap, searcher, asked, public_only)
        new_order, new_scores = rerank(weights, [stored[d].get("text", "") for d in best], scores[head],
                                       self.params.rerank_weight, asked,
                                       self.params.answer_type_weight, self.params.answer_window_weight)
        scores[head] = new_scores
        best_of = dict(zip(head.tolist(), best, strict=True))
        return np.concatenate([head[new_order], ordered[len(head):]]), best_of, stored

    @staticmethod
    def _facets(snap: Snapshot, turns: np.ndarray) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name in FACET_FIELDS:
            col = snap.cols[name]
            if len(col.values) == 1:  # one value: every turn holds it
                counts = np.array([len(turns)], dtype=np.int64)
            else:
                counts = (np.bincount(snap.turn_codes(name)[turns], minlength=len(col.values)) if len(turns)
                          else np.zeros(0, np.int64))
            present = np.flatnonzero(counts)  # only the values counted (a column may hold many thousands)
            pairs = [(str(v), int(c)) for v, c in zip(col.values[present].tolist(), counts[present].tolist(),
                                                      strict=True) if v]
            out[name] = dict(sorted(pairs, key=lambda kv: -kv[1]))
        return out

    def _hit(self, searcher, snap: Snapshot, wanted: Marks, docnum: int, score: float,
             fields: dict | None = None, heading: bool = False, all_terms: bool = True) -> Hit:
        fields = fields if fields is not None else searcher.stored_fields(docnum)
        passage_text = fields.get("text", "")
        full = snap.turn_text(searcher, docnum, fields)  # the turn's passages joined
        return Hit(
            id=fields["seg_id"],
            doc_id=fields["doc_id"],
            order=fields["order"],
            title=self._title(searcher, snap, fields["doc_id"]),
            session=int(fields["session"]) if str(fields.get("session", "")).isdigit() else None,
            date=fields.get("date", ""),
            speaker=fields.get("speaker", ""),
            speaker_role=fields.get("speaker_role", ""),
            part=fields.get("part", "other"),
            doc_type=fields.get("doc_type", ""),
            visibility=fields.get("visibility", "public"),
            snippet=query_snippet(passage_text, wanted),
            text=full,
            score=round(score, 4),
            start=fields.get("start"),
            end=fields.get("end"),
            qa=fields.get("qa", ""),
            answers_to=fields.get("answers_to"),
            heading=heading,
            all_terms=all_terms,
        )

    def title(self, doc_id: str) -> str:
        """A document's title (kept once, on the document's first record)."""
        searcher, snap = self.index.reading()
        return self._title(searcher, snap, doc_id)

    @staticmethod
    def _title(searcher, snap: Snapshot, doc_id: str) -> str:
        titles = snap.titles
        if doc_id not in titles:
            head = searcher.document(id=head_id(doc_id)) or {}
            titles[doc_id] = head.get("title", "")
        return titles[doc_id]

    @staticmethod
    def highlight(text: str, query: str) -> str:
        """`text` escaped, with the query's words marked as whole words (never an excluded word).

        >>> KnowledgeBase.highlight("サーバーの内製化", "サーバ -内製化")
        '<mark>サーバー</mark>の内製化'
        """
        parsed = parse_query(query)
        return highlight(text, marks(parsed, alternatives(parsed, RankParams())))

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
        if vis is not None:  # hashes cover members-only turns too: they must not reach a public reader
            meta.update(content_hash="", fingerprint="")
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
