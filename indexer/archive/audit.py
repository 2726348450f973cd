"""Append-only audit log of write actions (who, when, action, document id, file hash).

One JSON object per line in `<data dir>/audit.log`, appended under an exclusive lock.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> record(d, "jimukyoku", "remove", doc_id="s01-report")["action"]
'remove'
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import getpass
import json
import os
from pathlib import Path

AUDIT_NAME = "audit.log"


def cli_actor() -> str:
    """The actor of a command-line action: `$KB_USER`, else `cli:<os user>`."""
    if os.environ.get("KB_USER"):
        return os.environ["KB_USER"]
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "cli"


def record(data_dir: str | Path, actor: str, action: str, doc_id: str = "", file_hash: str = "",
           detail: str = "") -> dict:
    """Append one entry and return it."""
    return record_all(data_dir, actor, [(action, doc_id, file_hash, detail)])[0]


def record_all(data_dir: str | Path, actor: str, rows: list[tuple[str, str, str, str]]) -> list[dict]:
    """Append one entry per `(action, doc_id, file_hash, detail)` in one write and one fsync; return them."""
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    out = [{"time": now, "actor": actor, "action": action, "doc_id": doc_id, "file_hash": file_hash,
            "detail": detail} for action, doc_id, file_hash, detail in rows]
    if not out:
        return out
    path = Path(data_dir) / AUDIT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join((json.dumps(e, ensure_ascii=False) + "\n").encode("utf-8") for e in out)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    return out


def entries(data_dir: str | Path) -> list[dict]:
    """Every entry, oldest first (a torn last line, after a crash, is skipped)."""
    path = Path(data_dir) / AUDIT_NAME
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
