"""The sessions catalogue (`sessions.yaml`): sessions, people and each document's metadata.

Precedence when a document is added: catalogue < front matter < command-line flags.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from indexer.errors import IngestError
from indexer.models import Session
from indexer.text.speakers import SpeakerDirectory

CATALOGUE_NAME = "sessions.yaml"


class Catalogue:
    """Sessions, people and per-file metadata of a corpus directory."""

    def __init__(self, data: dict | None = None, root: Path | None = None):
        data = data or {}
        self.root = root
        self.association = str(data.get("association", ""))
        self.group = str(data.get("group", ""))
        self.people: list[dict] = list(data.get("people") or [])
        self.sessions: dict[int, Session] = {}
        self._files: dict[str, dict] = {}
        for s in data.get("sessions") or []:
            try:
                number = int(s["number"])
            except (KeyError, TypeError, ValueError):
                raise IngestError("カタログの回（number）が数値で書かれていない回があります。") from None
            self.sessions[number] = Session(
                number=number,
                date=str(s.get("date", "") or ""),
                title=str(s.get("title", "") or ""),
                theme=str(s.get("theme", "") or ""),
                chair=str(s.get("chair", "") or ""),
                guests=[str(g) for g in s.get("guests") or []],
                recording=str(s.get("recording", "") or "").strip(),
            )
            for d in s.get("documents") or []:
                if isinstance(d, dict) and d.get("file"):
                    self._files[str(d["file"])] = {**{k: v for k, v in d.items() if k != "file"}, "session": number}
        self.directory = SpeakerDirectory(self.people)

    @classmethod
    def load(cls, path: str | Path) -> Catalogue:
        """Load `sessions.yaml` (or the one inside a directory); a missing file gives an empty catalogue."""
        path = Path(path)
        if path.is_dir():
            path = path / CATALOGUE_NAME
        if not path.exists():
            return cls(root=path.parent)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise IngestError(f"カタログ {path.name} を読めませんでした: {e}") from None
        if not isinstance(data, dict):
            raise IngestError(f"カタログ {path.name} の形式が正しくありません。")
        return cls(data, path.parent)

    def file_meta(self, path: str | Path) -> dict:
        """Catalogue metadata of a file (matched by its path relative to the catalogue)."""
        p = Path(path)
        if self.root is not None:
            try:
                rel = p.resolve().relative_to(self.root.resolve()).as_posix()
                if rel in self._files:
                    return dict(self._files[rel])
            except ValueError:
                pass
        for rel, meta in self._files.items():
            if p.as_posix().endswith(rel):
                return dict(meta)
        return {}

    def files(self) -> dict[str, dict]:
        """Every document entry: its path relative to the catalogue (`s06/qa.vtt`) → its metadata (with `session`)."""
        return {rel: dict(meta) for rel, meta in self._files.items()}

    def default_id(self, path: str | Path) -> str:
        """A document id from the file's path: relative to the catalogue when inside it (`s06/qa.vtt` → `s06-qa`)."""
        p = Path(path)
        if self.root is not None:
            try:
                rel = p.resolve().relative_to(self.root.resolve())
                return "-".join([*rel.parent.parts, rel.stem])
            except ValueError:
                pass
        return p.stem

    def session(self, number: int | None) -> Session | None:
        return self.sessions.get(number) if number is not None else None

    def answerers(self, number: int | None) -> set[str]:
        """Canonical names of the chair and guests of a session: the people questions are put to."""
        s = self.session(number)
        names = [s.chair, *s.guests] if s else []
        names += [p.get("name", "") for p in self.people if p.get("role") in ("座長", "ゲスト", "講師")]
        return {self.directory.resolve(*_split(n))[0] for n in names if n}


def _split(name: str) -> tuple[str, str]:
    from indexer.text.speakers import normalize_name

    return normalize_name(name)
