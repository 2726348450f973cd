"""Browser tests (a package, so that this folder's conftest.py is `e2e.conftest` and never shadows
tests/conftest.py for `from conftest import shared_path`)."""
