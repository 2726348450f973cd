#!/usr/bin/env bash
# Install, index corpus/ and start the app on http://127.0.0.1:${KB_PORT:-8501}
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/kb index corpus
exec .venv/bin/kb serve --port "${KB_PORT:-8501}"
