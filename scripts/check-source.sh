#!/usr/bin/env bash
# Bans calls that have no size bound or no error path (STYLE.md, as curl does).
set -uo pipefail
cd "$(dirname "$0")/.."
pattern='\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|rand|srand)\s*\('
hits=$(grep -rnE "$pattern" src tests/unit tests/fuzz bench --include='*.[ch]' | grep -v '/\* allow:' || true)
if [ -n "$hits" ]; then
  echo "banned calls (use snprintf, strtol, randombytes, ...):"; echo "$hits"; exit 1
fi
# Size budgets (STYLE.md): functions fit on a screen, files stay small.
long=$(for f in $(find src -name '*.c'); do
  awk -v F="$f" '/^\{/{s=NR} /^\}/{ if (s) { if (NR-s > 80) print F":"s": function of "NR-s" lines (budget 80)"; s=0 } }' "$f"
done)
big=$(find src -name '*.[ch]' -exec wc -l {} + | awk '$2 != "total" && $1 > 1000 {print $2": "$1" lines (budget 1000)"}')
if [ -n "$long$big" ]; then
  echo "over the size budget (split by responsibility):"; printf '%s\n' "$long" "$big"; exit 1
fi
echo "source: ok"
