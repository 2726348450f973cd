"""The secretariat's uploads: save, preview, publish through the archive; the synonym dictionary file.

>>> safe_upload_name("../../etc/passwd.md"), safe_upload_name("議事録 第1回.vtt")
('passwd.md', '議事録_第1回.vtt')
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from indexer.archive import actions
from indexer.archive.datadir import DataDir
from indexer.archive.files import sha256, write_atomic
from indexer.archive.kept import stored_sources
from indexer.archive.transaction import transaction
from indexer.archive.uploads import safe_filename
from indexer.errors import IngestError, KbError
from indexer.index.store import Index
from indexer.models import Document
from indexer.search import synonyms

UPLOADS = "uploads"
UPLOAD_SUFFIXES = (".txt", ".md", ".vtt", ".srt", ".html", ".htm", ".docx", ".pdf", ".jsonl")
SYNONYMS_FILE = synonyms.SYNONYMS_FILE


def safe_upload_name(name: str) -> str:
    """The stored name of an uploaded file: `indexer.archive.uploads.safe_filename` (one rule for every caller)."""
    return safe_filename(name)


def _uploads_dir(data_dir: Path) -> Path:
    root = (Path(data_dir) / UPLOADS).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def _checked_name(name: str) -> str:
    safe = safe_upload_name(name)
    if not safe.lower().endswith(UPLOAD_SUFFIXES):
        raise IngestError(f"対応していないファイル形式です: {safe}（対応: {' '.join(UPLOAD_SUFFIXES)}）")
    return safe


def save_upload(data: DataDir, name: str, content: bytes) -> Path:
    """Write uploaded bytes under `<data>/uploads` (never elsewhere, atomically) and return the path.

    This copy is the record of what was uploaded; the archive keeps its own copy when it is published."""
    safe = _checked_name(name)
    root = _uploads_dir(data.root)
    path = (root / safe).resolve()
    if path.parent != root:
        raise IngestError(f"ファイル名が正しくありません: {name}")
    write_atomic(path, content)
    return path


@contextmanager
def staged_upload(data: DataDir, name: str, content: bytes) -> Iterator[Path]:
    """A private copy of an upload, `<data>/uploads/.staging-*/<safe name>`, removed afterwards.

    It has the saved upload's file name (so the default document id and the source name are the same),
    but nobody else writes it: another user uploading a file of the same name meanwhile cannot change
    what is previewed or published."""
    safe = _checked_name(name)
    tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=_uploads_dir(data.root)))
    try:
        path = tmp / safe
        path.write_bytes(content)
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def is_jsonl(name: str) -> bool:
    return safe_upload_name(name).lower().endswith(".jsonl")


@dataclass
class Published:
    """What publishing uploads did: (doc id, status) with status added / replaced / unchanged / imported."""

    done: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def publish_uploads(data: DataDir, files: list[tuple[str, bytes]], overrides: dict | None = None,
                    actor: str | None = None) -> Published:
    """Publish uploaded files through the archive (write lock, stored sources, audit log with `actor`).

    Each file is saved under `<data>/uploads/` first. Ordinary files go through one
    `archive.add_files` (one bad file → none written), each `.jsonl` through `archive.import_jsonl` with
    the visibility override only. A busy write lock raises `IndexError_` when nothing was written yet;
    after a part was published, the files that could not be are listed in `errors`."""
    out = Published()
    plain = [(n, b) for n, b in files if not is_jsonl(n)]
    lines = [(n, b) for n, b in files if is_jsonl(n)]
    with ExitStack() as stack:
        paths = []
        for name, content in plain:
            save_upload(data, name, content)
            paths.append(stack.enter_context(staged_upload(data, name, content)))
        if paths:
            results = actions.add_files(data, paths, overrides or {}, actor=actor)
            errors = [f"{Path(r.path).name}: {r.message}" for r in results if r.status == "error"]
            if errors:
                out.errors = errors
                return out
            out.done += [(r.doc_id, r.status) for r in results]
    visibility = (overrides or {}).get("visibility") or "public"
    for name, content in lines:
        try:
            save_upload(data, name, content)
            with staged_upload(data, name, content) as path:
                docs = actions.import_jsonl(data, path, visibility, actor=actor)
        except KbError as e:
            if not out.done:
                raise
            out.errors.append(f"{safe_upload_name(name)}: {e}")  # what was published before stays so
            continue
        out.done += [(d.id, "imported") for d in docs]
    return out


@dataclass
class Preview:
    """What a parsed file would add: for the admin page before publishing."""

    doc_id: str
    title: str
    session: int | None
    date: str
    type: str
    visibility: str
    encoding: str
    turns: int
    speakers: list[tuple[str, int]]
    questions: int
    answers: int
    links: list[tuple[int, list[int]]]
    timestamps: bool


def preview(doc: Document) -> Preview:
    spk = Counter(s.speaker or "（話者なし）" for s in doc.segments)
    questions = [s for s in doc.segments if s.qa == "question"]
    links = [(q.order, [a.order for a in doc.segments if a.qa == "answer" and a.answers_to == q.order])
             for q in questions]
    return Preview(doc.id, doc.title, doc.session, doc.date, doc.type, doc.visibility, doc.encoding,
                   len(doc.segments), spk.most_common(), len(questions),
                   sum(1 for s in doc.segments if s.qa == "answer"), links,
                   any(s.start is not None for s in doc.segments))


def load_upload(path: Path, overrides: dict | None = None) -> list[Document]:
    """Documents of a saved upload (.jsonl may hold several meetings)."""
    from indexer.ingest.loading import find_catalogue, load_document

    if path.suffix.lower() == ".jsonl":
        from indexer.ingest.jsonl import documents_from_jsonl

        docs = documents_from_jsonl(path, default_visibility=(overrides or {}).get("visibility") or "public")
        return docs
    return [load_document(path, find_catalogue([path]), overrides)]


def parse_synonyms(text: str) -> dict[str, list[str]]:
    """The synonym dictionary from YAML text (see `indexer.search.synonyms.parse`)."""
    return synonyms.parse(text)


def save_synonyms(data: DataDir, text: str, actor: str | None = None) -> Path:
    """Validate and save the dictionary as one archive change (write lock, audit entry `synonyms`)."""
    parse_synonyms(text)
    path = data.root / SYNONYMS_FILE
    raw = text.encode("utf-8")
    with transaction(data, actor, mode="none") as tx:
        write_atomic(path, raw)
        tx.record("synonyms", file_hash=sha256(raw), detail=path.name)
    return path


def load_synonyms_text(data: DataDir) -> str:
    """The dictionary's text as saved ("" when there is none)."""
    path = data.root / SYNONYMS_FILE
    return path.read_text(encoding="utf-8") if path.exists() else ""


def unsourced_documents(data: DataDir, index: Index) -> list[str]:
    """Documents in the index without a stored source (added before sources were kept, or around the
    archive): a rebuild from the stored sources would drop them."""
    sources, _ = stored_sources(data.root)
    kept = {i for s in sources for i in s.doc_ids}
    return sorted(set(index.doc_ids()) - kept)


def corpus_dir() -> Path:
    return Path(os.environ.get("KB_CORPUS") or "corpus")
