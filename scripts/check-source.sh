#!/usr/bin/env bash
# Bans calls that have no size bound or no error path (STYLE.md, as curl does).
set -uo pipefail
cd "$(dirname "$0")/.."
pattern='\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|rand|srand)\s*\('
hits=$(grep -rnE "$pattern" src tests/unit tests/fuzz bench --include='*.[ch]' | grep -v '/\* allow:' || true)
if [ -n "$hits" ]; then
  echo "banned calls (use snprintf, strtol, randombytes, ...):"; echo "$hits"; exit 1
fi
echo "source: ok"
