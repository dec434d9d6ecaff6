#!/usr/bin/env bash
# The main job of `make demo`: a devnet is up; show what each node is doing, then
# make it work: a file added on one node is found and fetched by another, and a
# signed gossip message crosses the network.
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

# The real work: node0 publishes a file; the last node finds who provides it in the
# DHT, fetches it over Bitswap (Noise-encrypted, every block verified) and the bytes
# are compared; a signed gossip message goes from the last node to node0.
last="$DIR/node$((n - 1))"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c $((64 << 20)) /dev/urandom > "$work/file.bin"
echo
echo "== node0: lester add (64 MiB) =="
cid=$("$LESTER" --home "$DIR/node0" add -q "$work/file.bin")
echo "CID $cid"
echo
echo "== node$((n - 1)): lester dht findprovs =="
for ((t = 0; t < 20; t++)); do
  provs=$("$LESTER" --home "$last" dht findprovs "$cid" -n 3 2>/dev/null || true)
  [ -n "$provs" ] && break
  sleep 0.5
done
echo "${provs:-(no provider record yet: Bitswap asks the connected peers anyway)}" | sed 's/^/  /'
echo
echo "== node$((n - 1)): lester get =="
"$LESTER" --home "$last" get "$cid" -o "$work/fetched.bin"
if cmp -s "$work/file.bin" "$work/fetched.bin"; then
  echo "fetched file is identical ($(sha256sum < "$work/fetched.bin" | cut -c1-16)...)"
else
  echo "fetched file DIFFERS" >&2
  exit 1
fi
echo
echo "== gossip: node$((n - 1)) publishes on topic 'demo', node0 receives =="
"$LESTER" --home "$DIR/node0" pubsub sub demo --count 1 > "$work/msg" &
sub=$!
for ((t = 0; t < 20; t++)); do
  sleep 0.5
  "$LESTER" --home "$last" pubsub pub demo "hello from node$((n - 1))" >/dev/null 2>&1 || true
  [ -s "$work/msg" ] && break
done
kill "$sub" 2>/dev/null || true
wait "$sub" 2>/dev/null || true
echo "node0 received: $(cat "$work/msg" 2>/dev/null || echo '(nothing)')"
echo
echo "The nodes keep running. Try:"
echo "  $LESTER --home $DIR/node0 id"
echo "  $LESTER --home $DIR/node1 status --json"
echo "  $LESTER --home $DIR/node2 cat $cid | head -c 64 | od -c | head -2"
echo "  $LESTER --home $DIR/node1 dag export $cid -o /tmp/demo.car   # a CAR for kubo/helia"
echo "  curl -sI http://\$(cut -d/ -f3 $DIR/node0/api):\$(cut -d/ -f5 $DIR/node0/api)/ipfs/$cid"
echo "  curl -s http://\$(cut -d/ -f3 $DIR/node0/api):\$(cut -d/ -f5 $DIR/node0/api)/metrics"
echo "Stop them with: make demo-down   (or: $LESTER devnet down --dir $DIR)"
