#!/usr/bin/env bash
# bench.sh — Lester's benchmarks beside the anchors a user would compare them with
# (ANCHORS.md), reported as ratios; docs/PERFORMANCE.md records the results.
#
#   scripts/bench.sh BUILD_DIR        `make bench` runs: scripts/bench.sh build/release
#
# Environment: RUNS (default 3) runs of every measurement, medians reported;
# BENCH_SECONDS (default 2) seconds per measurement inside each bench binary;
# BENCH_ONLY="crypto sha256_openssl" runs just those benches.
# Rates are per CPU second (bench_crypto and `openssl speed` alike: user CPU time), which
# a busy shared machine distorts less than wall-clock rates.
#
# To add a bench: write a function bench_<name> that prints `name key=value ...` lines
# and add <name> to BENCHES. Helpers: run_median, field_median, openssl_rate.
set -euo pipefail

BUILD=${1:?usage: scripts/bench.sh BUILD_DIR}
RUNS=${RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-2}
BENCHES=(crypto sha256_openssl chacha20poly1305_ceiling swarm bitswap)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Median of the numbers on stdin, one per line.
median() {
  sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'
}

# Median over the lines of FILE that start with NAME of the value of KEY=VALUE (units
# such as /s or GB/s are stripped).
field_median() {
  local file=$1 name=$2 key=$3
  awk -v n="$name" -v k="$key" '$1 == n {
      for (i = 2; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == k) { v = kv[2]; gsub(/[^0-9.]/, "", v); print v }
      }
    }' "$file" | median
}

# Run COMMAND... RUNS times, appending its output to FILE.
run_median() {
  local file=$1
  shift
  : >"$file"
  for _ in $(seq "$RUNS"); do "$@" >>"$file"; done
}

# Bytes per second of one `openssl speed` run of cipher/digest ALG on BYTES-byte blocks.
# OpenSSL 3.0 takes -bytes; older builds fall back to the 16384-byte column.
openssl_rate() {
  local alg=$1 bytes=$2 rate
  rate=$(openssl speed -mr -seconds 3 -bytes "$bytes" -evp "$alg" 2>/dev/null |
    awk -F: '/^\+F:/ {print $4; exit}')
  if [ -z "$rate" ] && [ "$bytes" = 16384 ]; then
    rate=$(openssl speed -mr -seconds 3 -evp "$alg" 2>/dev/null |
      awk -F: '/^\+F:/ {print $9; exit}')
  fi
  echo "${rate:?openssl speed -evp $alg gave no figure}"
}

bench_crypto() {
  local out=$TMP/crypto m
  run_median "$out" "$BUILD/bench_crypto" "$BENCH_SECONDS"
  for m in ed25519_verify ed25519_sign; do
    printf '%s lester=%.0f/s libsodium=%.0f/s ratio=%.2f\n' "$m" \
      "$(field_median "$out" "$m" lester)" "$(field_median "$out" "$m" libsodium)" \
      "$(field_median "$out" "$m" ratio)"
  done
  printf 'sha256_256k lester=%.2fGB/s evp=%.2fGB/s ratio=%.2f\n' \
    "$(field_median "$out" sha256_256k lester)" \
    "$(field_median "$out" sha256_256k evp)" "$(field_median "$out" sha256_256k ratio)"
}

# Lester's sha256() against `openssl speed`: each run measures one right after the
# other so that both see the same load; the ratio is the median of the per-run ratios.
bench_sha256_openssl() {
  local out=$TMP/sha256 lester openssl
  : >"$out"
  for _ in $(seq "$RUNS"); do
    lester=$("$BUILD/bench_crypto" "$BENCH_SECONDS" sha256 |
      awk '$1 == "sha256_256k" {split($2, kv, "="); v = kv[2]; gsub(/[^0-9.]/, "", v); print v}')
    openssl=$(openssl_rate sha256 262144)
    echo "$lester $openssl" >>"$out"
  done
  printf 'sha256 ratio lester/openssl=%.2f lester=%.2fGB/s openssl=%.2fGB/s\n' \
    "$(awk '{print $1 / ($2 / 1e9)}' "$out" | median)" \
    "$(awk '{print $1}' "$out" | median)" "$(awk '{print $2 / 1e9}' "$out" | median)"
}

# The transport bench's ceiling: OpenSSL's ChaCha20-Poly1305 on one core.
bench_chacha20poly1305_ceiling() {
  local gbs
  gbs=$(for _ in $(seq "$RUNS"); do openssl_rate chacha20-poly1305 16384; done | median |
    awk '{printf "%.2f", $1 / 1e9}')
  echo "chacha20poly1305_ceiling openssl=${gbs}GB/s bytes=16384"
}

# The libp2p host (bench/bench_swarm.c): one Noise+yamux stream on loopback against
# plain TCP and EVP ChaCha20-Poly1305 measured in the same run; handshakes/s; idle RSS.
# SWARM_MIB (default 2048) bytes per bulk run.
bench_swarm() {
  local out=$TMP/swarm
  (ulimit -n 8192 2>/dev/null || true
   run_median "$out" "$BUILD/bench_swarm" "${SWARM_MIB:-2048}")
  local bulk evp tcp core evp_cpu
  bulk=$(field_median "$out" swarm_bulk MBps)
  evp=$(field_median "$out" evp_chacha20poly1305 MBps)
  tcp=$(field_median "$out" tcp_loopback MBps)
  core=$(field_median "$out" swarm_bulk per_core_MBps)
  evp_cpu=$(field_median "$out" evp_chacha20poly1305 cpu_MBps)
  printf 'swarm_bulk MBps=%s evp=%s tcp=%s ratio_evp=%.2f ratio_tcp=%.2f sender_cpu_s=%s receiver_cpu_s=%s\n' \
    "$bulk" "$evp" "$tcp" "$(echo "$bulk $evp" | awk '{print $1 / $2}')" \
    "$(echo "$bulk $tcp" | awk '{print $1 / $2}')" \
    "$(field_median "$out" swarm_bulk sender_cpu_s)" "$(field_median "$out" swarm_bulk receiver_cpu_s)"
  # the same per CPU second: each end on a core of its own, against EVP per CPU second
  printf 'swarm_bulk_per_core MBps=%s evp_cpu=%s ratio_evp=%.2f\n' "$core" "$evp_cpu" \
    "$(echo "$core $evp_cpu" | awk '{print $1 / $2}')"
  echo "swarm_handshakes per_s=$(field_median "$out" swarm_handshakes per_s)"
  echo "swarm_idle_rss KiB_per_conn_end=$(field_median "$out" swarm_idle_rss KiB_per_conn_end)"
}

# GossipSub on 50 real daemons (tests/cluster/test_pubsub_cluster.py against this
# build): 1,000 signed messages from random publishers, propagation p50/p99 from the
# publish call to each subscriber's API stream. Not in BENCHES by default (it starts
# 50 processes): BENCH_ONLY=pubsub_cluster.
bench_pubsub_cluster() {
  local line
  line=$(LESTER_BIN="$BUILD/lester" LESTER_TEST_TMP="$TMP" \
    python3 "$(dirname "$0")/../tests/cluster/test_pubsub_cluster.py" | grep 'propagation p50')
  echo "pubsub_cluster $(echo "$line" | sed -E 's/.*p50 ([0-9.]+) ms, p99 ([0-9.]+) ms.*/p50_ms=\1 p99_ms=\2/')"
}

# Received blocks taken in by the Bitswap engine (issue 6; bench/bench_bitswap.c):
# messages of four 256 KiB blocks through bitswap_input(), hashes checked on the calling
# thread alone and with the verify helpers (lib/fanout) beside it; wall-clock GB/s.
bench_bitswap() {
  local out=$TMP/bitswap
  run_median "$out" "$BUILD/bench_bitswap" "${BITSWAP_MIB:-128}"
  printf 'bitswap_recv inline=%sGB/s helpers=%sGB/s ratio=%s\n' \
    "$(field_median "$out" bitswap_recv helpers0)" \
    "$(awk '$1 == "bitswap_recv" {for (i = 2; i <= NF; i++) if ($i ~ /^helpers[1-9]/) {split($i, kv, "="); v = kv[2]; gsub(/[^0-9.]/, "", v); print v}}' "$out" | median)" \
    "$(field_median "$out" bitswap_recv ratio)"
}

# Content (issue 6; scripts/bench_content.py): a CONTENT_MIB (1024) file between two
# daemons over loopback, timed from `lester get` to the verified file, against aria2 ->
# aria2 (local opentracker, mktorrent) and helia -> helia (HELIA_MIB, 256) in the same
# run; two seeders -> one downloader; `lester add` against `openssl dgst -sha256`; the
# downloading daemon's peak RSS. One run (it moves several GiB): BENCH_ONLY=content.
bench_content() {
  python3 "$(dirname "$0")/bench_content.py" "$BUILD" "$TMP"
}

# Signed gossip (issue 5; bench/bench_pubsub.c): the Ed25519 verify ceiling of every
# core (libsodium, one thread each), then the gossipsub router with the node's pipeline
# (rate limiter, batched signature checks on lib/workpool, delivery and forwarding to
# the mesh) on pre-signed RPCs, in the same run; beside js gossipsub -> js gossipsub
# (tests/interop/bench_js_gossip.py, PUBSUB_JS_MSGS messages, default 5000; skipped
# without node_modules). Goal: ratio >= 0.70. BENCH_ONLY=pubsub.
bench_pubsub() {
  local out=$TMP/pubsub js=$TMP/pubsub_js rc=0 jsrate=n/a
  run_median "$out" "$BUILD/bench_pubsub" "$BENCH_SECONDS" "${PUBSUB_DATA_BYTES:-256}"
  : >"$js"
  for _ in $(seq "$RUNS"); do
    python3 "$(dirname "$0")/../tests/interop/bench_js_gossip.py" "${PUBSUB_JS_MSGS:-5000}" \
      "${PUBSUB_DATA_BYTES:-256}" >>"$js" || rc=$?
  done
  [ "$rc" = 0 ] && jsrate="$(field_median "$js" pubsub_js_gossip js)/s"
  printf 'pubsub_validate_forward lester=%s/s ceiling=%s/s ratio=%s js=%s forwarded_MBps=%s\n' \
    "$(field_median "$out" pubsub_validate_forward lester)" \
    "$(field_median "$out" pubsub_validate_forward ceiling)" \
    "$(field_median "$out" pubsub_validate_forward ratio)" "$jsrate" \
    "$(field_median "$out" pubsub_validate_forward forwarded_MBps)"
}

main() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) ${cpu:-unknown cpu}, $(nproc) cores," \
    "$(openssl version | cut -d' ' -f1-2), medians of $RUNS runs"
  for b in ${BENCH_ONLY:-${BENCHES[@]}}; do
    "bench_$b"
  done
}

main
