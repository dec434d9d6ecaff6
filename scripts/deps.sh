#!/usr/bin/env bash
# The one list of Debian packages Lester needs to build, test, fuzz and bench.
# Installs only what is missing; safe to run again. Used by `make demo`, `make test`
# and .ci/run.
set -euo pipefail

PACKAGES=(
  # build
  gcc make cmake pkg-config git
  # libraries (ARCHITECTURE.md: decisions already taken)
  libsodium-dev libevent-dev libsqlite3-dev libmsgpack-dev libprotobuf-c-dev
  protobuf-c-compiler libjansson-dev libcmocka-dev libssl-dev
  # fuzzing (libFuzzer ships with clang's runtime)
  clang libclang-rt-14-dev
  # tests and benchmarks: cluster harness, API checks, openssl speed
  python3 curl openssl sqlite3 procps
  # interop peers (js-libp2p, helia) run on Node.js
  nodejs npm
  # content benchmark peers (scripts/bench_content.py): aria2 -> aria2 with a local tracker
  aria2 mktorrent opentracker
)

missing=()
for p in "${PACKAGES[@]}"; do
  # nodejs/npm may come from elsewhere (a newer Node is fine): skip when present.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    python3) command -v python3 >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
