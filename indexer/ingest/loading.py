"""Loading: files → Documents (decoded, segmented, fingerprinted). Nothing here writes the index:
every write goes through `indexer.archive`.

>>> [p.name for p in corpus_files(Path("corpus"))][:1]  # doctest: +SKIP
['report.md']
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

from indexer.errors import IngestError
from indexer.ingest.catalogue import CATALOGUE_NAME, Catalogue
from indexer.ingest.segments import build_document
from indexer.ingest.sources import CAPTION_SUFFIXES, DOCUMENT_SUFFIXES, TEXT_SUFFIXES, read_source
from indexer.models import Document

SUPPORTED_SUFFIXES = TEXT_SUFFIXES | CAPTION_SUFFIXES | DOCUMENT_SUFFIXES


@dataclass
class AddResult:
    """What happened to one file: added, replaced, unchanged or error (with a Japanese message)."""

    path: str
    doc_id: str = ""
    status: str = ""
    message: str = ""
    document: Document | None = field(default=None, repr=False)


_PLAIN = frozenset({str, int, float, bool, type(None)})
_NAMES: dict[type, tuple[str, ...]] = {}


def jsonable(value):
    """`value` with its dataclasses as dicts (as `dataclasses.asdict` gives them, so `json.dumps` writes the
    same text), without copying what JSON writes as it is (asdict deep-copies every string).

    >>> from indexer.models import Segment
    >>> jsonable(Document("d", segments=[Segment(0, "本文")]))["segments"][0]["text"]
    '本文'
    """
    cls = type(value)
    names = _NAMES.get(cls)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _NAMES[cls] = tuple(f.name for f in fields(value))
    if names is not None:
        out = {n: getattr(value, n) for n in names}
        for k, v in out.items():
            if type(v) not in _PLAIN:
                out[k] = jsonable(v)
        return out
    if isinstance(value, list | tuple):
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    return value


def fingerprint(doc: Document, plain: bool = False) -> str:
    """A hash of everything a document contributes to the index (metadata and segments).

    `plain`: the document's and its segments' fields hold only strings, numbers and None (as a JSONL
    import's do): their attribute dicts are dumped as they are (the same JSON text, keys sorted, without
    the copies `jsonable` makes)."""
    if plain:
        d = dict(vars(doc))
        d["segments"] = [vars(s) for s in doc.segments]
    else:
        d = jsonable(doc)
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
