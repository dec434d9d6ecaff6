#!/usr/bin/env bash
# Enforces the include direction between layers (docs/ARCHITECTURE.md):
#   lib(1) -> net(2) -> {dht, pubsub, content}(3) -> chain(4) -> app(5) -> node(6) -> {cli, tui}(7)
# A file may include project headers only from its own rank or lower.
set -uo pipefail
cd "$(dirname "$0")/.."
rank() {
  case "$1" in
    lib) echo 1 ;; net) echo 2 ;; dht|pubsub|content) echo 3 ;; chain) echo 4 ;;
    app) echo 5 ;; node) echo 6 ;; cli|tui) echo 7 ;; *) echo 0 ;;
  esac
}
bad=0
while IFS= read -r f; do
  from=$(echo "$f" | cut -d/ -f2); rf=$(rank "$from")
  while IFS=: read -r line inc; do
    to=${inc%%/*}; rt=$(rank "$to")
    [ "$rt" -eq 0 ] && { echo "$f:$line: include of unknown layer \"$inc\""; bad=1; continue; }
    if [ "$rt" -gt "$rf" ]; then
      echo "$f:$line: $from (rank $rf) may not include $inc ($to, rank $rt)"; bad=1
    fi
  done < <(grep -nE '^\s*#\s*include\s*"' "$f" | sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
done < <(find src -name '*.[ch]' | sort)
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
