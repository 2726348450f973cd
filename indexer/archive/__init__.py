"""The archive: the one write path (lock, kept sources, audit) and what reads the data directory."""

from indexer.archive.actions import (
    REBUILD_HINT,
    SYNONYMS,
    add_files,
    build_staged_index,
    classify,
    hint,
    import_jsonl,
    index_corpus,
    open_index,
    rebuild,
    recover,
    remove,
    swap_index,
)

__all__ = [
    "REBUILD_HINT", "SYNONYMS", "add_files", "build_staged_index", "classify", "hint", "import_jsonl",
    "index_corpus", "open_index", "rebuild", "recover", "remove", "swap_index",
]
