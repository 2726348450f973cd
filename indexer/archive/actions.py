"""The archive's write actions: every write goes through here so the index can always be rebuilt from its sources.

Layout of a data directory (`DataDir`: `--data DIR`, `$KB_DATA`, default `.kb`)::

    <data>/index/                  the Whoosh index (rebuildable)
    <data>/sources/<doc>/<name>    each added file, byte for byte, with `meta.json` (overrides, catalogue
                                   metadata, hash); a JSONL import is one source holding several documents
    <data>/sessions.yaml           the catalogue of the last `kb index`
    <data>/synonyms.yaml           the synonym dictionary
    <data>/audit.log               who changed what (see `audit.py`)
    <data>/write.lock              one writer at a time (bounded wait, `KB_WRITE_TIMEOUT` seconds)

Every file is written to a temporary name, fsynced and renamed into place; a source directory and the
index directory are swapped in whole (`renameat2(RENAME_EXCHANGE)` where available), so a crash leaves
either the old or the new state. Sources are written before the index: after a crash the sources may be
ahead of the index, `kb check` says so and rerunning the command (or `kb rebuild`) converges.

Each action is one `transaction()` (`transaction.py`: lock, recovery, the open index, undoable source
changes, audit after the commit). The file-system helpers and the write lock live in `files.py`, the kept
sources in `kept.py`, `kb check` in `check.py`, `kb export` / `kb import-archive` in `backup.py`.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from indexer.archive import redaction
from indexer.archive.datadir import DataDir
from indexer.archive.files import fsync_dir, safe_name, sha256, swap_in, write_atomic, write_new
from indexer.archive.kept import (
    META,
    SOURCES,
    StoredSource,
    all_documents,
    dump_meta,
    now_utc,
    release_claims,
    source_dir_for,
    source_documents,
    source_key,
    stage_source,
)
from indexer.archive.transaction import Progress, build_staged_index, swap_index, transaction
from indexer.errors import IndexError_, IngestError
from indexer.index.store import AUTO_PARALLEL_CHARS, Index, has_segments
from indexer.index.workers import BuildPool
from indexer.ingest.catalogue import CATALOGUE_NAME, Catalogue
from indexer.ingest.formats import MAX_FILE_BYTES
from indexer.ingest.loading import AddResult, corpus_files, find_catalogue, load_document
from indexer.ingest.sources import read_bytes
from indexer.models import Document

SYNONYMS = "synonyms.yaml"
#: What `edit_metadata` may change, with the Japanese name used in its messages.
EDITABLE = {"title": "タイトル", "session": "回", "date": "日付", "type": "種類", "visibility": "公開範囲"}
MAX_TITLE = 200


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


def add_files(data: DataDir, paths: list[Path], overrides: dict | None = None, dry_run: bool = False,
              actor: str | None = None, catalogue: Catalogue | None = None,
              file_overrides: dict[str, dict] | None = None) -> list[AddResult]:
    """`kb add`: read every file first (one bad file → nothing written), keep each file as a source, then
    add or replace the documents in one index commit. Unchanged documents are left alone (and so is their
    kept source when it holds the same bytes: nothing is written, nothing audited).

    `file_overrides` (file name → metadata) gives a file its own overrides instead of `overrides` (the 管理
    page's uploads: a replacement keeps the metadata of the document it replaces)."""
    paths = [Path(p) for p in paths]
    catalogue = catalogue or find_catalogue(paths)
    results: list[AddResult] = []
    parsed: list[_Parsed] = []
    seen: dict[str, str] = {}
    own = file_overrides or {}
    for p in paths:
        try:
            raw = read_bytes(p)
            doc = load_document(p, catalogue, own.get(p.name, overrides), data=raw)
            if doc.id in seen:
                raise IngestError(f"文書 ID「{doc.id}」が {seen[doc.id]} と重複しています。")
        except IngestError as e:
            results.append(AddResult(str(p), status="error", message=str(e)))
            continue
        seen[doc.id] = p.name
        results.append(AddResult(str(p), doc.id, "parsed", document=doc))
        parsed.append(_Parsed(p, raw, doc, catalogue.file_meta(p), catalogue.default_id(p)))
    if dry_run or any(r.status == "error" for r in results):
        return results
    cat_bytes = _catalogue_bytes(catalogue)
    with transaction(data, actor, mode="create") as tx:
        shared_path = data.root / CATALOGUE_NAME
        shared = shared_path.read_bytes() if shared_path.is_file() else None
        mode = "none" if cat_bytes is None else ("shared" if cat_bytes == shared else "own")
        to_write = classify(tx.index, results)
        existing = tx.stored()
        status = {r.doc_id: r.status for r in results}
        for p in parsed:
            meta = _file_meta(p, own.get(p.path.name, overrides) or {}, mode)
            target = source_dir_for(tx.sources.sources, source_key(p.doc.id), existing,
                                    lambda m, i=p.doc.id: m.get("kind") == "file" and m.get("doc_ids") == [i])
            cur = next((s for s in existing if s.dir == target), None)
            if cur and cur.meta.get("sha256") == meta["sha256"] and (
                    status.get(p.doc.id) == "unchanged" or {**cur.meta, "added": ""} == {**meta, "added": ""}):
                continue  # already stored so: the same bytes giving the same document
            release_claims(tx.sources, existing, {p.doc.id}, keep=target)
            tx.sources.put_dir(stage_source(tx.sources, p.data, meta, cat_bytes if mode == "own" else None), target)
        for r, p in zip([r for r in results if r.status != "error"], parsed, strict=True):
            if r.status in ("added", "replaced"):
                tx.record("add" if r.status == "added" else "replace", r.doc_id, sha256(p.data), p.path.name)
        if to_write:
            tx.index.put(to_write)
    return results


def import_jsonl(data: DataDir, path: Path, visibility: str = "public", actor: str | None = None,
                 procs: int = 1, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    """`kb import FILE.jsonl`: keep the JSONL as one source and add its documents in one commit.

    `procs` as in `Index.put` (parallel into an empty index, 0 = automatic); `max_bytes` bounds the file
    (the benchmark's replicated corpora pass a larger bound)."""
    from indexer.ingest.jsonl import documents_from_jsonl

    path = Path(path)
    raw = read_bytes(path, max_bytes)
    digest = sha256(raw)
    ahead = 0 if has_segments(data.index) else BuildPool.wanted(procs, len(raw), AUTO_PARALLEL_CHARS)
    with BuildPool(ahead, warm=True) if ahead > 1 else nullcontext() as pool:  # build processes start while it is read
        docs = documents_from_jsonl(path, visibility, data=raw)  # the bytes hashed and kept: no second read
        if not docs:
            raise IngestError(f"取り込む発言がありません: {path.name}")
        ids = [d.id for d in docs]
        meta = {"kind": "jsonl", "doc_ids": ids, "name": path.name, "file": safe_name(path.name),
                "sha256": digest, "size": len(raw), "added": now_utc(), "visibility": visibility}
        with transaction(data, actor, mode="create") as tx:
            key = f"_jsonl-{safe_name(path.stem, 'import')[:80]}-{digest[:10]}"
            target = source_dir_for(tx.sources.sources, key, tx.stored(), lambda m: m.get("sha256") == digest)
            release_claims(tx.sources, tx.stored(), set(ids), keep=target)
            tx.sources.put_dir(stage_source(tx.sources, raw, meta), target)
            raw = b""  # kept on disk now: not held in memory through the index build
            for d in docs:
                tx.record("import", d.id, digest, path.name)
            tx.index.put(docs, procs=procs, pool=pool)
    return docs


def remove(data: DataDir, doc_id: str, actor: str | None = None) -> int:
    """`kb remove`: drop the stored source and the document; returns passages removed from the index
    (0 and no change when neither the index nor the sources know the id)."""
    with transaction(data, actor) as tx:
        owners = [s for s in tx.stored() if doc_id in s.doc_ids]
        release_claims(tx.sources, tx.stored(), {doc_id})
        n = tx.index.remove(doc_id)
        if n or owners:
            tx.record("remove", doc_id, owners[0].meta.get("sha256", "") if owners else "", f"passages={n}")
    return n or (1 if owners else 0)


def edit_metadata(data: DataDir, doc_id: str, changes: dict, actor: str | None = None) -> list[str]:
    """Change a document's title, 回, date, type or visibility without uploading it again: its kept source's
    `overrides` are rewritten and the document is read again from the same bytes and re-indexed, in one
    transaction (write lock, undone on failure), audited as `edit`. Empty values leave a field as it is.

    Returns the fields that changed ([] when nothing did: nothing is written). A document without a kept
    file source (a JSONL import, or one added around the archive) cannot be edited here (IngestError)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise IngestError(f"変更できない項目です: {'、'.join(unknown)}")
    wanted = {k: str(v).strip() for k, v in changes.items() if v is not None and str(v).strip() != ""}
    if "title" in wanted and len(wanted["title"]) > MAX_TITLE:
        raise IngestError(f"タイトルは {MAX_TITLE} 文字以内にしてください。")
    if "title" in wanted and any(c in wanted["title"] for c in "\r\n\x00"):
        raise IngestError("タイトルに改行や制御文字は使えません。")
    with transaction(data, actor) as tx:
        owners = [s for s in tx.stored() if doc_id in s.doc_ids]
        if not owners:
            if tx.index.document_meta(doc_id) is None:
                raise IngestError(f"文書が見つかりません: {doc_id}")
            raise IngestError(f"文書「{doc_id}」は原本が保存されていないため、メタデータを変更できません。"
                              "ファイルをもう一度アップロードしてください。")
        src = owners[0]
        if src.meta.get("kind") != "file":
            raise IngestError(f"文書「{doc_id}」は JSONL から取り込んだため、ここではメタデータを変更できません。"
                              "JSONL を直して取り込み直してください。")
        old = source_documents(src, data.root)[0]
        overrides = {**(src.meta.get("overrides") or {}), **wanted}
        new_meta = {**src.meta, "overrides": overrides}
        new = source_documents(StoredSource(src.dir, new_meta), data.root)[0]  # IngestError: a bad 回, date ...
        changed = [k for k in EDITABLE if getattr(old, k) != getattr(new, k)]
        indexed = tx.index.document_meta(doc_id)
        if not changed and indexed is not None and indexed.get("fingerprint") == new.fingerprint:
            return []
        new_meta.update(fingerprint=new.fingerprint, title=new.title, session=new.session, type=new.type,
                        visibility=new.visibility)
        tx.sources.write_meta(src, new_meta)
        tx.index.put([new])
        tx.record("edit", doc_id, str(src.meta.get("sha256") or ""),
                  "; ".join(f"{k}={getattr(new, k)}" for k in changed) or "reindex")
    return changed


def index_corpus(root: Path, data: DataDir, procs: int = 1, actor: str | None = None,
                 progress: Progress | None = None) -> Index:
    """`kb index DIR`: read every file, keep them (and the catalogue) as the sources, build and swap."""
    from indexer.ingest.loading import SUPPORTED_SUFFIXES

    root = Path(root)
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
            raw = read_bytes(path)
            doc = load_document(path, catalogue, data=raw)
        except IngestError as e:
            raise IngestError(f"{path}: {e}") from None
        if doc.id in ids:
            raise IngestError(f"文書 ID「{doc.id}」が重複しています: {ids[doc.id]} と {doc.source}")
        ids[doc.id] = doc.source
        parsed.append(_Parsed(path, raw, doc, catalogue.file_meta(path), catalogue.default_id(path)))
    if not parsed:
        raise IngestError(f"索引に入れられるファイルがありません: {root}（対応形式: {' '.join(sorted(SUPPORTED_SUFFIXES))}）")
    with transaction(data, actor, mode="none") as tx:
        staged = Path(tempfile.mkdtemp(prefix=f".{SOURCES}.new-", dir=data.root))
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
            withdrawn, new_withdrawals = redaction.with_corpus(data.root, cat_root, [p.doc for p in parsed], tx.actor)
            tmp = build_staged_index(data, [p.doc for p in parsed], procs, progress, withdrawn=withdrawn)
            try:
                if cat_bytes is not None:
                    write_atomic(data.root / CATALOGUE_NAME, cat_bytes)
                redaction.save(data.root, withdrawn)  # the corpus's redactions.yaml, kept for `kb rebuild`
                seed = cat_root / SYNONYMS
                if seed.is_file() and not (data.root / SYNONYMS).exists():  # the corpus's dictionary seeds it
                    write_atomic(data.root / SYNONYMS, seed.read_bytes())
                old = swap_in(staged, data.root / SOURCES)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
                swap_index(data, tmp)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        for p in parsed:
            tx.record("index", p.doc.id, sha256(p.data), str(p.path))
        for w in new_withdrawals:
            tx.record("redact", w.doc_id, "", redaction.audit_detail(w))
    if progress is not None:
        progress(1.0, f"完了（文書 {len(parsed)} 件）")
    return Index(data.index)


def rebuild(data: DataDir, procs: int = 1, actor: str | None = None, progress: Progress | None = None) -> Index:
    """`kb rebuild`: a fresh index from the stored sources, swapped in whole. Works when the index is
    missing, corrupt or of another version (the old index is never opened). `progress(fraction, label)`
    reports the steps (for the 管理 page's progress bar)."""
    with transaction(data, actor, mode="none") as tx:
        if not (data.root / SOURCES).is_dir():
            raise IndexError_(f"保存された原本がありません: {data.root / SOURCES}（`kb index DIR` で作成してください）")
        if progress is not None:
            progress(0.0, "保存された原本を読んでいます")
        docs = all_documents(data.root)
        tmp = build_staged_index(data, docs, procs, progress)
        try:
            swap_index(data, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if progress is not None:
            progress(1.0, f"完了（文書 {len(docs)} 件）")
        tx.record("rebuild", detail=f"documents={len(docs)}")
    return Index(data.index)
