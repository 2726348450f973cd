#!/usr/bin/env bash
# Install and run every check: ruff, then the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check indexer app tests scripts
# pytest exits 5 when it collected no test: that must fail, so it is not masked.
.venv/bin/python -m pytest "$@"
