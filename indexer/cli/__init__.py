"""The `kb` command line."""

from indexer.cli.commands import main, run

__all__ = ["main", "run"]
