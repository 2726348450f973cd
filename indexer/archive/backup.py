"""`kb export` and `kb import-archive`: the data directory as one verified tar.gz, and back.

An export holds the stored sources, the catalogue, the synonyms, the audit log, the record of withdrawn
remarks (`redactions.json`), the accounts' saved searches (`saved_searches.json`, not the accounts themselves)
and a manifest of SHA-256 hashes. An import extracts it safely (no absolute
paths, `..`, links, special files, unexpected names or oversized members; every hash checked), rebuilds the
index from it (the archive's withdrawals applied) and only then swaps it in.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from pathlib import Path, PurePosixPath

from indexer.archive import audit, redaction, saved
from indexer.archive.actions import SYNONYMS
from indexer.archive.datadir import DataDir
from indexer.archive.files import sha256, swap_in, write_atomic, write_new
from indexer.archive.kept import SOURCES, all_documents, dump_meta, now_utc, stored_sources
from indexer.archive.transaction import build_staged_index, swap_index, transaction
from indexer.errors import IndexError_, IngestError
from indexer.index.store import Index
from indexer.ingest import withdrawals
from indexer.ingest.catalogue import CATALOGUE_NAME

MANIFEST = "manifest.json"
ARCHIVE_FORMAT = "kb-archive"
MAX_MEMBER_BYTES = 200 * 1024 * 1024
MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024
MAX_MEMBERS = 200_000


def _archive_files(data_dir: Path) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    sdir = data_dir / SOURCES
    if sdir.is_dir():
        for d in sorted(sdir.iterdir()):
            if d.name.startswith(".") or not d.is_dir():
                continue
            for f in sorted(d.iterdir()):
                if f.is_file() and not f.is_symlink():
                    files.append((f"{SOURCES}/{d.name}/{f.name}", f))
    for name in (CATALOGUE_NAME, SYNONYMS, audit.AUDIT_NAME, withdrawals.RECORD_NAME, saved.SAVED_FILE):
        if (data_dir / name).is_file():
            files.append((name, data_dir / name))
    return files


def export(data: DataDir, out: Path, actor: str | None = None) -> dict:
    """`kb export FILE.tar.gz`: sources, catalogue, synonyms, audit log and a manifest of hashes."""
    out, data_dir = Path(out), data.root
    with transaction(data, actor, mode="none") as tx:  # a consistent snapshot: no writer changes the sources
        if not (data_dir / SOURCES).is_dir():
            raise IndexError_(f"保存された原本がありません: {data_dir / SOURCES}（`kb index DIR` で作成してください）")
        contents = [(rel, p.read_bytes()) for rel, p in _archive_files(data_dir)]
        sources, _ = stored_sources(data_dir)
        manifest = {"format": ARCHIVE_FORMAT, "version": 1, "created": now_utc(),
                    "documents": sorted({i for s in sources for i in s.doc_ids}),
                    "files": {rel: {"sha256": sha256(b), "size": len(b)} for rel, b in contents}}
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
            for rel, b in [(MANIFEST, dump_meta(manifest)), *contents]:
                info = tarfile.TarInfo(rel)
                info.size, info.mode, info.mtime = len(b), 0o644, int(time.time())
                tf.addfile(info, io.BytesIO(b))
        write_atomic(out, buf.getvalue())
        tx.record("export", file_hash=sha256(buf.getvalue()), detail=f"{out.name} files={len(contents)}")
    return manifest


def _member_path(name: str, is_dir: bool) -> PurePosixPath:
    p = PurePosixPath(name)
    if (not name or "\\" in name or "\x00" in name or p.is_absolute() or ".." in p.parts
            or any(x.startswith(".") for x in p.parts)):
        raise IngestError(f"アーカイブに不正なパスがあります: {name!r}")
    parts = p.parts
    if is_dir:
        ok = 1 <= len(parts) <= 2 and parts[0] == SOURCES
    else:
        ok = (len(parts) == 1 and parts[0] in (MANIFEST, CATALOGUE_NAME, SYNONYMS, audit.AUDIT_NAME,
                                               withdrawals.RECORD_NAME, saved.SAVED_FILE)) or (
            len(parts) == 3 and parts[0] == SOURCES)
    if not ok:
        raise IngestError(f"アーカイブに想定外のファイルがあります: {name!r}")
    return p


def extract(archive: Path, dest: Path, max_member: int = MAX_MEMBER_BYTES, max_total: int = MAX_ARCHIVE_BYTES) -> dict:
    """Safely extract an export into `dest` (which must be empty) and verify it; returns the manifest.

    Rejects absolute paths, `..`, links and special files, unexpected names, oversized members and any
    file whose hash differs from the manifest (or that the manifest does not list)."""
    archive, dest = Path(archive), Path(dest)
    total = 0
    written: dict[str, str] = {}
    try:
        tf = tarfile.open(archive, mode="r:*")
    except (OSError, tarfile.TarError, EOFError) as e:
        raise IngestError(f"アーカイブを開けません（tar.gz ではないか壊れています）: {archive.name}: {e}") from None
    try:
        with tf:
            for n, m in enumerate(tf):
                if n >= MAX_MEMBERS:
                    raise IngestError("アーカイブのファイル数が多すぎます。")
                p = _member_path(m.name, m.isdir())
                if m.isdir():
                    continue
                if not m.isfile():
                    raise IngestError(f"アーカイブにリンクや特殊ファイルがあります（受け付けません）: {m.name!r}")
                if m.size > max_member:
                    raise IngestError(f"アーカイブのファイルが大きすぎます: {m.name!r}（{m.size:,} バイト）")
                total += m.size
                if total > max_total:
                    raise IngestError("アーカイブの展開後の大きさが上限を超えています。")
                rel = p.as_posix()
                if rel in written:
                    raise IngestError(f"アーカイブに同じファイルが二度あります: {rel!r}")
                fh = tf.extractfile(m)
                data = fh.read(max_member + 1) if fh is not None else b""
                if len(data) != m.size:
                    raise IngestError(f"アーカイブのファイルが壊れています: {rel!r}")
                target = dest.joinpath(*p.parts)
                if dest.resolve() not in target.resolve().parents:
                    raise IngestError(f"アーカイブに不正なパスがあります: {m.name!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                write_new(target, data)
                written[rel] = sha256(data)
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        raise IngestError(f"アーカイブを読めません（壊れています）: {archive.name}: {type(e).__name__}") from None
    if MANIFEST not in written:
        raise IngestError("アーカイブに目録（manifest.json）がありません。`kb export` で作ったファイルを指定してください。")
    try:
        manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("format") != ARCHIVE_FORMAT or not isinstance(files, dict):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise IngestError("アーカイブの目録（manifest.json）の形式が正しくありません。") from None
    for rel, info in files.items():
        if written.get(rel) != (info or {}).get("sha256"):
            raise IngestError(f"アーカイブのファイルが目録と一致しません（欠落または改変）: {rel}")
    extra = set(written) - set(files) - {MANIFEST}
    if extra:
        raise IngestError(f"アーカイブに目録にないファイルがあります: {sorted(extra)[0]}")
    return manifest


def import_archive(data: DataDir, archive: Path, procs: int = 1, actor: str | None = None) -> tuple[dict, Index]:
    """`kb import-archive FILE.tar.gz`: verify and restore an export into the data directory, then rebuild.

    The current sources and index stay untouched unless everything was verified and the new index built."""
    archive, data_dir = Path(archive), data.root
    with transaction(data, actor, mode="none") as tx:
        staging = Path(tempfile.mkdtemp(prefix=".kb-import-", dir=data_dir))
        try:
            manifest = extract(archive, staging)
            (staging / SOURCES).mkdir(exist_ok=True)
            docs = all_documents(staging)
            tmp = build_staged_index(data, docs, procs, withdrawn=withdrawals.load(staging))
            try:
                for name in (CATALOGUE_NAME, SYNONYMS):
                    if (staging / name).is_file():
                        write_atomic(data_dir / name, (staging / name).read_bytes())
                    elif name == CATALOGUE_NAME:
                        (data_dir / name).unlink(missing_ok=True)
                redaction.restore_record(data_dir, staging / withdrawals.RECORD_NAME)
                old = swap_in(staging / SOURCES, data_dir / SOURCES)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
                swap_index(data, tmp)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            _merge_audit(data_dir, staging / audit.AUDIT_NAME)
            _merge_saved(data_dir, staging / saved.SAVED_FILE)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        tx.record("import-archive", file_hash=sha256(archive.read_bytes()),
                  detail=f"{archive.name} documents={len(docs)}")
    return manifest, Index(data.index)


def _merge_saved(data_dir: Path, imported: Path) -> None:
    """Restore the archived saved searches the data directory does not have (see `saved.merge_archived`);
    the file's hash was checked, so one that is not JSON was written so by hand and is left out."""
    try:
        archived = json.loads(imported.read_text(encoding="utf-8")) if imported.is_file() else {}
    except (ValueError, UnicodeDecodeError):
        archived = {}
    saved.merge_archived(data_dir, archived)


def _merge_audit(data_dir: Path, imported: Path) -> None:
    """Keep the local audit log and append the archived entries it does not have yet."""
    if not imported.is_file():
        return
    local = data_dir / audit.AUDIT_NAME
    have = set(local.read_bytes().splitlines()) if local.is_file() else set()
    new = [line for line in imported.read_bytes().splitlines() if line.strip() and line not in have]
    if new:
        with open(local, "ab") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            fh.write(b"".join(line + b"\n" for line in new))
            fh.flush()
            os.fsync(fh.fileno())
