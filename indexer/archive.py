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

`kb check` lives in `check.py`, `kb export` / `kb import-archive` in `backup.py`.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import audit
from .catalogue import CATALOGUE_NAME, Catalogue
from .errors import IndexError_, IngestError
from .ingest import AddResult, classify, corpus_files, find_catalogue, load_document
from .models import Document
from .sources import read_bytes
from .store import Index

SOURCES = "sources"
META = "meta.json"
LOCK = "write.lock"
SYNONYMS = "synonyms.yaml"
Progress = Callable[[float, str], None]
DEFAULT_WRITE_TIMEOUT = 30.0
STALE_BUILD_SECONDS = 3600
OLD_INDEX_GRACE_SECONDS = 60
REBUILD_HINT = "保存された原本から索引を作り直すには `kb rebuild` を実行してください。"

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


# -- small file-system helpers ---------------------------------------------------------------------------
def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file, fsync and `os.replace`: readers see old or new bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _write_new(path: Path, data: bytes) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


_libc = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux `renameat2(RENAME_EXCHANGE)`); False when unsupported."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        fn = _libc.renameat2
    except (OSError, AttributeError):
        return False
    if fn(-100, os.fsencode(str(a)), -100, os.fsencode(str(b)), 2) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(staged: Path, target: Path) -> Path | None:
    """Put the directory `staged` at `target`; return where the previous `target` now is (or None)."""
    if not target.exists():
        os.rename(staged, target)
        _fsync_dir(target.parent)
        return None
    if _exchange(staged, target):
        _fsync_dir(target.parent)
        return staged
    old = target.with_name(f".{target.name}.old-{int(time.time())}-{os.getpid()}-{time.monotonic_ns()}")
    os.rename(target, old)  # fallback: a short window without `target` (recovered by `recover`)
    os.rename(staged, target)
    _fsync_dir(target.parent)
    return old


def safe_name(name: str, default: str = "source") -> str:
    """A plain file name: no directory part, no control or reserved characters, no leading dot, ≤ 180 bytes."""
    base = re.split(r"[\\/]", str(name))[-1]
    suffix = PurePosixPath(base).suffix if not base.startswith(".") or base.count(".") > 1 else ""
    suffix = _UNSAFE.sub("_", suffix)[:16] if len(suffix) > 1 else ""
    stem = base[: len(base) - len(suffix)] if suffix else base
    stem = _UNSAFE.sub("_", stem).strip().lstrip(".").strip() or default
    if len(stem.encode("utf-8")) > 160:
        stem = stem.encode("utf-8")[:140].decode("utf-8", "ignore") + "-" + sha256(base.encode())[:12]
    return stem + suffix


def _key(doc_id: str) -> str:
    """Directory name of a document's source: the id itself when safe, else a sanitized id and a hash."""
    s = safe_name(doc_id, "doc")
    return s if s == doc_id and not s.startswith("_") else f"{s}-{sha256(doc_id.encode())[:10]}"


# -- the write lock ---------------------------------------------------------------------------------------
def write_timeout() -> float:
    """Seconds a writer waits for another one: `$KB_WRITE_TIMEOUT` (default 30)."""
    try:
        return max(0.0, float(os.environ.get("KB_WRITE_TIMEOUT") or DEFAULT_WRITE_TIMEOUT))
    except ValueError:
        return DEFAULT_WRITE_TIMEOUT


@contextmanager
def write_lock(data_dir: Path, timeout: float | None = None) -> Iterator[float]:
    """Hold `<data_dir>/write.lock` (one writer at a time, across processes and threads); yields the wait."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    timeout = write_timeout() if timeout is None else timeout
    fd = os.open(data_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o640)
    start = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= timeout:
                    raise IndexError_(
                        f"他の更新作業（追加・削除・作り直しなど）が進行中のため、{waited:.0f} 秒待ちましたが"
                        "書き込めませんでした。しばらくしてからやり直してください"
                        "（待ち時間は環境変数 KB_WRITE_TIMEOUT で変えられます）。"
                    ) from None
                time.sleep(min(0.05, max(0.0, timeout - waited)) or 0.01)
        yield time.monotonic() - start
    finally:
        os.close(fd)  # closing releases the lock


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


# -- sources ----------------------------------------------------------------------------------------------
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
        from .ingest import fingerprint
        from .jsonl import documents_from_jsonl

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


class _Tx:
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
        _write_new(staged / META, _dump(meta))
        _fsync_dir(staged)
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
        _fsync_dir(self.sources)

    def _cleanup(self) -> None:
        for p in self._trash:
            shutil.rmtree(p, ignore_errors=True)
        self._trash.clear()
        for p in self.sources.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)


def _dump(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")


def _release(tx: _Tx, existing: list[StoredSource], doc_ids: set[str], keep: Path | None = None) -> None:
    """Drop the claims of other sources on `doc_ids` (a re-added document has one source only)."""
    for src in existing:
        if src.dir == keep or not doc_ids & set(src.doc_ids):
            continue
        rest = [d for d in src.doc_ids if d not in doc_ids]
        if rest:
            tx.write_meta(src, {**src.meta, "doc_ids": rest})
        else:
            tx.remove_dir(src.dir)


def _target_dir(sources_dir: Path, key: str, existing: list[StoredSource], owner: Callable[[dict], bool]) -> Path:
    taken = {s.dir.name: s for s in existing}
    name = key
    n = 0
    while name in taken and not owner(taken[name].meta):
        n += 1
        name = f"{key}-{n}"
    return sources_dir / name


def _stage_source(tx: _Tx, data: bytes, meta: dict, catalogue_bytes: bytes | None = None) -> Path:
    staged = tx.stage()
    _write_new(staged / meta["file"], data)
    if catalogue_bytes is not None:
        _write_new(staged / CATALOGUE_NAME, catalogue_bytes)
    _write_new(staged / META, _dump(meta))
    _fsync_dir(staged)
    return staged


def _catalogue_bytes(cat: Catalogue) -> bytes | None:
    if cat.root is None:
        return None
    path = Path(cat.root) / CATALOGUE_NAME
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


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
        "sha256": sha256(p.data), "size": len(p.data), "added": _now(),
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
        tx = _Tx(data_dir)
        try:
            for p in parsed:
                meta = _file_meta(p, overrides or {}, mode)
                target = _target_dir(tx.sources, _key(p.doc.id), existing,
                                     lambda m, i=p.doc.id: m.get("kind") == "file" and m.get("doc_ids") == [i])
                cur = next((s for s in existing if s.dir == target), None)
                if cur and cur.meta.get("sha256") == meta["sha256"] and {**cur.meta, "added": ""} == \
                        {**meta, "added": ""}:
                    continue  # already stored exactly so
                _release(tx, existing, {p.doc.id}, keep=target)
                tx.put_dir(_stage_source(tx, p.data, meta, cat_bytes if mode == "own" else None), target)
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
    from .jsonl import documents_from_jsonl

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
            "sha256": sha256(data), "size": len(data), "added": _now(), "visibility": visibility}
    with write_lock(data_dir):
        recover(index_dir)
        ix = _open_for_write(index_dir)
        existing, _ = stored_sources(data_dir)
        tx = _Tx(data_dir)
        try:
            key = f"_jsonl-{safe_name(path.stem, 'import')[:80]}-{meta['sha256'][:10]}"
            target = _target_dir(tx.sources, key, existing, lambda m: m.get("sha256") == meta["sha256"])
            _release(tx, existing, set(ids), keep=target)
            tx.put_dir(_stage_source(tx, data, meta), target)
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
        tx = _Tx(data_dir)
        try:
            _release(tx, existing, {doc_id})
            n = ix.remove(doc_id)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        if n or owners:
            audit.record(data_dir, actor or audit.cli_actor(), "remove", doc_id,
                         owners[0].meta.get("sha256", "") if owners else "", f"passages={n}")
    return n or (1 if owners else 0)


def _build_tmp(data_dir: Path, docs: list[Document], procs: int = 1, progress: Progress | None = None) -> Path:
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


def _swap_index(tmp: Path, index_dir: Path) -> None:
    """Swap a built index in. The old one is kept aside for a grace period (deleted by a later write):
    a reader that was listing the old directory at the moment of the swap must not find it emptied."""
    old = swap_in(tmp, index_dir)
    if old is not None:
        os.rename(old, index_dir.with_name(f".{index_dir.name}.old-{int(time.time())}-{os.getpid()}"
                                           f"-{time.monotonic_ns()}"))


def index_corpus(root: Path, index_dir: Path, procs: int = 1, actor: str | None = None,
                 progress: Progress | None = None) -> Index:
    """`kb index DIR`: read every file, keep them (and the catalogue) as the sources, build and swap."""
    from .ingest import SUPPORTED_SUFFIXES

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
                d = staged / _key(p.doc.id)
                d.mkdir()
                meta = _file_meta(p, {}, mode)
                _write_new(d / meta["file"], p.data)
                _write_new(d / META, _dump(meta))
                _fsync_dir(d)
            _fsync_dir(staged)
            tmp = _build_tmp(data_dir, [p.doc for p in parsed], procs, progress)
            try:
                if cat_bytes is not None:
                    write_atomic(data_dir / CATALOGUE_NAME, cat_bytes)
                seed = cat_root / SYNONYMS
                if seed.is_file() and not (data_dir / SYNONYMS).exists():  # the corpus's dictionary seeds it
                    write_atomic(data_dir / SYNONYMS, seed.read_bytes())
                old = swap_in(staged, data_dir / SOURCES)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
                _swap_index(tmp, index_dir)
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
        tmp = _build_tmp(data_dir, docs, procs, progress)
        try:
            _swap_index(tmp, index_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if progress is not None:
            progress(1.0, f"完了（文書 {len(docs)} 件）")
        audit.record(data_dir, actor or audit.cli_actor(), "rebuild", detail=f"documents={len(docs)}")
    return Index(index_dir)
