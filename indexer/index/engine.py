"""Fast ranking over the Whoosh index: postings and per-document columns as NumPy arrays.

Whoosh stays the index (schema, analyzer, postings, stored fields, atomic commits). Scoring,
filtering, facet counting and passage→turn collapsing are done here with NumPy over arrays read
from the index's segments. Segments are immutable, so their arrays are cached by segment id and
only a new segment (after `kb add`) is read again; deletions are re-applied on every snapshot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from indexer.index.bulk import LENGTH_OF_BYTE
from indexer.index.columns import Codes, ColumnUnion
from indexer.index.internals import (
    read_numeric_column,
    read_postings,
    read_string_codes,
    segment_length_bytes,
)
from indexer.index.schema import ARRAY_COLUMNS, SCORED_FIELDS
from indexer.text.analysis import COMPOUND_MAX

POSTINGS_CACHE_LIMIT = 12_000_000  # postings kept in memory (about 8 bytes each)
TURN_TEXTS_KEPT = 2_000  # whole turn texts remembered per snapshot (hits shown again)
#: Postings of terms over all segments (the segments' own, joined) remembered per snapshot.
MERGED_POSTINGS_KEPT = 4_000_000
#: Fields where a term not indexed whole is found as its parts (compound readings, `Snapshot.reading_parts`).
COMPOUND_FIELDS = ("reading",)
_LONGEST_SPLIT = 40  # longest term cut into parts (characters)


def bm25_idf(n: int, df: int) -> float:
    """BM25's inverse document frequency of a term in `df` of `n` documents."""
    return np.log(1.0 + (n - df + 0.5) / (df + 0.5))


def _saturated(tf: np.ndarray, norms: np.ndarray, k1: float) -> np.ndarray:
    """tf × (k1 + 1) / (tf + norms) in float32 (`norms`: the passages' length parts; overwritten)."""
    norms += tf
    out = tf * (k1 + 1.0)
    out /= norms
    return out


def _segment_key(reader) -> str:
    seg = reader.segment()
    return f"{seg.segment_id()}" if seg is not None else str(id(reader))


class SegmentArrays:
    """Per-document columns and text lengths of one immutable segment (all empty for the
    `EmptyReader` of an index without segments)."""

    def __init__(self, reader):
        n = reader.doc_count_all()
        self.n = n
        self.columns = {name: Codes(*read_string_codes(reader, name, n)) for name in ARRAY_COLUMNS}
        self.lengths = {f: LENGTH_OF_BYTE[segment_length_bytes(reader, f, n)].astype(np.float32)
                        for f in SCORED_FIELDS}
        self.order = read_numeric_column(reader, "turn_order", n).astype(np.int32, copy=False)


class Engine:
    """Caches shared by every searcher of one index (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._segments: dict[str, SegmentArrays] = {}
        self._postings: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._postings_size = 0
        self._snapshot: Snapshot | None = None
        self.columns = {name: ColumnUnion() for name in ARRAY_COLUMNS}  # each string column over the segments

    def snapshot(self, searcher) -> Snapshot:
        """The arrays of the searcher's index generation (segments already read are reused)."""
        leaves = searcher.reader().leaf_readers()
        key = tuple((_segment_key(r), r.segment().deleted_count() if r.segment() else 0) for r, _ in leaves)
        snap = self._snapshot
        if snap is not None and snap.key == key:
            return snap
        with self._lock:
            arrays = []
            for r, _ in leaves:
                k = _segment_key(r)
                if k not in self._segments:
                    self._segments[k] = SegmentArrays(r)
                arrays.append(self._segments[k])
            live_keys = {_segment_key(r) for r, _ in leaves}
            for k in [k for k in self._segments if k not in live_keys]:
                del self._segments[k]
            snap = Snapshot(self, key, leaves, arrays)
            self._snapshot = snap
        return snap

    def postings(self, seg_key: str, reader, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(local docnums, tf) of a term in one segment, deleted documents included (kept in an LRU cache)."""
        k = (seg_key, field, term)
        hit = self._postings.get(k)
        if hit is not None:
            self._postings.move_to_end(k)
            return hit
        value = read_postings(reader, field, term.encode("utf-8"))
        with self._lock:
            self._postings[k] = value
            self._postings_size += len(value[0])
            while self._postings_size > POSTINGS_CACHE_LIMIT and len(self._postings) > 1:
                _, (ids, _w) = self._postings.popitem(last=False)
                self._postings_size -= len(ids)
        return value


def _fewest_parts(term: str, holds) -> list[str]:
    """`term` cut into the fewest pieces for which `holds(piece)`, 2 to COMPOUND_MAX of them, the longest first
    piece among equals; [] when it cannot be.

    >>> _fewest_parts("ナイセイカ", {"ナイ", "セイ", "ナイセイ", "カ"}.__contains__)
    ['ナイセイ', 'カ']
    """
    n = len(term)
    if n < 2 or n > _LONGEST_SPLIT:
        return []
    best: list[tuple[int, int] | None] = [None] * n + [(0, n)]  # best[i]: (pieces, end of the first) of term[i:]
    for i in range(n - 1, -1, -1):
        for j in range(n, i, -1):
            if best[j] is None or (i == 0 and j == n) or not holds(term[i:j]):
                continue
            pieces = best[j][0] + 1
            if best[i] is None or pieces < best[i][0]:
                best[i] = (pieces, j)
    if best[0] is None or best[0][0] > COMPOUND_MAX:
        return []
    parts, i = [], 0
    while i < n:
        j = best[i][1]
        parts.append(term[i:j])
        i = j
    return parts


class Snapshot:
    """All segments of one index generation as global arrays (docnum = leaf offset + local docnum)."""

    def __init__(self, engine: Engine, key: tuple, leaves, arrays: list[SegmentArrays]):
        self.engine = engine
        self.key = key
        self.offsets = [off for _, off in leaves]
        self.seg_keys = [_segment_key(r) for r, _ in leaves]
        self.n = sum(a.n for a in arrays)
        live = np.ones(self.n, dtype=bool)
        for r, off in leaves:
            deleted = list(r.segment().deleted_docs()) if r.segment() and r.segment().has_deletions() else []
            if deleted:
                live[off + np.asarray(deleted, dtype=np.int64)] = False
        self.live = live
        self.all_live = bool(live.all())
        self.cols = {name: engine.columns[name].merged(list(zip(self.seg_keys, (a.columns[name] for a in arrays),
                                                                 strict=True)))
                     for name in ARRAY_COLUMNS}
        self.turn = self.cols["seg_id"]
        self.n_turns = len(self.turn.values)
        vis, date = self.cols["visibility"], self.cols["date"]
        self.public = (vis.values == "public")[vis.codes]
        self.date = np.array([int(d.replace("-", "")) if len(d) == 10 else 0 for d in date.values.tolist()],
                             dtype=np.int32)[date.codes]
        self.lengths = {f: np.concatenate([a.lengths[f] for a in arrays]) if arrays else np.zeros(0, np.float32)
                        for f in SCORED_FIELDS}
        self.order = np.concatenate([a.order for a in arrays]) if arrays else np.zeros(0, np.int32)
        self.answer_turns, self.question_turns = self._questions(live)
        rep = np.full(self.n_turns, -1, dtype=np.int64)
        live_docs = np.nonzero(live)[0]
        rep[self.turn.codes[live_docs][::-1]] = live_docs[::-1]
        self.turn_rep = rep  # first live passage of each turn (-1: none)
        self._stats: dict = {}
        self._idf: dict[tuple[str, str, bool], float] = {}  # (field, term, public_only) → IDF, on demand
        self.titles: dict[str, str] = {}  # doc id → title, filled on demand
        self.squashed: dict[int, str] = {}  # docnum → folded text without spaces (phrase checks)
        self._by_doc: tuple[np.ndarray, np.ndarray] | None = None  # passages grouped by document, on demand
        self._parts: dict[tuple[str, str], list[str]] = {}  # (field, term) → its indexed parts
        self._known: dict[tuple[str, str], bool] = {}  # (field, term) → held by a segment
        self._turn_texts: dict[int, str] = {}  # turn code → its whole text
        self._norms: dict[tuple, np.ndarray] = {}  # (field, k1, b, average length) → BM25 length part
        # (field, term, public only) → postings over all segments, the least recently used first
        self._merged: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._merged_size = 0
        self._merged_lock = threading.Lock()
        self._turns_with: tuple[np.ndarray, np.ndarray] | None = None  # (passage mask, its turns)
        self._titled_memo: tuple | None = None  # (among, its docnums, their documents, titled docs → passages)
        self._turn_codes: dict[str, np.ndarray] = {}  # column → its codes per turn (`turn_codes`)

    def _questions(self, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(answer turn, its question's turn) of every live passage answering a question that is a turn here
        (for Q&A propagation), matched on the distinct question ids only."""
        q = self.cols["question_id"]
        turns = self.turn.values
        pos = np.searchsorted(turns, q.values)
        hit = (q.values != "") & (pos < len(turns))
        hit[hit] = turns[pos[hit]] == q.values[hit]
        question_of = np.where(hit, pos, -1)[q.codes]  # per passage: its question's turn, -1 for none
        answers = (question_of >= 0) & live
        pairs = np.unique(self.turn.codes[answers].astype(np.int64) << 32 | question_of[answers])  # once each
        return (pairs >> 32).astype(self.turn.codes.dtype), (pairs & 0xFFFFFFFF).astype(np.int32)

    def postings(self, leaves, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Global (docnums, tf) of a term over all segments (`leaves` of the caller's searcher), live only.

        In the reading field a term no segment holds (a compound's reading: compounds are not indexed
        whole) is found where it reads as 2 to COMPOUND_MAX indexed readings (`reading_parts`: ナイセイカ =
        ナイセイ + カ) all in one passage, with the rarest part's frequency, as a kanji compound's words are."""
        key = (field, term, False)
        found = self._remembered(key)
        if found is None:
            if field in COMPOUND_FIELDS and not self._holds(leaves, field, term):
                parts = self.reading_parts(leaves, field, term)
                found = self._all_of(leaves, field, parts) if parts else (np.empty(0, np.int32),
                                                                          np.empty(0, np.float32))
            else:
                found = self.term_postings(leaves, field, term)
            self._keep(key, found)
        return found

    def _remembered(self, key: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        found = self._merged.get(key)
        if found is not None:
            with self._merged_lock:
                if key in self._merged:
                    self._merged.move_to_end(key)
        return found

    def _keep(self, key: tuple, postings: tuple[np.ndarray, np.ndarray]) -> None:
        """Remember a term's postings over all segments for this snapshot, up to MERGED_POSTINGS_KEPT: the
        least recently used terms are forgotten first (a query's own terms stay for its next page)."""
        with self._merged_lock:
            if key in self._merged:
                return
            self._merged[key] = postings
            self._merged_size += len(postings[0])
            while self._merged_size > MERGED_POSTINGS_KEPT and len(self._merged) > 1:
                _, (docs, _tf) = self._merged.popitem(last=False)
                self._merged_size -= len(docs)

    def _all_of(self, leaves, field: str, parts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, least tf) of the passages holding every one of `parts`."""
        docs, tf = self.term_postings(leaves, field, parts[0])
        for part in parts[1:]:
            more, more_tf = self.term_postings(leaves, field, part)
            docs, i, j = np.intersect1d(docs, more, assume_unique=True, return_indices=True)
            tf = np.minimum(tf[i], more_tf[j])
        return docs, tf

    def reading_parts(self, leaves, field: str, term: str) -> list[str]:
        """`term` cut into the fewest (2 to COMPOUND_MAX) terms the field holds, the longest first part among
        equals; [] when it cannot be (remembered per snapshot)."""
        key = (field, term)
        if key not in self._parts:
            self._parts[key] = _fewest_parts(term, lambda piece: self._holds(leaves, field, piece))
        return self._parts[key]

    def _holds(self, leaves, field: str, term: str) -> bool:
        key = (field, term)
        if key not in self._known:
            self._known[key] = any((field, term) in r for r, _ in leaves)
        return self._known[key]

    def turn_docs(self, docnum: int) -> list[int]:
        """The live passages of `docnum`'s turn, in order (a turn's passages are consecutive records)."""
        codes, live = self.turn.codes, self.live
        code = codes[docnum]
        j = int(self.turn_rep[code]) if self.turn_rep[code] >= 0 else docnum
        out = []
        while j < self.n and codes[j] == code:
            if live[j]:
                out.append(j)
            j += 1
        return out

    def turn_text(self, searcher, docnum: int, fields: dict | None = None) -> str:
        """The whole text of `docnum`'s turn: its passages' stored texts joined (`fields`: `docnum`'s stored
        fields when already read; the texts of recent turns are remembered)."""
        code = int(self.turn.codes[docnum])
        text = self._turn_texts.get(code)
        if text is None:
            text = "".join((fields if d == docnum and fields is not None else searcher.stored_fields(d)).get("text", "")
                           for d in self.turn_docs(docnum))
            if len(self._turn_texts) >= TURN_TEXTS_KEPT:
                self._turn_texts.clear()
            self._turn_texts[code] = text
        return text

    def term_postings(self, leaves, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Global (docnums, tf) of the one indexed term over all segments, live only."""
        docs, tfs = [], []
        postings = self.engine.postings
        for (r, off), key in zip(leaves, self.seg_keys, strict=True):
            ids, w = postings(key, r, field, term)
            if len(ids):
                docs.append(ids + off if off else ids)
                tfs.append(w)
        if not docs:
            return np.empty(0, np.int32), np.empty(0, np.float32)
        d, t = (np.concatenate(docs), np.concatenate(tfs)) if len(docs) > 1 else (docs[0], tfs[0])
        if self.all_live:
            return d, t
        keep = self.live[d]
        return (d, t) if keep.all() else (d[keep], t[keep])

    def visible_postings(self, leaves, field: str, term: str, public_only: bool
                         ) -> tuple[np.ndarray, np.ndarray]:
        """`postings`, keeping only the public passages when `public_only`."""
        if not public_only or self.stats(True)["all"]:
            return self.postings(leaves, field, term)
        key = (field, term, True)
        found = self._remembered(key)
        if found is None:
            docs, tf = self.postings(leaves, field, term)
            keep = self.stats(True)["visible"][docs]
            found = (docs[keep], tf[keep])
            self._keep(key, found)
        return found

    def stats(self, public_only: bool) -> dict:
        """Collection statistics over what a role may see (so hidden text never moves a score)."""
        if public_only not in self._stats:
            visible = self.live & self.public if public_only else self.live
            n_vis = int(visible.sum())
            avg = {}
            for f, v in self.lengths.items():  # over the documents that have the field at all
                have = v[visible]
                have = have[have > 0]
                avg[f] = float(have.mean()) if len(have) else 1.0
            self._stats[public_only] = {"n": max(n_vis, 1), "avg": avg, "visible": visible,
                                        "all": n_vis == self.n}  # every passage visible: nothing to filter
        return self._stats[public_only]

    def idf(self, leaves, field: str, term: str, public_only: bool = False) -> float:
        """BM25 IDF of one term (as in `bm25_many`), counted over what the role sees; cached per snapshot."""
        key = (field, term, public_only)
        if key not in self._idf:
            st = self.stats(public_only)
            df = len(self.visible_postings(leaves, field, term, public_only)[0])
            self._idf[key] = float(bm25_idf(st["n"], df))
        return self._idf[key]

    def bm25(self, leaves, field: str, term: str, k1: float, b: float, boost: float = 1.0,
             public_only: bool = False):
        """(docnums, BM25 weights) of one term; df, N and average length count only what the role sees."""
        return self.bm25_many(leaves, field, [term], k1, b, boost, public_only)

    def bm25_many(self, leaves, field: str, terms: list[str], k1: float, b: float, boost: float = 1.0,
                  public_only: bool = False):
        """(docnums, BM25 weights) of several terms of one field at once (one NumPy pass)."""
        st = self.stats(public_only)
        docs_l, tf_l, idf_l = [], [], []
        for term in terms:
            docs, tf = self.visible_postings(leaves, field, term, public_only)
            if len(docs):
                docs_l.append(docs)
                tf_l.append(tf)
                idf_l.append(bm25_idf(st["n"], len(docs)))
        if not docs_l:
            return np.empty(0, np.int32), np.empty(0, np.float32)
        docs, tf = (np.concatenate(docs_l), np.concatenate(tf_l)) if len(docs_l) > 1 else (docs_l[0], tf_l[0])
        scale = boost * np.asarray(idf_l, dtype=np.float32)  # (boost × idf) × saturation, in float32
        weights = self._saturation(field, docs, tf, k1, b, st)
        start = 0
        for d, c in zip(docs_l, scale, strict=True):  # each term's run scaled in place (no repeated array)
            weights[start:start + len(d)] *= c
            start += len(d)
        return docs, weights

    def _saturation(self, field: str, docs: np.ndarray, tf: np.ndarray, k1: float, b: float, st: dict
                    ) -> np.ndarray:
        """BM25's term-frequency part, tf × (k1 + 1) / (tf + k1 × (1 − b + b × length / average))."""
        return _saturated(tf, self._length_norms(field, k1, b, st)[docs], k1)

    def _length_norms(self, field: str, k1: float, b: float, st: dict) -> np.ndarray:
        """Every passage's length part of BM25, k1 × (1 − b + b × length / average) (once per snapshot
        and parameters)."""
        key = (field, k1, b, st["avg"][field])
        norms = self._norms.get(key)
        if norms is None:
            norms = self._norms[key] = k1 * (1.0 - b + b * self.lengths[field] / st["avg"][field])
        return norms

    def title_presence(self, leaves, title_field: str, field: str, terms: list[str], k1: float, b: float,
                       among: np.ndarray, boost: float = 1.0, public_only: bool = False,
                       cand: np.ndarray | None = None):
        """(docnums, extra BM25 weights) for the passages `among` (a boolean mask; `cand`: its docnums when
        the caller has them) whose document title holds a term: the title counts as one more occurrence
        of the term in each of them (a passage is read under its document's title, as a Wikipedia
        paragraph under its article's name)."""
        st = self.stats(public_only)
        doc_of = self.cols["doc_id"].codes
        memo = self._titled_memo  # one query's two calls (words, bigrams) pass the same `among`
        if memo is None or memo[0] is not among:
            cand = np.flatnonzero(among) if cand is None else cand
            memo = self._titled_memo = (among, cand, doc_of[cand], {})
        _, cand, cand_docs, titled_of = memo
        sels, weights = [], []
        dense: np.ndarray | None = None  # a term's tf by docnum (0 elsewhere), reset after each term
        for term in dict.fromkeys(terms):
            heads = self.visible_postings(leaves, title_field, term, public_only)[0]
            if not len(heads):
                continue
            docs, tf = self.visible_postings(leaves, field, term, public_only)
            titled_docs = np.unique(doc_of[heads])
            key = titled_docs.tobytes()  # terms of the same titles select the same passages
            sel = titled_of.get(key)
            if sel is None:
                sel = titled_of[key] = self._titled(titled_docs, among, cand, cand_docs)
            if not len(sel):
                continue
            if dense is None:
                dense = np.zeros(self.n, dtype=np.float32)
            dense[docs] = tf  # looked up by position: no binary search of `sel` in `docs`
            had = dense[sel]
            dense[docs] = 0.0
            norms = self._length_norms(field, k1, b, st)[sel]
            gain = _saturated(had + 1.0, norms.copy(), k1)
            gain -= _saturated(had, norms, k1)
            gain *= boost * np.float32(bm25_idf(st["n"], len(docs)))  # (boost × idf) × gain, in float32
            sels.append(sel)
            weights.append(gain)
        if not sels:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        return np.concatenate(sels), np.concatenate(weights)

    def _titled(self, titled_docs: np.ndarray, among: np.ndarray, cand: np.ndarray, cand_docs: np.ndarray
                ) -> np.ndarray:
        """The passages `among` (`cand`: their docnums, `cand_docs`: their documents) of the documents
        `titled_docs`: through those documents' passages when they are fewer (grouped by document then)."""
        _, bounds = self._doc_index()
        titled_docs = np.unique(titled_docs)
        if int((bounds[titled_docs + 1] - bounds[titled_docs]).sum()) < len(cand):
            sel = self.doc_passages(titled_docs, titled_docs)[1]
            return sel[among[sel]]
        titled = np.zeros(len(bounds) - 1, dtype=bool)
        titled[titled_docs] = True
        return cand[titled[cand_docs]]

    def _doc_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Passages sorted by document, and where each document's run starts (computed once)."""
        if self._by_doc is None:
            codes = self.cols["doc_id"].codes
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(self.cols["doc_id"].values) + 1))
            self._by_doc = (order, bounds)
        return self._by_doc

    def doc_passages(self, tags: np.ndarray, doc_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(tag, docnum) of every passage of each tagged document (`doc_codes`: codes of `doc_id`)."""
        order, bounds = self._doc_index()
        starts = bounds[doc_codes]
        sizes = bounds[doc_codes + 1] - starts
        total = int(sizes.sum())
        first = np.cumsum(sizes) - sizes
        idx = np.repeat(starts - first, sizes) + np.arange(total)
        return np.repeat(tags, sizes), order[idx]

    def turns_with(self, mask: np.ndarray) -> np.ndarray:
        """Turns with at least one passage in `mask` (read-only; the last mask's answer is remembered: most
        searches of a snapshot are made under the same visibility and no filter)."""
        last = self._turns_with
        if last is not None and np.array_equal(last[0], mask):
            return last[1]
        out = np.zeros(self.n_turns, dtype=bool)
        out[self.turn.codes[mask]] = True
        out.flags.writeable = False
        self._turns_with = (mask.copy(), out)
        return out

    def turn_max(self, docs: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Best passage score of every turn."""
        out = np.zeros(self.n_turns, dtype=np.float32)
        np.maximum.at(out, self.turn.codes[docs], scores)
        return out

    def turn_codes(self, name: str) -> np.ndarray:
        """Codes of column `name` at each turn's first live passage (as `cols[name].codes[turn_rep]`; once
        per snapshot and column)."""
        found = self._turn_codes.get(name)
        if found is None:
            found = self._turn_codes[name] = self.cols[name].codes[self.turn_rep]
            found.flags.writeable = False
        return found

    def best_doc_of_turns(self, turns: np.ndarray, doc_scores: np.ndarray) -> np.ndarray:
        """For each turn, its highest-scoring live passage (docnum; the first of equals)."""
        codes, live, rep, n = self.turn.codes, self.live, self.turn_rep, self.n
        if len(turns) <= 64 and bool((rep[turns] >= 0).all()):  # a page: each turn's own passages (consecutive)
            out = []
            for t in turns.tolist():
                j = k = int(rep[t])
                while k + 1 < n and codes[k + 1] == t:
                    k += 1
                if k > j:
                    among = j + np.flatnonzero(live[j:k + 1])
                    j = int(among[np.argmax(doc_scores[among])])
                out.append(j)
            return np.array(out, dtype=np.int64)
        mask = np.isin(codes, turns) & live
        cand = np.nonzero(mask)[0]
        order = np.lexsort((-doc_scores[cand], self.turn.codes[cand]))
        cand = cand[order]
        first = np.unique(self.turn.codes[cand], return_index=True)[1]
        best = dict(zip(self.turn.codes[cand[first]].tolist(), cand[first].tolist(), strict=True))
        return np.array([best[t] for t in turns.tolist()], dtype=np.int64)
