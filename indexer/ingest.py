"""Ingestion: files → Documents → index, idempotent (content fingerprints) and previewable (dry run).

>>> [p.name for p in corpus_files(Path("corpus"))][:1]  # doctest: +SKIP
['report.md']
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .catalogue import CATALOGUE_NAME, Catalogue
from .errors import IngestError
from .models import Document
from .segments import build_document
from .sources import CAPTION_SUFFIXES, DOCUMENT_SUFFIXES, TEXT_SUFFIXES, read_source
from .store import Index, build_index

SUPPORTED_SUFFIXES = TEXT_SUFFIXES | CAPTION_SUFFIXES | DOCUMENT_SUFFIXES


@dataclass
class AddResult:
    """What happened to one file: added, replaced, unchanged or error (with a Japanese message)."""

    path: str
    doc_id: str = ""
    status: str = ""
    message: str = ""
    document: Document | None = field(default=None, repr=False)


def fingerprint(doc: Document) -> str:
    """A hash of everything a document contributes to the index (metadata and segments)."""
    d = doc.to_dict()
    d.pop("fingerprint", None)
    return hashlib.sha256(json.dumps(d, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def load_document(path: str | Path, catalogue: Catalogue | None = None, overrides: dict | None = None,
                  data: bytes | None = None) -> Document:
    """Read, decode and segment one file."""
    doc = build_document(read_source(path, data), catalogue, overrides)
    doc.fingerprint = fingerprint(doc)
    return doc


def corpus_files(root: Path) -> list[Path]:
    """Every supported file below `root` (the catalogue itself excluded), in a stable order."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise IngestError(f"ディレクトリが見つかりません: {root}")
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and p.name != CATALOGUE_NAME
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def find_catalogue(paths: Iterable[Path]) -> Catalogue:
    """The catalogue of the nearest directory (of the first file) holding `sessions.yaml`;
    else `$KB_CATALOGUE`, else `corpus/sessions.yaml` under the current directory, else an empty one."""
    for p in paths:
        for d in [p if p.is_dir() else p.parent, *p.resolve().parents]:
            if (d / CATALOGUE_NAME).exists():
                return Catalogue.load(d)
        break
    fallback = Path(os.environ.get("KB_CATALOGUE") or Path("corpus") / CATALOGUE_NAME)
    return Catalogue.load(fallback) if fallback.exists() else Catalogue()


def load_corpus(root: Path, catalogue: Catalogue | None = None) -> Iterator[Document]:
    """Documents of every file of a corpus directory; a bad file stops with its name in the message."""
    catalogue = catalogue or Catalogue.load(root if root.is_dir() else root.parent)
    for path in corpus_files(root):
        try:
            yield load_document(path, catalogue)
        except IngestError as e:
            raise IngestError(f"{path}: {e}") from None


def index_corpus(root: Path, index_path: Path, procs: int = 1) -> Index:
    """Full build: read everything first (so a bad file changes nothing), then swap the new index in."""
    docs = list(load_corpus(root))
    if not docs:
        raise IngestError(f"索引に入れられるファイルがありません: {root}（対応形式: {' '.join(sorted(SUPPORTED_SUFFIXES))}）")
    ids: dict[str, str] = {}
    for d in docs:
        if d.id in ids:
            raise IngestError(f"文書 ID「{d.id}」が重複しています: {ids[d.id]} と {d.source}")
        ids[d.id] = d.source
    return build_index(index_path, docs, procs=procs)


def add_files(index: Index | None, paths: list[Path], overrides: dict | None = None,
              dry_run: bool = False, catalogue: Catalogue | None = None) -> list[AddResult]:
    """Add or replace files as documents in one commit; unchanged files are left alone.

    Every file is read before anything is written: if one fails, none is added.
    """
    catalogue = catalogue or find_catalogue(paths)
    results: list[AddResult] = []
    docs: list[Document] = []
    for p in paths:
        try:
            doc = load_document(p, catalogue, overrides)
        except IngestError as e:
            results.append(AddResult(str(p), status="error", message=str(e)))
            continue
        results.append(AddResult(str(p), doc.id, "parsed", document=doc))
        docs.append(doc)
    if dry_run or any(r.status == "error" for r in results) or index is None:
        return results
    to_write = classify(index, results)
    if to_write:
        index.put(to_write)
    return results


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
