"""Kept sources: each added file under `<data_dir>/sources/<doc>/`, byte for byte, with its `meta.json`.

A source gives exactly the documents that were indexed when it was added: its recorded catalogue metadata
and default id are pinned, so a rebuild does not depend on the catalogue of today. Changes to the source
directories go through `SourceChanges`, which can undo them until `commit`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from indexer.archive.files import fsync_dir, safe_name, sha256, swap_in, write_new
from indexer.errors import IngestError
from indexer.ingest.catalogue import CATALOGUE_NAME, Catalogue
from indexer.ingest.loading import load_document
from indexer.models import Document

SOURCES = "sources"
META = "meta.json"


def source_key(doc_id: str) -> str:
    """Directory name of a document's source: the id itself when safe, else a sanitized id and a hash."""
    s = safe_name(doc_id, "doc")
    return s if s == doc_id and not s.startswith("_") else f"{s}-{sha256(doc_id.encode())[:10]}"


def dump_meta(obj) -> bytes:
    """`meta.json` bytes: stable key order, UTF-8, readable."""
    return (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")


def now_utc() -> str:
    """The current time in UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@dataclass
class StoredSource:
    """One directory under `sources/`: its metadata and where it is."""

    dir: Path
    meta: dict

    @property
    def doc_ids(self) -> list[str]:
        return list(self.meta.get("doc_ids") or [])

    def data_path(self) -> Path:
        name = str(self.meta.get("file") or "")
        if not name or name != safe_name(name) or name in (META, CATALOGUE_NAME):
            raise IngestError(f"原本の情報が正しくありません（ファイル名）: {self.dir.name}")
        return self.dir / name

    def read(self) -> bytes:
        path = self.data_path()
        try:
            data = path.read_bytes()
        except OSError:
            raise IngestError(f"原本のファイルがありません: {self.dir.name}/{path.name}") from None
        if sha256(data) != self.meta.get("sha256"):
            raise IngestError(f"原本のファイルが壊れています（ハッシュ不一致）: {self.dir.name}/{path.name}")
        return data


def stored_sources(root: Path) -> tuple[list[StoredSource], list[str]]:
    """Every source under `<root>/sources` (sorted) and the problems of unreadable ones (Japanese)."""
    out: list[StoredSource] = []
    problems: list[str] = []
    sdir = Path(root) / SOURCES
    if not sdir.is_dir():
        return out, problems
    for d in sorted(sdir.iterdir()):
        if d.name.startswith(".") or not d.is_dir():
            continue
        try:
            meta = json.loads((d / META).read_text(encoding="utf-8"))
            if not isinstance(meta, dict) or meta.get("kind") not in ("file", "jsonl") or not meta.get("doc_ids"):
                raise ValueError
        except (OSError, ValueError):
            problems.append(f"原本の情報（{META}）を読めません: {SOURCES}/{d.name}")
            continue
        out.append(StoredSource(d, meta))
    return out, problems


class _PinnedCatalogue(Catalogue):
    """A catalogue whose per-file metadata and default id are the ones recorded when the file was added."""

    def __init__(self, base: Catalogue, file_meta: dict, default_id: str):
        self.__dict__.update(base.__dict__)
        self._pinned_meta = dict(file_meta or {})
        self._pinned_id = default_id

    def file_meta(self, path) -> dict:
        return dict(self._pinned_meta)

    def default_id(self, path) -> str:
        return self._pinned_id or Path(path).stem


def _load_catalogue_bytes(data: bytes | None, root: Path) -> Catalogue:
    if not data:
        return Catalogue(root=root)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / CATALOGUE_NAME).write_bytes(data)
        cat = Catalogue.load(Path(tmp))
    cat.root = root
    return cat


def source_documents(src: StoredSource, root: Path, shared: dict | None = None) -> list[Document]:
    """The documents a stored source gives (exactly what was indexed when it was added)."""
    data = src.read()
    meta = src.meta
    name = str(meta.get("name") or src.data_path().name)
    if meta["kind"] == "jsonl":
        from indexer.ingest.jsonl import documents_from_jsonl
        from indexer.ingest.loading import fingerprint

        docs = documents_from_jsonl(src.data_path(), str(meta.get("visibility") or "public"))
        wanted = set(src.doc_ids)
        out = []
        for d in docs:
            if d.id in wanted:
                d.source = Path(name).name
                d.fingerprint = fingerprint(d)
                out.append(d)
        return out
    mode = meta.get("catalogue", "none")
    shared = shared if shared is not None else {}
    if mode == "shared":
        if "cat" not in shared:
            path = Path(root) / CATALOGUE_NAME
            shared["cat"] = _load_catalogue_bytes(path.read_bytes() if path.exists() else None, Path(root))
        base = shared["cat"]
    elif mode == "own":
        try:
            base = _load_catalogue_bytes((src.dir / CATALOGUE_NAME).read_bytes(), src.dir)
        except OSError:
            raise IngestError(f"原本のカタログがありません: {src.dir.name}/{CATALOGUE_NAME}") from None
    else:
        base = Catalogue()
    cat = _PinnedCatalogue(base, meta.get("catalogue_meta") or {}, str(meta.get("default_id") or ""))
    doc = load_document(Path(name), cat, meta.get("overrides") or {}, data=data)
    return [doc]


def all_documents(root: Path) -> list[Document]:
    """Every document of every stored source under `root`; a broken source stops with its name."""
    sources, problems = stored_sources(root)
    if problems:
        raise IngestError(problems[0])
    docs: dict[str, Document] = {}
    shared: dict = {}
    for src in sources:
        try:
            got = source_documents(src, root, shared)
        except IngestError as e:
            raise IngestError(f"{SOURCES}/{src.dir.name}: {e}") from None
        for d in got:
            docs[d.id] = d
    return [docs[k] for k in sorted(docs)]


class SourceChanges:
    """Source-directory changes that can be undone until `commit` (then the old copies are deleted)."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.sources = self.data_dir / SOURCES
        self.sources.mkdir(parents=True, exist_ok=True)
        self._undo: list[Callable[[], None]] = []
        self._trash: list[Path] = []

    def stage(self) -> Path:
        return Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.sources))

    def put_dir(self, staged: Path, target: Path) -> None:
        old = swap_in(staged, target)
        if old is None:
            self._undo.append(lambda: shutil.rmtree(target, ignore_errors=True))
        else:
            self._trash.append(old)
            self._undo.append(lambda: swap_in(old, target))

    def remove_dir(self, target: Path) -> None:
        trash = target.with_name(f".rm-{target.name[:60]}-{time.monotonic_ns()}")
        os.rename(target, trash)
        self._trash.append(trash)
        self._undo.append(lambda: os.rename(trash, target))

    def write_meta(self, src: StoredSource, meta: dict) -> None:
        staged = self.stage()
        for p in src.dir.iterdir():
            if p.name != META and p.is_file():
                os.link(p, staged / p.name)
        write_new(staged / META, dump_meta(meta))
        fsync_dir(staged)
        self.put_dir(staged, src.dir)

    def rollback(self) -> None:
        for undo in reversed(self._undo):
            try:
                undo()
            except OSError:
                pass
        self._undo.clear()
        self._cleanup()

    def commit(self) -> None:
        self._undo.clear()
        self._cleanup()
        fsync_dir(self.sources)

    def _cleanup(self) -> None:
        for p in self._trash:
            shutil.rmtree(p, ignore_errors=True)
        self._trash.clear()
        for p in self.sources.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)


def release_claims(tx: SourceChanges, existing: list[StoredSource], doc_ids: set[str],
                   keep: Path | None = None) -> None:
    """Drop the claims of other sources on `doc_ids` (a re-added document has one source only)."""
    for src in existing:
        if src.dir == keep or not doc_ids & set(src.doc_ids):
            continue
        rest = [d for d in src.doc_ids if d not in doc_ids]
        if rest:
            tx.write_meta(src, {**src.meta, "doc_ids": rest})
        else:
            tx.remove_dir(src.dir)


def source_dir_for(sources_dir: Path, key: str, existing: list[StoredSource],
                   owner: Callable[[dict], bool]) -> Path:
    """The source directory for `key`: its own, or the first free `key-N` when another document owns it."""
    taken = {s.dir.name: s for s in existing}
    name = key
    n = 0
    while name in taken and not owner(taken[name].meta):
        n += 1
        name = f"{key}-{n}"
    return sources_dir / name


def stage_source(tx: SourceChanges, data: bytes, meta: dict, catalogue_bytes: bytes | None = None) -> Path:
    """Write a file, its catalogue and `meta.json` into a new staging directory of the change."""
    staged = tx.stage()
    write_new(staged / meta["file"], data)
    if catalogue_bytes is not None:
        write_new(staged / CATALOGUE_NAME, catalogue_bytes)
    write_new(staged / META, dump_meta(meta))
    fsync_dir(staged)
    return staged
