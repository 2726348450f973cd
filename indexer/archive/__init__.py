"""The archive: the one write path (lock, kept sources, audit) and what reads the data directory."""

from indexer.archive.actions import (
    SYNONYMS,
    add_files,
    classify,
    edit_metadata,
    import_jsonl,
    index_corpus,
    rebuild,
    remove,
)
from indexer.archive.datadir import DataDir
from indexer.archive.transaction import (
    REBUILD_HINT,
    Transaction,
    build_staged_index,
    hint,
    open_index,
    recover,
    swap_index,
    transaction,
)

__all__ = [
    "REBUILD_HINT", "SYNONYMS", "DataDir", "Transaction", "add_files", "build_staged_index", "classify", "edit_metadata", "hint",
    "import_jsonl", "index_corpus", "open_index", "rebuild", "recover", "remove", "swap_index", "transaction",
]
