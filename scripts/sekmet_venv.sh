#!/usr/bin/env bash
# Install sekmet-fhir (the FHIR R4 server of the integration tests) into its own virtualenv.
#
# Usage: scripts/sekmet_venv.sh            (venv at $SEKMET_VENV, default <repo>/.sekmet-venv)
# Idempotent: does nothing when the pinned version is already there. Needs python3 >= 3.11.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SEKMET_VENV:-$ROOT/.sekmet-venv}"
PYTHON="${PYTHON:-python3}"
VERSION="0.1.1"
CONSTRAINTS="$ROOT/tests/fhir_fallback/sekmet-constraints.txt"

installed() {
    [ -x "$VENV/bin/sekmet" ] && "$VENV/bin/python" - "$VERSION" <<'PY' 2>/dev/null
import importlib.metadata, sys
sys.exit(importlib.metadata.version("sekmet-fhir") != sys.argv[1])
PY
}

if installed; then
    echo "sekmet-fhir $VERSION already in $VENV"
    exit 0
fi

"$PYTHON" -m venv "$VENV"
printf '*\n' > "$VENV/.gitignore"   # keep the venv out of git whatever the root .gitignore says
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$CONSTRAINTS" "sekmet-fhir==$VERSION"
installed || { echo "sekmet-fhir $VERSION did not install into $VENV" >&2; exit 1; }
echo "sekmet-fhir $VERSION installed in $VENV ($("$VENV/bin/sekmet" --version))"
