"""The data directory: one folder holding everything the product keeps.

    <data>/index/        the Whoosh index (rebuildable from the sources)
    <data>/sources/      each added file, byte for byte (`kept.py`)
    <data>/audit.log     who changed what (`audit.py`)
    <data>/users.json    accounts (`accounts.py`)
    <data>/synonyms.yaml the synonym dictionary
    <data>/uploads/      what the 管理 page received
    <data>/followups.json  ほかの回でも: turns of different sessions on one topic (`followups.py`)
    <data>/write.lock    one writer at a time

Chosen by `--data DIR`, else `$KB_DATA`, else `.kb` under the current directory. The older `--index DIR`
(and `$KB_INDEX`) still work: `DIR/..` is the data directory when `DIR` is named `index` (the layout
`kb` has always made) or already holds an index of its own; any other `DIR` is taken as the data directory.
Given both (`--data D --index I`, or both variables), the index is `I` in the data directory `D`: that is
how `kb serve` hands its directory to the web app (`environ()`).

>>> DataDir.resolve(data=Path("/srv/kb")).index
PosixPath('/srv/kb/index')
>>> DataDir.resolve(index=Path("/srv/kb/index")).root
PosixPath('/srv/kb')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA = ".kb"
INDEX = "index"


@dataclass(frozen=True)
class DataDir:
    """Where one archive lives: its root folder and its index folder (normally `root/index`)."""

    root: Path
    index: Path

    @classmethod
    def at(cls, root: str | Path) -> DataDir:
        """The data directory `root`, its index in `root/index`."""
        root = Path(root)
        return cls(root, root / INDEX)

    @classmethod
    def of_index(cls, index: str | Path) -> DataDir:
        """The data directory of an index folder given the older way (`--index`, `$KB_INDEX`)."""
        index = Path(index)
        if index.name == INDEX or _holds_index(index):
            return cls(index.parent, index)
        return cls.at(index)

    @classmethod
    def resolve(cls, data: str | Path | None = None, index: str | Path | None = None) -> DataDir:
        """From the options (`--data`, `--index`), else the variables (`$KB_DATA`, `$KB_INDEX`), else `.kb`."""
        if not data and not index:
            data, index = os.environ.get("KB_DATA"), os.environ.get("KB_INDEX")
        if data and index:
            return cls(Path(data), Path(index))
        if data:
            return cls.at(data)
        if index:
            return cls.of_index(index)
        return cls.at(DEFAULT_DATA)

    def resolved(self) -> DataDir:
        """The same directory with absolute paths (for a child process or a server)."""
        return DataDir(self.root.resolve(), self.index.resolve())

    def environ(self) -> dict[str, str]:
        """`KB_DATA` and `KB_INDEX` (absolute) that make `resolve()` in a child process give this directory."""
        full = self.resolved()
        return {"KB_DATA": str(full.root), "KB_INDEX": str(full.index)}


def _holds_index(path: Path) -> bool:
    """Whether `path` itself holds a Whoosh index (its table of contents), without opening it."""
    return path.is_dir() and any(p.name.startswith("_MAIN_") and p.suffix == ".toc" for p in path.iterdir())
