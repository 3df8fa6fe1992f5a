#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
# Used by the README's test command and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'

.venv/bin/ruff check .
.venv/bin/pytest "$@"
