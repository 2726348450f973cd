"""File-system helpers of the data directory: atomic writes, directory swaps, safe names, the write lock.

Every file is written to a temporary name, fsynced and renamed into place; a directory is swapped in whole
(`renameat2(RENAME_EXCHANGE)` where available), so a crash leaves either the old or the new state. One writer
at a time holds `<data_dir>/write.lock` (bounded wait, `KB_WRITE_TIMEOUT` seconds).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from indexer.errors import IndexError_

LOCK = "write.lock"
DEFAULT_WRITE_TIMEOUT = 30.0

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


# -- small file-system helpers ---------------------------------------------------------------------------
def sha256(data: bytes) -> str:
    """Hex SHA-256 of some bytes (file hashes in meta.json and the audit log)."""
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path: Path) -> None:
    """Flush a directory entry to disk (after a rename or a new file); silently skipped where unsupported."""
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
    fsync_dir(path.parent)


def write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet, and fsync it."""
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
        fsync_dir(target.parent)
        return None
    if _exchange(staged, target):
        fsync_dir(target.parent)
        return staged
    old = target.with_name(f".{target.name}.old-{int(time.time())}-{os.getpid()}-{time.monotonic_ns()}")
    os.rename(target, old)  # fallback: a short window without `target` (recovered by `recover`)
    os.rename(staged, target)
    fsync_dir(target.parent)
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
