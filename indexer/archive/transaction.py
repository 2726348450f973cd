"""One change of the archive: write lock → recover → open the index → change sources → commit or undo → audit.

Every write action runs inside `transaction(data, actor)`. It holds `<data>/write.lock` (one writer at a time),
first repairs what a crash left (`recover`), opens the index (`mode`), and yields a `Transaction`:

- `tx.index` — the open index (`mode="open"`: it must exist; `"create"`: a new archive gets an empty index,
  made aside and renamed into place, so a crash leaves no half-made one; `"none"`: not opened, for the
  actions that build a new index and swap it in whole);
- `tx.sources` — source-directory changes (`kept.SourceChanges`), undone when the body raises;
- `tx.record(...)` — audit entries, written only after the body succeeded and its changes were committed.

The body changes the sources first and the index last: the index commit is the point of no return
(sources ahead of the index after a crash are what `kb check` reports and a rerun repairs).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from indexer.archive import audit
from indexer.archive.datadir import DataDir
from indexer.archive.files import swap_in, write_lock
from indexer.archive.kept import SOURCES, SourceChanges, StoredSource, stored_sources
from indexer.archive.withdrawn_sync import applier as withdrawn_applier
from indexer.errors import IndexError_
from indexer.index.store import Index
from indexer.ingest import withdrawals
from indexer.models import Document

Progress = Callable[[float, str], None]
OLD_INDEX_GRACE_SECONDS = 60
BUILD_PREFIX = ".kb-build-"
REBUILD_HINT = "保存された原本から索引を作り直すには `kb rebuild` を実行してください。"


def hint(err: BaseException) -> str:
    """Extra advice for an error message: a version mismatch or a broken index can be fixed by `kb rebuild`."""
    msg = str(err)
    return f" {REBUILD_HINT}" if isinstance(err, IndexError_) and "作り直して" in msg and "kb rebuild" not in msg else ""


def open_index(data: DataDir) -> Index:
    """The archive's index, whose version-mismatch or damage message points at `kb rebuild`."""
    try:
        return Index(data.index)
    except IndexError_ as e:
        raise IndexError_(f"{e}{hint(e)}") from None
    except Exception as e:  # noqa: BLE001 - Whoosh raises many kinds of errors on a damaged index
        raise IndexError_(f"索引が壊れていて開けません（{type(e).__name__}）: {data.index}。{REBUILD_HINT}") from None


def recover(data: DataDir) -> None:
    """After a crash: put back an index moved aside by a swap, remove half-built temporary directories.

    Call only while holding the write lock."""
    index, beside = data.index, data.index.parent
    if not index.exists():
        olds = sorted([p for p in beside.glob(f".{index.name}.old-*") if p.is_dir()]
                      + ([index.with_name(index.name + ".old")] if index.with_name(index.name + ".old").is_dir()
                         else []),
                      key=lambda p: p.stat().st_mtime)
        if olds:
            os.rename(olds[-1], index)
    for p in beside.glob(f".{index.name}.old-*"):
        try:
            swapped_at = int(p.name.split(".old-")[1].split("-")[0])
        except (IndexError, ValueError):
            swapped_at = 0
        if time.time() - swapped_at > OLD_INDEX_GRACE_SECONDS:
            shutil.rmtree(p, ignore_errors=True)
    for p in [*beside.glob(f"{BUILD_PREFIX}*"), *data.root.glob(".kb-import-*"), *data.root.glob(f".{SOURCES}.*")]:
        shutil.rmtree(p, ignore_errors=True)
    sources = data.root / SOURCES
    if sources.is_dir():
        for p in sources.iterdir():
            if p.name.startswith("."):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)


def build_staged_index(data: DataDir, docs: list[Document], procs: int = 1, progress: Progress | None = None,
                       withdrawn: list[withdrawals.Withdrawal] | None = None) -> Path:
    """Build an index of `docs` in a new temporary directory beside the archive's index; return it.

    The withdrawn remarks (`withdrawn`, else the data directory's record) are replaced as it is built."""
    data.index.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=data.index.parent))
    step = None if progress is None else (lambda i, n: progress(0.1 + 0.85 * i / max(n, 1), f"索引に追加 {i}/{n} 件"))
    try:
        staged = Index(tmp, create=True)
        items = withdrawals.load(data.root) if withdrawn is None else withdrawn
        staged.prepare = lambda got: withdrawals.apply(got, items)
        staged.put(docs, procs=procs, progress=step)
        if progress is not None:
            progress(0.97, "索引を保存しています")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def swap_index(data: DataDir, tmp: Path) -> None:
    """Swap a built index in. The old one is kept aside for a grace period (deleted by a later write):
    a reader that was listing the old directory at the moment of the swap must not find it emptied."""
    old = swap_in(tmp, data.index)
    if old is not None:
        os.rename(old, data.index.with_name(f".{data.index.name}.old-{int(time.time())}-{os.getpid()}"
                                            f"-{time.monotonic_ns()}"))


def _open_or_create(data: DataDir) -> Index:
    """The index to add to; a new, empty one only when there is neither an index nor any stored source."""
    from whoosh import index as whoosh_index

    if whoosh_index.exists_in(str(data.index)):
        return open_index(data)
    if stored_sources(data.root)[0]:
        raise IndexError_(f"索引が見つかりません: {data.index}。{REBUILD_HINT}")
    data.index.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=data.index.parent))
    try:
        Index(tmp, create=True)
        swap_index(data, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Index(data.index)


def index_mark(data: DataDir) -> tuple:
    """What changes when the index does: its directory (swapped in whole) and its generations (commits)."""
    try:
        return os.stat(data.index).st_ino, tuple(sorted(p.name for p in data.index.glob("*.toc")))
    except OSError:
        return ()


class Transaction:
    """What the body of `transaction()` changes: the open index, the source directories, the audit entries."""

    def __init__(self, data: DataDir, actor: str, index: Index | None):
        self.data = data
        self.actor = actor
        self.index = index
        self._sources: SourceChanges | None = None
        self._stored: list[StoredSource] | None = None
        self._audit: list[tuple[str, str, str, str]] = []
        self._index_mark = index_mark(data)

    @property
    def sources(self) -> SourceChanges:
        """Undoable changes to `<data>/sources/` (made on first use)."""
        if self._sources is None:
            self._sources = SourceChanges(self.data.root)
        return self._sources

    def stored(self) -> list[StoredSource]:
        """The stored sources as they were when the transaction began."""
        if self._stored is None:
            self._stored = stored_sources(self.data.root)[0]
        return self._stored

    def record(self, action: str, doc_id: str = "", file_hash: str = "", detail: str = "") -> None:
        """An audit entry, written once the transaction has committed."""
        self._audit.append((action, doc_id, file_hash, detail))

    def rollback(self) -> None:
        """Undo the source changes (`transaction()` calls this when its body raises); nothing is audited."""
        if self._sources is not None:
            self._sources.rollback()
        self._audit.clear()

    def commit(self) -> None:
        """Keep the source changes, bring the follow-up links in step with a changed index, then write the
        audit entries (`transaction()` calls this at the end)."""
        if self._sources is not None:
            self._sources.commit()
        if index_mark(self.data) != self._index_mark:
            from indexer.archive import followups

            followups.refresh(self.data, self.index if self.index is not None and self.index.path == self.data.index
                              else None)
        audit.record_all(self.data.root, self.actor, self._audit)
        self._audit.clear()


@contextmanager
def transaction(data: DataDir, actor: str | None = None,
                mode: Literal["open", "create", "none"] = "open") -> Iterator[Transaction]:
    """One change of the archive under its write lock; undone if the body raises, audited if it succeeds."""
    with write_lock(data.root):
        recover(data)
        index = {"open": open_index, "create": _open_or_create, "none": lambda _: None}[mode](data)
        if index is not None:  # every document put in is read with the withdrawn remarks replaced
            index.prepare = withdrawn_applier(data.root)
        tx = Transaction(data, actor or audit.cli_actor(), index)
        try:
            yield tx
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
