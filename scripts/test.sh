#!/usr/bin/env bash
# Install and run every check: ruff, then the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check indexer app tests scripts
# The layers of indexer/ (pyproject.toml [tool.importlinter]): imports point down the pipeline, no cycles.
.venv/bin/lint-imports --no-cache
# Browser tests (tests/e2e) use Debian's chromium: install it where we can (root with apt-get), only
# when missing. Elsewhere the e2e tests skip (and fail under CI=true).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) \
      || { echo "chromium を入れられませんでした" >&2; [ "${CI:-}" != true ] || exit 1; }
  else
    echo "chromium がありません（root で apt-get install chromium fonts-noto-cjk）。ブラウザ試験は飛ばします。" >&2
  fi
fi
# pytest exits 5 when it collected no test: that must fail, so it is not masked.
.venv/bin/python -m pytest "$@"
