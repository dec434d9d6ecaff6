#!/usr/bin/env bash
# The main job of `make demo`: a devnet is up; show what each node is doing.
# Usage: scripts/demo.sh <lester binary> <devnet dir>
set -euo pipefail
LESTER=$1
DIR=$2
n=$(ls -d "$DIR"/node* 2>/dev/null | wc -l)
echo
echo "== $n Lester nodes on loopback (homes in $DIR) =="
"$LESTER" devnet status --dir "$DIR"

# Nodes join through node0, then learn of each other (/lester/peers/1.0.0): wait up
# to 20 s for every node to see all the others.
peers_of() { "$LESTER" --home "$1" --json swarm peers 2>/dev/null | grep -c '"peer":' || true; }
for ((t = 0; t < 40; t++)); do
  full=1
  for ((i = 0; i < n; i++)); do
    [ "$(peers_of "$DIR/node$i")" -ge $((n - 1)) ] || { full=0; break; }
  done
  [ $full -eq 1 ] && break
  sleep 0.5
done
for ((i = 0; i < n; i++)); do
  home="$DIR/node$i"
  echo
  echo "== node$i =="
  "$LESTER" --home "$home" status
  if "$LESTER" --home "$home" swarm peers >/dev/null 2>&1; then
    echo "connected peers (peer ID, state, trust, direction, latency, agent, address):"
    "$LESTER" --home "$home" swarm peers | sed 's/^/  /'
  fi
done
echo
echo "The nodes keep running. Try:"
echo "  $LESTER --home $DIR/node0 id"
echo "  $LESTER --home $DIR/node1 status --json"
echo "  curl -s http://\$(cut -d/ -f3 $DIR/node0/api):\$(cut -d/ -f5 $DIR/node0/api)/metrics"
echo "Stop them with: make demo-down   (or: $LESTER devnet down --dir $DIR)"
