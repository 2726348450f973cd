"""Errors the user sees: each carries a clear Japanese message."""


class KbError(Exception):
    """Base class: `str(err)` is a Japanese message meant for the user."""


class IngestError(KbError):
    """A file could not be read; nothing was written."""


class QueryError(KbError):
    """A query or filter value is invalid."""


class IndexError_(KbError):
    """The index is missing, busy or of another version."""
