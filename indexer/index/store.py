"""The index on disk: create, open (version-checked), add/replace/remove documents, rebuild.

The index directory holds pickled code (Whoosh pickles the schema): only open directories this
program created. Never open an index that came from an upload or another machine.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import wait
from contextlib import nullcontext
from pathlib import Path
from queue import Empty

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.query import Term

from indexer.errors import IndexError_
from indexer.index.bulk import BulkWriter
from indexer.index.engine import Engine
from indexer.index.internals import commit_segments, finalize_segment, latest_generation
from indexer.index.schema import VERSION, make_schema, split_passages
from indexer.index.workers import BuildPool, tick
from indexer.models import Document, Segment
from indexer.text.analysis import name_readings

VERSION_FILE = "kb-version.json"
WRITE_TIMEOUT = 30.0
#: Most text one build process indexes into one segment: fewer, larger segments repeat fewer terms (a
#: term costs about 100 bytes and 10 µs however few its postings) and are searched faster; the process
#: holds about 60 bytes of memory per character (2.3 GB at 40 M, measured at ×10).
PART_CHARS = 41_000_000
#: Text from which a build with `procs=0` uses two processes (starting them costs about a second).
AUTO_PARALLEL_CHARS = 2_000_000
#: Postings per block (Whoosh's default is 128): a frequent term's list is read in fewer pieces, and the
#: minutes' index is 5 % smaller (fewer block headers, larger zlib inputs).
BLOCK_LIMIT = 1024


def codec() -> W3Codec:
    """Whoosh's W3 codec with blocks of BLOCK_LIMIT postings: Whoosh reads and merges them as its own."""
    return W3Codec(blocklimit=BLOCK_LIMIT)


def storage(path: str | Path) -> FileStorage:
    """The index directory's files, read with plain reads: memory-mapped, the pages a server touches in a
    large index would all count in its resident memory (measured: 440 MB → 180 MB on 8 M characters)."""
    return FileStorage(str(path), supports_mmap=False)


def head_id(doc_id: str) -> str:
    """Id of the record that carries a document's metadata."""
    return f"{doc_id}#0000.0"


def _records(doc: Document) -> Iterable[dict]:
    meta = doc.metadata()
    meta["segments"] = len(doc.segments)
    for seg in doc.segments:
        seg_id = doc.segment_id(seg.order)
        speaker_text = " ".join(x for x in (seg.speaker, seg.speaker_role) if x)
        speaker_reading = name_readings(seg.speaker, seg.speaker_reading)
        pieces = split_passages(seg.text)
        for k, piece in enumerate(pieces):
            rec = {
                "seg_id": seg_id,
                "doc_id": doc.id,
                "order": seg.order,
                "turn_order": seg.order,
                "passage": k or None,  # a turn's first passage: none stored (read as 0)
                "session": str(doc.session) if doc.session is not None else "",
                "date": doc.date,
                "doc_type": doc.type,
                "visibility": seg.visibility,
                "speaker": seg.speaker,
                "speaker_role": seg.speaker_role,
                "part": seg.part,
                "qa": seg.qa,
                "answers_to": seg.answers_to,
                "question_id": doc.segment_id(seg.answers_to) if seg.answers_to is not None else "",
                "start": seg.start,
                "end": seg.end,
                "speaker_text": speaker_text,
                "text": piece,
                "bigram": piece,
                "reading": piece,
                "speaker_reading": speaker_reading,
            }
            if seg.order == 0 and k == 0:  # the document's head: its id, title and metadata, once
                rec["id"] = head_id(doc.id)
                rec["title"] = doc.title
                rec["title_bigram"] = doc.title
                rec["doc_meta"] = json.dumps(meta, ensure_ascii=False)
            yield {k2: v for k2, v in rec.items() if v is not None and v != ""}


class Index:
    """A Whoosh index of passages at `path`."""

    def __init__(self, path: str | Path, create: bool = False):
        self.path = Path(path)
        #: Applied to the documents `put` is given before they are indexed (the archive sets it: withdrawn
        #: remarks are replaced there, so no index record ever holds their text).
        self.prepare: Callable[[list[Document]], list[Document]] | None = None
        if create:
            self.path.mkdir(parents=True, exist_ok=True)
            self.ix = storage(self.path).create_index(make_schema())
            (self.path / VERSION_FILE).write_text(json.dumps(VERSION))
            self._init_readers()
            return
        if not whoosh_index.exists_in(str(self.path)):
            raise IndexError_(f"索引が見つかりません: {self.path}（先に `kb index corpus` で作成してください）")
        found = self.version_on_disk()
        if found != VERSION:
            raise IndexError_(
                f"索引の版（{found}）がこのプログラム（{VERSION}）と異なります。"
                "`kb rebuild`（保存済みの原本から）か `kb index corpus` で作り直してください。"
            )
        self.ix = storage(self.path).open_index()
        self._init_readers()

    def _init_readers(self) -> None:
        self.engine = Engine()
        self._local = threading.local()

    def reading(self):
        """This thread's searcher (refreshed when a commit happened) and the ranking snapshot."""
        s = getattr(self._local, "searcher", None)
        generation = latest_generation(self.ix)
        if s is None or getattr(self._local, "generation", None) != generation:
            # A new searcher, not `refresh()`: refresh reuses segment readers and missed deletions.
            # The previous one is closed only at the next change: a caller may still be using it.
            stale = getattr(self._local, "previous", None)
            if stale is not None:
                stale.close()
            self._local.previous = s
            s = self.ix.searcher()
            self._local.generation = s.reader().generation()
        self._local.searcher = s
        return s, self.engine.snapshot(s)

    @property
    def data_dir(self) -> Path:
        """The managed data directory: the index's parent (sources, audit log, users, synonyms live there)."""
        return self.path.parent

    def version_on_disk(self) -> dict | None:
        try:
            return json.loads((self.path / VERSION_FILE).read_text())
        except (OSError, ValueError):
            return None

    def writer(self) -> BulkWriter:
        """A writer holding the index's write lock (the Japanese "busy" error after WRITE_TIMEOUT)."""
        try:
            return BulkWriter(self.ix, timeout=WRITE_TIMEOUT, codec=codec())
        except LockError:
            raise IndexError_("他の更新作業が進行中のため、索引を更新できませんでした。しばらくしてからやり直してください。") from None

    def searcher(self):
        return self.ix.searcher()

    def content_hash(self, doc_id: str) -> str | None:
        meta = self.document_meta(doc_id)
        return meta.get("content_hash") if meta else None

    def document_meta(self, doc_id: str) -> dict | None:
        with self.ix.searcher() as s:
            stored = s.document(id=head_id(doc_id))
        return json.loads(stored["doc_meta"]) if stored and "doc_meta" in stored else None

    def doc_ids(self) -> list[str]:
        with self.ix.searcher() as s:
            return [t.decode("utf-8") for t in s.reader().lexicon("doc_id")]

    def put(self, docs: Iterable[Document], procs: int = 1,
            progress: Callable[[int, int], None] | None = None, pool: BuildPool | None = None) -> list[str]:
        """Add or replace documents in one commit (searchers see all of them or none).

        With `procs` > 1 and an empty index, the documents are indexed by that many processes, one
        segment per process (or per PART_CHARS of text); `procs` 0 chooses (`auto_procs`). `progress(done, total)` is called as documents are added (the commit follows).
        `pool`: build processes the caller started ahead (`BuildPool`; used for a parallel build, the
        caller closes it)."""
        docs = list({doc.id: doc for doc in docs}.values())  # an id given twice: the later document
        if self.prepare is not None:
            docs = self.prepare(docs)
        if procs <= 0:
            procs = auto_procs(docs)
        w = self.writer()
        try:
            if procs > 1 and len(docs) > 1 and not w.segments:
                segments = _parallel_segments(self.path, docs, procs, progress, pool)
                commit_segments(w, segments)  # the parent's own segment stays empty
                return [doc.id for doc in docs]
            for n, doc in enumerate(docs, 1):
                w.delete_by_term("doc_id", doc.id)
                for rec in _records(doc):
                    w.add_document(**rec)
                if progress is not None:
                    progress(n, len(docs))
        except BaseException:
            w.cancel()
            raise
        w.commit()
        return [doc.id for doc in docs]

    def remove(self, doc_id: str) -> int:
        """Remove a document by id; returns the number of passages deleted."""
        w = self.writer()
        try:
            n = w.delete_by_query(Term("doc_id", doc_id))
        except BaseException:
            w.cancel()
            raise
        if n:
            w.commit()
        else:
            w.cancel()
        return n


def has_segments(path: str | Path) -> bool:
    """Whether the index at `path` exists and holds a segment (a build into it is not a parallel one)."""
    if not whoosh_index.exists_in(str(path)):
        return False
    try:
        return storage(path).open_index().doc_count_all() > 0
    except Exception:  # noqa: BLE001 - unreadable: the build itself will say so
        return True


def auto_procs(docs: list[Document]) -> int:
    """Processes worth starting for a build: two (if the machine has them) from AUTO_PARALLEL_CHARS of text."""
    chars = sum(len(s.text) for d in docs for s in d.segments)
    return min(2, os.cpu_count() or 1) if chars >= AUTO_PARALLEL_CHARS else 1


def _split(docs: list[Document], parts: int) -> list[list[Document]]:
    """`docs` in order, cut into `parts` runs of about equal text length."""
    sizes = [sum(len(s.text) for s in d.segments) + 1 for d in docs]
    total, out, run, acc = sum(sizes), [], [], 0
    for doc, size in zip(docs, sizes, strict=True):
        run.append(doc)
        acc += size
        if acc >= total * (len(out) + 1) / parts and len(out) < parts - 1:
            out.append(run)
            run = []
    out.append(run)
    return [r for r in out if r]


def _segment_of(index_dir: str, docs: list[Document]):
    """Worker process: index `docs` into a new segment of the index (the parent holds the lock)."""
    ix = storage(index_dir).open_index()
    w = BulkWriter(ix, _lk=False, codec=codec())
    for doc in docs:
        for rec in _records(doc):
            w.add_document(**rec)
        tick()
    return finalize_segment(w)  # committed by the parent (`commit_segments`)


def _parallel_segments(path: Path, docs: list[Document], procs: int,
                       progress: Callable[[int, int], None] | None, pool: BuildPool | None = None) -> list:
    """One segment per run of documents, built by `procs` processes (`pool`'s when given: the segments
    are the same whichever processes build them)."""
    chars = sum(len(s.text) for d in docs for s in d.segments)
    parts = _split(docs, procs * -(-chars // (PART_CHARS * procs)))  # a multiple of procs: no idle round
    with (BuildPool(min(procs, len(parts))) if pool is None else nullcontext(pool)) as used:
        futures = [used.executor.submit(_segment_of, str(path), part) for part in parts]
        done, pending = 0, set(futures)
        while pending:
            # back as soon as the last segment is written (a wait on the progress queue alone lasted up to
            # its timeout after the last document: the processes write their segments without ticking)
            _, pending = wait(pending, timeout=0.2)
            while True:
                try:
                    used.queue.get_nowait()
                except Empty:
                    break
                done += 1
                if progress is not None:
                    progress(done, len(docs))
        segments = [f.result() for f in futures]
    if progress is not None and done < len(docs):
        progress(len(docs), len(docs))
    return segments


def segments_from_records(records: list[dict]) -> list[Segment]:
    """Join stored passages (any order) back into whole segments."""
    by_seg: dict[int, list[dict]] = {}
    for r in records:
        by_seg.setdefault(r["order"], []).append(r)
    segs = []
    for order in sorted(by_seg):
        parts = sorted(by_seg[order], key=lambda r: r.get("passage", 0))
        r = parts[0]
        segs.append(
            Segment(
                order=order,
                text="".join(p.get("text", "") for p in parts),
                speaker=r.get("speaker", ""),
                speaker_role=r.get("speaker_role", ""),
                part=r.get("part", "other"),
                start=r.get("start"),
                end=r.get("end"),
                visibility=r.get("visibility", "public"),
                qa=r.get("qa", ""),
                answers_to=r.get("answers_to"),
                key=r.get("seg_id", "") if not r.get("seg_id", "").endswith(f"#{order:04d}") else "",
            )
        )
    return segs
