#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
# Used by the README's test command and by .ci/run. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {  # install Debian packages only when a command is missing
    local missing=()
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# Browser tests use Debian's Chromium (never a browser a tool downloads itself);
# the HAPI preload script test needs curl; compose validation needs node for dclint.
apt_install chromium:chromium curl:curl node:nodejs npm:npm

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'

# dclint ships the compose-spec JSON Schema; kept out of git under .tools/
[ -x .tools/node_modules/.bin/dclint ] || \
    npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error dclint@3.1.0

# A real FHIR R4 server (sekmet-fhir) in its own virtualenv, for the fallback integration tests
bash scripts/sekmet_venv.sh

# PostgreSQL for the feedback store tests (the machine's own server)
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
# Redis for the shared JWT replay cache tests
if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /tmp --logfile /tmp/redis-ci.log || true
fi

.venv/bin/ruff check .
.venv/bin/pytest "$@"
