"""`kb check`: the differences between the index and the stored sources (a crash, a lost file, an edit).

The sources are the record (see `actions.py` and `kept.py`); the index must give exactly their documents, with the
fingerprints recorded when they were added.
"""

from __future__ import annotations

import json

from indexer.archive.datadir import DataDir
from indexer.archive.kept import SOURCES, source_documents, stored_sources
from indexer.archive.redaction import index_problems
from indexer.archive.transaction import REBUILD_HINT, open_index
from indexer.errors import IngestError, KbError
from indexer.index.store import head_id


def check(data: DataDir) -> list[str]:
    """Differences between the index and the stored sources, in Japanese (empty when they agree)."""
    data_dir = data.root
    problems: list[str] = []
    no_sources = [] if (data_dir / SOURCES).is_dir() else [f"保存された原本がありません: {data_dir / SOURCES}"]
    sources, bad = stored_sources(data_dir)
    problems += bad
    expected: dict[str, str] = {}
    shared: dict = {}
    for src in sources:
        try:
            for d in source_documents(src, data_dir, shared):
                expected[d.id] = d.fingerprint
        except IngestError as e:
            problems.append(f"原本を読めません: {SOURCES}/{src.dir.name}: {e}")
            for i in src.doc_ids:
                expected.setdefault(i, "")
        missing = set(src.doc_ids) - set(expected)
        problems += [f"原本 {SOURCES}/{src.dir.name} から文書「{i}」ができません。" for i in sorted(missing)]
    try:
        ix = open_index(data)
    except KbError as e:
        return [*no_sources, *problems, f"索引を開けません: {e}"]
    except Exception as e:  # noqa: BLE001 - a corrupt index is a finding, not a crash
        return [*no_sources, *problems, f"索引を開けません（壊れています: {type(e).__name__}）。{REBUILD_HINT}"]
    try:
        with ix.searcher() as s:
            indexed: dict[str, str] = {}
            for t in s.reader().lexicon("doc_id"):
                doc_id = t.decode("utf-8")
                stored = s.document(id=head_id(doc_id))
                if stored is not None:
                    indexed[doc_id] = json.loads(stored.get("doc_meta") or "{}").get("fingerprint", "")
                elif s.document(doc_id=doc_id) is not None:
                    indexed[doc_id] = ""
    except Exception as e:  # noqa: BLE001
        return [*no_sources, *problems, f"索引を読めません（壊れています: {type(e).__name__}）。{REBUILD_HINT}"]
    try:
        with ix.searcher() as s:
            problems += index_problems(data, s)  # withdrawn remarks (発言の取り消し) replaced in the index
    except KbError as e:
        problems.append(f"取り消しの記録を確かめられません: {e}")
    if indexed:  # an empty archive (a new one, or every document removed) needs no sources folder
        problems = [*no_sources, *problems]
    for doc_id in sorted(expected):
        if doc_id not in indexed:
            problems.append(f"索引にない文書があります: {doc_id}（原本はあります）")
        elif expected[doc_id] and indexed[doc_id] != expected[doc_id]:
            problems.append(f"索引の内容が原本と異なります: {doc_id}")
    for doc_id in sorted(set(indexed) - set(expected)):
        problems.append(f"原本のない文書が索引にあります: {doc_id}")
    return problems
