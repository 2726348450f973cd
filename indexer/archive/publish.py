"""The secretariat's uploads: save, preview, publish through the archive; the documents table; the synonyms.

An upload is planned before it is published (`plan_uploads`), and the plan is what the 管理 page previews:

- its document id: the form's (or the file's front matter) when given; else the id of the kept source with
  the very same bytes; else the catalogue's entry for that file name (`s06/qa.vtt` → `s06-qa`, with its 回,
  type and visibility), the 回 in the form choosing among entries of the same name; else the original file
  name (`sangiin_8978.vtt` → `sangiin_8978`). Never the temporary folder the upload is staged in.
- its status against the index: 新規 (`new`), 差し替え (`replace`: the id exists with other content) or
  変更なし (`unchanged`: the same document is already indexed; publishing writes nothing).
- a replacement keeps the existing document's title, 回, date, type and visibility unless the form sets them.

Publishing goes through `actions.add_files` (write lock, kept sources, audit) with exactly the plan's ids,
catalogue entries and metadata, so a rebuild gives the same documents again.

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

from indexer.archive import actions, audit
from indexer.archive.datadir import DataDir
from indexer.archive.files import sha256, write_atomic
from indexer.archive.kept import StoredSource, stored_sources
from indexer.archive.transaction import transaction
from indexer.archive.uploads import safe_filename
from indexer.errors import IngestError, KbError
from indexer.index.store import Index, head_id
from indexer.ingest.catalogue import CATALOGUE_NAME, Catalogue
from indexer.models import Document
from indexer.search import synonyms

UPLOADS = "uploads"
UPLOAD_SUFFIXES = (".txt", ".md", ".vtt", ".srt", ".html", ".htm", ".docx", ".pdf", ".jsonl")
SYNONYMS_FILE = synonyms.SYNONYMS_FILE
#: The metadata a replacement keeps from the document it replaces (unless the form sets it), and that the
#: documents table edits: form key → the indexed document's field.
KEPT_FIELDS = {"title": "title", "session": "session", "date": "date", "type": "type", "visibility": "visibility"}
STATUS_LABELS = {"new": "新規", "replace": "差し替え", "unchanged": "変更なし", "import": "取り込み"}


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


class UploadCatalogue(Catalogue):
    """The catalogue an upload is read with: the archive's, but each uploaded file's catalogue entry and
    default id are the ones its plan chose (by file name), never derived from where it is staged."""

    def __init__(self, base: Catalogue, pinned: dict[str, tuple[dict, str]]):
        self.__dict__.update(base.__dict__)
        self._pinned = dict(pinned)

    def file_meta(self, path) -> dict:
        return dict(self._pinned.get(Path(path).name, ({}, ""))[0])

    def default_id(self, path) -> str:
        return self._pinned.get(Path(path).name, ({}, ""))[1] or Path(path).stem


def upload_catalogue(data: DataDir) -> Catalogue:
    """The archive's catalogue (`<data>/sessions.yaml`, the copy `kb index` keeps), else `$KB_CATALOGUE`, else
    `corpus/sessions.yaml`, else an empty one."""
    if (data.root / CATALOGUE_NAME).is_file():
        return Catalogue.load(data.root)
    fallback = Path(os.environ.get("KB_CATALOGUE") or Path("corpus") / CATALOGUE_NAME)
    return Catalogue.load(fallback) if fallback.is_file() else Catalogue()


def _catalogue_entry(cat: Catalogue, name: str, session: str) -> tuple[dict, str] | None:
    """The catalogue's entry for an uploaded file name: (its metadata, the id `kb index` gives it).

    Entries are matched by file name; several of one name (`s01/report.md`, `s02/report.md`) are told
    apart by the 回 given in the form, else none is chosen."""
    entries = [(rel, meta) for rel, meta in cat.files().items() if Path(rel).name == name]
    if len(entries) > 1:
        entries = [(rel, meta) for rel, meta in entries if str(meta.get("session", "")) == str(session).strip()]
    if len(entries) != 1:
        return None
    rel, meta = entries[0]
    return dict(meta), "-".join([*Path(rel).parent.parts, Path(rel).stem])


def _same_bytes(stored: list[StoredSource], digest: str) -> StoredSource | None:
    return next((s for s in stored if s.meta.get("kind") == "file" and s.meta.get("sha256") == digest
                 and len(s.doc_ids) == 1), None)


@dataclass
class UploadPlan:
    """What publishing one uploaded file will do (the 管理 page's preview)."""

    name: str  # the stored file name (`safe_upload_name` of what the browser sent)
    data: bytes
    overrides: dict  # the metadata given to the archive: the form's, and what a replacement keeps
    pinned: tuple[dict, str]  # (catalogue entry, default id) the document is read with
    docs: list[Document]
    status: str  # new / replace / unchanged / import
    kept: list[str] = field(default_factory=list)  # fields a replacement keeps from the existing document
    existing: dict | None = None  # the indexed document's metadata (a replacement or an unchanged one)

    @property
    def doc(self) -> Document:
        return self.docs[0]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _kept_overrides(existing: dict, form: dict) -> tuple[dict, list[str]]:
    out, kept = {}, []
    for key, field_name in KEPT_FIELDS.items():
        value = existing.get(field_name)
        if form.get(key) or value in (None, ""):
            continue
        out[key] = str(value)
        kept.append(key)
    return out, kept


def plan_uploads(data: DataDir, files: list[tuple[str, bytes]], overrides: dict | None = None,
                 index: Index | None = None) -> list[UploadPlan]:
    """Read every uploaded file (nothing is written) and decide its id and status; a file that cannot be
    read, or two files giving one id, raise IngestError (in Japanese, with the file's name)."""
    plans, errors = preview_uploads(data, files, overrides, index)
    if errors:
        raise IngestError(errors[0])
    return plans


def preview_uploads(data: DataDir, files: list[tuple[str, bytes]], overrides: dict | None = None,
                    index: Index | None = None) -> tuple[list[UploadPlan], list[str]]:
    """`plan_uploads` for the 管理 page: the plans of the files that can be read, and a message per problem
    (a file that cannot be read, two files with one id). Nothing is written."""
    form = {k: v for k, v in (overrides or {}).items() if v not in (None, "")}
    base = upload_catalogue(data)
    stored = stored_sources(data.root)[0]
    plans: list[UploadPlan] = []
    errors: list[str] = []
    for raw_name, content in files:
        try:
            plans.append(_plan_one(data, _checked_name(raw_name), content, form, base, stored, index))
        except IngestError as e:
            errors.append(f"{safe_upload_name(raw_name)}: {e}")
    seen: dict[str, str] = {}
    for plan in plans:
        for d in plan.docs:
            if d.id in seen and seen[d.id] != plan.name:
                errors.append(f"文書 ID「{d.id}」が {seen[d.id]} と {plan.name} で重複しています。"
                              "どちらかの文書 ID を指定し直してください。")
            seen[d.id] = plan.name
    return plans, errors


def _plan_one(data: DataDir, name: str, content: bytes, form: dict, base: Catalogue, stored: list[StoredSource],
              index: Index | None) -> UploadPlan:
    from indexer.ingest.jsonl import documents_from_jsonl
    from indexer.ingest.loading import load_document

    if is_jsonl(name):
        with staged_upload(data, name, content) as path:
            docs = documents_from_jsonl(path, default_visibility=form.get("visibility") or "public")
        if not docs:
            raise IngestError("取り込む発言がありません。")
        return UploadPlan(name, content, {"visibility": form.get("visibility") or "public"}, ({}, ""), docs, "import")
    same = _same_bytes(stored, sha256(content))
    if same is not None:  # the very bytes of a kept source: read them as they were first read
        name = _checked_name(str(same.meta.get("name") or name))
        pinned = (dict(same.meta.get("catalogue_meta") or {}), str(same.meta.get("default_id") or same.doc_ids[0]))
        chosen = {**(same.meta.get("overrides") or {}), **form}
    else:
        pinned = _catalogue_entry(base, name, str(form.get("session", ""))) or ({}, Path(name).stem)
        chosen = dict(form)
    cat = UploadCatalogue(base, {name: pinned})
    doc = load_document(Path(name), cat, chosen, data=content)
    existing = index.document_meta(doc.id) if index is not None else None
    kept: list[str] = []
    if existing and existing.get("fingerprint") != doc.fingerprint:
        keep, kept = _kept_overrides(existing, form)
        if keep:
            chosen = {**chosen, **keep}
            doc = load_document(Path(name), cat, chosen, data=content)
    status = "new" if not existing else ("unchanged" if existing.get("fingerprint") == doc.fingerprint else "replace")
    return UploadPlan(name, content, chosen, pinned, [doc], status, kept if status == "replace" else [], existing)


def publish_uploads(data: DataDir, files: list[tuple[str, bytes]], overrides: dict | None = None,
                    actor: str | None = None) -> Published:
    """Publish uploaded files through the archive (write lock, stored sources, audit log with `actor`).

    The files are planned first (`preview_uploads`, against the index as it is now; a file that cannot be read
    is listed in `errors` and nothing is written), each is saved under
    `<data>/uploads/`, then the ordinary files go through one `archive.add_files` (one bad file → none
    written) with each plan's id, catalogue entry and metadata, and each `.jsonl` through
    `archive.import_jsonl` with the visibility override only. A busy write lock raises `IndexError_` when
    nothing was written yet; after a part was published, the files that could not be are listed in `errors`."""
    out = Published()
    try:
        index = Index(data.index)
    except KbError:
        index = None
    plans, errors = preview_uploads(data, files, overrides, index)
    if errors:  # one unreadable file (or two files with one id): nothing is written
        out.errors = errors
        return out
    plain = [p for p in plans if p.status != "import"]
    lines = [p for p in plans if p.status == "import"]
    with ExitStack() as stack:
        paths = []
        for plan in plain:
            save_upload(data, plan.name, plan.data)
            paths.append(stack.enter_context(staged_upload(data, plan.name, plan.data)))
        if paths:
            cat = UploadCatalogue(upload_catalogue(data), {p.name: p.pinned for p in plain})
            results = actions.add_files(data, paths, {}, actor=actor, catalogue=cat,
                                        file_overrides={p.name: p.overrides for p in plain})
            errors = [f"{Path(r.path).name}: {r.message}" for r in results if r.status == "error"]
            if errors:
                out.errors = errors
                return out
            out.done += [(r.doc_id, r.status) for r in results]
    for plan in lines:
        try:
            save_upload(data, plan.name, plan.data)
            with staged_upload(data, plan.name, plan.data) as path:
                docs = actions.import_jsonl(data, path, plan.overrides["visibility"], actor=actor)
        except KbError as e:
            if not out.done:
                raise
            out.errors.append(f"{plan.name}: {e}")  # what was published before stays so
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


def live_documents(index: Index) -> dict[str, dict]:
    """doc id → its metadata, for every document the index holds now (deleted ones left out: Whoosh keeps
    their terms in the lexicon until segments merge)."""
    import json

    out: dict[str, dict] = {}
    with index.ix.searcher() as s:
        for t in s.reader().lexicon("doc_id"):
            doc_id = t.decode("utf-8")
            stored = s.document(id=head_id(doc_id))
            if stored is not None:
                out[doc_id] = json.loads(stored.get("doc_meta") or "{}")
            elif s.document(doc_id=doc_id) is not None:
                out[doc_id] = {"id": doc_id}
    return out


def unsourced_documents(data: DataDir, index: Index) -> list[str]:
    """Documents in the index without a stored source (added before sources were kept, or around the
    archive): a rebuild from the stored sources would drop them. Removed documents are not counted."""
    sources, _ = stored_sources(data.root)
    kept = {i for s in sources for i in s.doc_ids}
    return sorted(set(live_documents(index)) - kept)


def corpus_dir() -> Path:
    return Path(os.environ.get("KB_CORPUS") or "corpus")


# -- the documents table of 管理 -------------------------------------------------------------------------
#: Audit actions that add a document, and those that change one.
ADDING = ("add", "index", "import")
CHANGING = ("add", "replace", "index", "import", "edit")


@dataclass
class DocumentRow:
    """One line of the 管理 page's documents table."""

    id: str
    title: str
    session: int | None
    date: str
    type: str
    visibility: str
    turns: int
    added_by: str = ""
    added_at: str = ""
    changed_by: str = ""
    changed_at: str = ""
    source: str = ""  # "file" (metadata editable), "jsonl" (one source of several documents), "" (none kept)

    @property
    def editable(self) -> bool:
        return self.source == "file"


def document_history(data: DataDir) -> dict[str, dict[str, str]]:
    """doc id → who added it and who last changed it, and when (UTC, ISO 8601), from the audit log (an add,
    import or `kb index` after a removal starts again). `content_at` is the last time its content changed:
    an entry whose file hash differs from the one before (a metadata edit or a `kb index` of the same bytes
    is not a change of content)."""
    history: dict[str, dict[str, str]] = {}
    for e in audit.entries(data.root):
        doc_id, action = e.get("doc_id") or "", e.get("action")
        if not doc_id:
            continue
        if action == "remove":
            history.pop(doc_id, None)
            continue
        if action not in CHANGING:
            continue
        h = history.setdefault(doc_id, {})
        if action in ADDING and "added_by" not in h:
            h["added_by"], h["added_at"] = e.get("actor", ""), e.get("time", "")
        h["changed_by"], h["changed_at"] = e.get("actor", ""), e.get("time", "")
        digest = str(e.get("file_hash") or "")
        if "content_at" not in h or (action != "edit" and digest != h.get("content_hash")):
            h["content_at"], h["content_hash"] = e.get("time", ""), digest
    return history


def document_rows(data: DataDir, index: Index) -> list[DocumentRow]:
    """Every document of the index (as the secretariat sees it), with who added it and who last changed it,
    and when (`document_history`)."""
    shown = ("added_by", "added_at", "changed_by", "changed_at")
    history = {i: {k: v for k, v in h.items() if k in shown} for i, h in document_history(data).items()}
    kinds = {i: str(s.meta.get("kind") or "") for s in stored_sources(data.root)[0] for i in s.doc_ids}
    rows = []
    for doc_id, meta in live_documents(index).items():
        session = meta.get("session")
        rows.append(DocumentRow(
            doc_id, str(meta.get("title") or ""), int(session) if str(session or "").isdigit() else None,
            str(meta.get("date") or ""), str(meta.get("type") or ""), str(meta.get("visibility") or ""),
            int(meta.get("segments") or 0), source=kinds.get(doc_id, ""),
            **{k: _local_time(v) if k.endswith("_at") else v for k, v in history.get(doc_id, {}).items()}))
    rows.sort(key=lambda r: (r.date, r.session or 0, r.id))
    return rows


def _local_time(iso: str) -> str:
    """An audit time (UTC, ISO 8601) as local time to the minute (`2026-03-10 14:05`)."""
    import datetime as _dt

    try:
        return _dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso
