"""The archive: every write goes through here so the index can always be rebuilt from its sources.

Layout of the managed data directory (the index's parent)::

    <data_dir>/index/                  the Whoosh index (rebuildable)
    <data_dir>/sources/<doc>/<name>    each added file, byte for byte, with `meta.json` (overrides, catalogue
                                       metadata, hash); a JSONL import is one source holding several documents
    <data_dir>/sessions.yaml           the catalogue of the last `kb index`
    <data_dir>/audit.log               who changed what (see `audit.py`)
    <data_dir>/write.lock              one writer at a time (bounded wait, `KB_WRITE_TIMEOUT` seconds)

Every file is written to a temporary name, fsynced and renamed into place; a source directory and the
index directory are swapped in whole (`renameat2(RENAME_EXCHANGE)` where available), so a crash leaves
either the old or the new state. Sources are written before the index: after a crash the sources may be
ahead of the index, `kb check` says so and rerunning the command (or `kb rebuild`) converges.

The file-system helpers and the write lock live in `files.py`, the kept sources in `kept.py`, `kb check` in
`check.py`, `kb export` / `kb import-archive` in `backup.py`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.archive import audit
from indexer.archive.files import fsync_dir, safe_name, sha256, swap_in, write_atomic, write_lock, write_new
from indexer.archive.kept import (
    META,
    SOURCES,
    SourceChanges,
    all_documents,
    dump_meta,
    now_utc,
    release_claims,
    source_dir_for,
    source_key,
    stage_source,
    stored_sources,
)
from indexer.errors import IndexError_, IngestError
from indexer.index.store import Index
from indexer.ingest.catalogue import CATALOGUE_NAME, Catalogue
from indexer.ingest.loading import AddResult, corpus_files, find_catalogue, load_document
from indexer.ingest.sources import read_bytes
from indexer.models import Document

SYNONYMS = "synonyms.yaml"
Progress = Callable[[float, str], None]
STALE_BUILD_SECONDS = 3600
OLD_INDEX_GRACE_SECONDS = 60
REBUILD_HINT = "保存された原本から索引を作り直すには `kb rebuild` を実行してください。"


def _open_for_write(index_dir: Path) -> Index:
    """The index to add to; a new one only when there is neither an index nor any stored source."""
    from whoosh import index as whoosh_index

    if whoosh_index.exists_in(str(index_dir)):
        return open_index(index_dir)
    if stored_sources(index_dir.parent)[0]:
        raise IndexError_(f"索引が見つかりません: {index_dir}。{REBUILD_HINT}")
    return Index(index_dir, create=True)


def hint(err: BaseException) -> str:
    """Extra advice for an error message: a version mismatch or a broken index can be fixed by `kb rebuild`."""
    msg = str(err)
    return f" {REBUILD_HINT}" if isinstance(err, IndexError_) and "作り直して" in msg and "kb rebuild" not in msg else ""


def open_index(index_dir: Path) -> Index:
    """`Index(index_dir)` whose version-mismatch message points at `kb rebuild`."""
    try:
        return Index(index_dir)
    except IndexError_ as e:
        raise IndexError_(f"{e}{hint(e)}") from None
    except Exception as e:  # noqa: BLE001 - Whoosh raises many kinds of errors on a damaged index
        raise IndexError_(f"索引が壊れていて開けません（{type(e).__name__}）: {index_dir}。{REBUILD_HINT}") from None


def recover(index_dir: Path) -> None:
    """After a crash: put back an index moved aside by a swap, remove half-built temporary directories.

    Call only while holding the write lock."""
    index_dir = Path(index_dir)
    data_dir = index_dir.parent
    if not index_dir.exists():
        olds = sorted([p for p in data_dir.glob(f".{index_dir.name}.old-*") if p.is_dir()]
                      + ([index_dir.with_name(index_dir.name + ".old")]
                         if index_dir.with_name(index_dir.name + ".old").is_dir() else []),
                      key=lambda p: p.stat().st_mtime)
        if olds:
            os.rename(olds[-1], index_dir)
    for p in data_dir.glob(f".{index_dir.name}.old-*"):
        try:
            swapped_at = int(p.name.split(".old-")[1].split("-")[0])
        except (IndexError, ValueError):
            swapped_at = 0
        if time.time() - swapped_at > OLD_INDEX_GRACE_SECONDS:
            shutil.rmtree(p, ignore_errors=True)
    for pattern in (".kb-import-*", f".{SOURCES}.*", ".kb-build-*"):
        for p in data_dir.glob(pattern):
            # `.kb-build-*` may belong to a build outside this lock (store.build_index): only stale ones
            if pattern != ".kb-build-*" or time.time() - p.stat().st_mtime > STALE_BUILD_SECONDS:
                shutil.rmtree(p, ignore_errors=True)
    sources = data_dir / SOURCES
    if sources.is_dir():
        for p in sources.iterdir():
            if p.name.startswith("."):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)


def _catalogue_bytes(cat: Catalogue) -> bytes | None:
    if cat.root is None:
        return None
    path = Path(cat.root) / CATALOGUE_NAME
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def classify(index: Index, results: list[AddResult]) -> list[Document]:
    """Mark each parsed result added, replaced or unchanged (same fingerprint); return what to write."""
    to_write = []
    for r in results:
        old = index.document_meta(r.doc_id)
        if old and old.get("fingerprint") == r.document.fingerprint:
            r.status = "unchanged"
        else:
            r.status = "replaced" if old else "added"
            to_write.append(r.document)
    return to_write


# -- write actions ----------------------------------------------------------------------------------------
@dataclass
class _Parsed:
    path: Path
    data: bytes
    doc: Document
    file_meta: dict = field(default_factory=dict)
    default_id: str = ""


def _file_meta(p: _Parsed, overrides: dict, mode: str) -> dict:
    return {
        "kind": "file", "doc_ids": [p.doc.id], "name": p.path.name, "file": safe_name(p.path.name),
        "sha256": sha256(p.data), "size": len(p.data), "added": now_utc(),
        "overrides": {k: v for k, v in (overrides or {}).items() if v is not None and v != ""},
        "catalogue": mode, "catalogue_meta": p.file_meta, "default_id": p.default_id,
        "fingerprint": p.doc.fingerprint, "title": p.doc.title, "session": p.doc.session,
        "type": p.doc.type, "visibility": p.doc.visibility,
    }


def add_files(index_dir: Path, paths: list[Path], overrides: dict | None = None, dry_run: bool = False,
              actor: str | None = None, catalogue: Catalogue | None = None) -> list[AddResult]:
    """`kb add`: read every file first (one bad file → nothing written), keep each file as a source, then
    add or replace the documents in one index commit. Unchanged documents are left alone."""
    index_dir = Path(index_dir)
    paths = [Path(p) for p in paths]
    catalogue = catalogue or find_catalogue(paths)
    results: list[AddResult] = []
    parsed: list[_Parsed] = []
    seen: dict[str, str] = {}
    for p in paths:
        try:
            data = read_bytes(p)
            doc = load_document(p, catalogue, overrides, data=data)
            if doc.id in seen:
                raise IngestError(f"文書 ID「{doc.id}」が {seen[doc.id]} と重複しています。")
        except IngestError as e:
            results.append(AddResult(str(p), status="error", message=str(e)))
            continue
        seen[doc.id] = p.name
        results.append(AddResult(str(p), doc.id, "parsed", document=doc))
        parsed.append(_Parsed(p, data, doc, catalogue.file_meta(p), catalogue.default_id(p)))
    if dry_run or any(r.status == "error" for r in results):
        return results
    data_dir = index_dir.parent
    cat_bytes = _catalogue_bytes(catalogue)
    with write_lock(data_dir):
        recover(index_dir)
        ix = _open_for_write(index_dir)
        shared_path = data_dir / CATALOGUE_NAME
        shared = shared_path.read_bytes() if shared_path.is_file() else None
        mode = "none" if cat_bytes is None else ("shared" if cat_bytes == shared else "own")
        to_write = classify(ix, results)
        existing, _ = stored_sources(data_dir)
        tx = SourceChanges(data_dir)
        try:
            for p in parsed:
                meta = _file_meta(p, overrides or {}, mode)
                target = source_dir_for(tx.sources, source_key(p.doc.id), existing,
                                        lambda m, i=p.doc.id: m.get("kind") == "file" and m.get("doc_ids") == [i])
                cur = next((s for s in existing if s.dir == target), None)
                if cur and cur.meta.get("sha256") == meta["sha256"] and {**cur.meta, "added": ""} == \
                        {**meta, "added": ""}:
                    continue  # already stored exactly so
                release_claims(tx, existing, {p.doc.id}, keep=target)
                tx.put_dir(stage_source(tx, p.data, meta, cat_bytes if mode == "own" else None), target)
            if to_write:
                ix.put(to_write)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        who = actor or audit.cli_actor()
        for r, p in zip([r for r in results if r.status != "error"], parsed, strict=True):
            if r.status in ("added", "replaced"):
                audit.record(data_dir, who, "add" if r.status == "added" else "replace", r.doc_id,
                             sha256(p.data), p.path.name)
    return results


def import_jsonl(index_dir: Path, path: Path, visibility: str = "public", actor: str | None = None) -> list[Document]:
    """`kb import FILE.jsonl`: keep the JSONL as one source and add its documents in one commit."""
    from indexer.ingest.jsonl import documents_from_jsonl

    index_dir, path = Path(index_dir), Path(path)
    data = read_bytes(path)
    docs = documents_from_jsonl(path, visibility)
    if sha256(path.read_bytes()) != sha256(data):
        raise IngestError(f"読み込み中にファイルが変わりました: {path.name}")
    if not docs:
        raise IngestError(f"取り込む発言がありません: {path.name}")
    data_dir = index_dir.parent
    ids = [d.id for d in docs]
    meta = {"kind": "jsonl", "doc_ids": ids, "name": path.name, "file": safe_name(path.name),
            "sha256": sha256(data), "size": len(data), "added": now_utc(), "visibility": visibility}
    with write_lock(data_dir):
        recover(index_dir)
        ix = _open_for_write(index_dir)
        existing, _ = stored_sources(data_dir)
        tx = SourceChanges(data_dir)
        try:
            key = f"_jsonl-{safe_name(path.stem, 'import')[:80]}-{meta['sha256'][:10]}"
            target = source_dir_for(tx.sources, key, existing, lambda m: m.get("sha256") == meta["sha256"])
            release_claims(tx, existing, set(ids), keep=target)
            tx.put_dir(stage_source(tx, data, meta), target)
            ix.put(docs, procs=1)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        who = actor or audit.cli_actor()
        for d in docs:
            audit.record(data_dir, who, "import", d.id, meta["sha256"], path.name)
    return docs


def remove(index_dir: Path, doc_id: str, actor: str | None = None) -> int:
    """`kb remove`: drop the stored source and the document; returns passages removed from the index
    (0 and no change when neither the index nor the sources know the id)."""
    index_dir = Path(index_dir)
    data_dir = index_dir.parent
    with write_lock(data_dir):
        recover(index_dir)
        ix = open_index(index_dir)
        existing, _ = stored_sources(data_dir)
        owners = [s for s in existing if doc_id in s.doc_ids]
        tx = SourceChanges(data_dir)
        try:
            release_claims(tx, existing, {doc_id})
            n = ix.remove(doc_id)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        if n or owners:
            audit.record(data_dir, actor or audit.cli_actor(), "remove", doc_id,
                         owners[0].meta.get("sha256", "") if owners else "", f"passages={n}")
    return n or (1 if owners else 0)


def build_staged_index(data_dir: Path, docs: list[Document], procs: int = 1,
                       progress: Progress | None = None) -> Path:
    """Build an index of `docs` in a new temporary directory under the data directory; return it."""
    tmp = Path(tempfile.mkdtemp(prefix=".kb-build-", dir=data_dir))
    step = None if progress is None else (lambda i, n: progress(0.1 + 0.85 * i / max(n, 1), f"索引に追加 {i}/{n} 件"))
    try:
        Index(tmp, create=True).put(docs, procs=procs, progress=step)
        if progress is not None:
            progress(0.97, "索引を保存しています")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def swap_index(tmp: Path, index_dir: Path) -> None:
    """Swap a built index in. The old one is kept aside for a grace period (deleted by a later write):
    a reader that was listing the old directory at the moment of the swap must not find it emptied."""
    old = swap_in(tmp, index_dir)
    if old is not None:
        os.rename(old, index_dir.with_name(f".{index_dir.name}.old-{int(time.time())}-{os.getpid()}"
                                           f"-{time.monotonic_ns()}"))


def index_corpus(root: Path, index_dir: Path, procs: int = 1, actor: str | None = None,
                 progress: Progress | None = None) -> Index:
    """`kb index DIR`: read every file, keep them (and the catalogue) as the sources, build and swap."""
    from indexer.ingest.loading import SUPPORTED_SUFFIXES

    root, index_dir = Path(root), Path(index_dir)
    cat_root = root if root.is_dir() else root.parent
    catalogue = Catalogue.load(cat_root)
    cat_bytes = _catalogue_bytes(catalogue)
    parsed: list[_Parsed] = []
    ids: dict[str, str] = {}
    files = corpus_files(root)
    for i, path in enumerate(files):
        if progress is not None:
            progress(0.1 * i / max(len(files), 1), f"ファイルを読んでいます {i + 1}/{len(files)}")
        try:
            data = read_bytes(path)
            doc = load_document(path, catalogue, data=data)
        except IngestError as e:
            raise IngestError(f"{path}: {e}") from None
        if doc.id in ids:
            raise IngestError(f"文書 ID「{doc.id}」が重複しています: {ids[doc.id]} と {doc.source}")
        ids[doc.id] = doc.source
        parsed.append(_Parsed(path, data, doc, catalogue.file_meta(path), catalogue.default_id(path)))
    if not parsed:
        raise IngestError(f"索引に入れられるファイルがありません: {root}（対応形式: {' '.join(sorted(SUPPORTED_SUFFIXES))}）")
    data_dir = index_dir.parent
    with write_lock(data_dir):
        recover(index_dir)
        staged = Path(tempfile.mkdtemp(prefix=f".{SOURCES}.new-", dir=data_dir))
        try:
            mode = "shared" if cat_bytes is not None else "none"
            for p in parsed:
                d = staged / source_key(p.doc.id)
                d.mkdir()
                meta = _file_meta(p, {}, mode)
                write_new(d / meta["file"], p.data)
                write_new(d / META, dump_meta(meta))
                fsync_dir(d)
            fsync_dir(staged)
            tmp = build_staged_index(data_dir, [p.doc for p in parsed], procs, progress)
            try:
                if cat_bytes is not None:
                    write_atomic(data_dir / CATALOGUE_NAME, cat_bytes)
                seed = cat_root / SYNONYMS
                if seed.is_file() and not (data_dir / SYNONYMS).exists():  # the corpus's dictionary seeds it
                    write_atomic(data_dir / SYNONYMS, seed.read_bytes())
                old = swap_in(staged, data_dir / SOURCES)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
                swap_index(tmp, index_dir)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        who = actor or audit.cli_actor()
        for p in parsed:
            audit.record(data_dir, who, "index", p.doc.id, sha256(p.data), str(p.path))
    if progress is not None:
        progress(1.0, f"完了（文書 {len(parsed)} 件）")
    return Index(index_dir)


def rebuild(index_dir: Path, procs: int = 1, actor: str | None = None, progress: Progress | None = None) -> Index:
    """`kb rebuild`: a fresh index from the stored sources, swapped in whole. Works when the index is
    missing, corrupt or of another version (the old index is never opened). `progress(fraction, label)`
    reports the steps (for the 管理 page's progress bar)."""
    index_dir = Path(index_dir)
    data_dir = index_dir.parent
    with write_lock(data_dir):
        recover(index_dir)
        if not (data_dir / SOURCES).is_dir():
            raise IndexError_(f"保存された原本がありません: {data_dir / SOURCES}（`kb index DIR` で作成してください）")
        if progress is not None:
            progress(0.0, "保存された原本を読んでいます")
        docs = all_documents(data_dir)
        tmp = build_staged_index(data_dir, docs, procs, progress)
        try:
            swap_index(tmp, index_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if progress is not None:
            progress(1.0, f"完了（文書 {len(docs)} 件）")
        audit.record(data_dir, actor or audit.cli_actor(), "rebuild", detail=f"documents={len(docs)}")
    return Index(index_dir)
