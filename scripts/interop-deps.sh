#!/usr/bin/env bash
# Installs the pinned third-party interop peers (tests/interop/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/../tests/interop"
[ -f package.json ] || exit 0
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
