#!/usr/bin/env bash
# What `aloop::compat`'s hop costs: tokio-postgres round trips from an aloop task through
# `Compat` (the socket on async-compat's background tokio runtime, a cross-thread wake per
# readiness) against the same client code on a tokio current_thread runtime, same server,
# same run. See src/pg_compat.rs.
#
#   benches/compat.sh            7 runs per runtime, interleaved (aloop, tokio-ct, then
#                                tokio-ct, aloop, ...); medians
#                                → benches/results/compat.{md,json,jsonl}
#   benches/compat.sh --quick    smoke test: 1 run, sizes ÷ 10 → benches/results/compat-quick.*
#   benches/compat.sh --runs 9
#
# The server: ALOOP_PG (a libpq connection string) if set, else `.ci/postgres` (which, as
# root on Debian, installs and starts PostgreSQL and prints its connection string). The
# default server is a local one: connection set-up is not timed, the round trips are.
# About 30 s on 2 cores after the build (7 runs; a run is 20,000 sequential round trips
# and 50 tasks × 1,000 queries per runtime).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=7
size=()
name=compat
case "${1:-}" in
  "") ;;
  --quick) runs=1; size=(--quick); name=compat-quick ;;
  --runs) runs="${2:?--runs needs a number}" ;;
  *) echo "usage: $0 [--quick | --runs N]" >&2; exit 2 ;;
esac

if [ -z "${ALOOP_PG:-}" ]; then
  if ! ALOOP_PG="$(bash .ci/postgres)"; then
    echo "skipped: no PostgreSQL (set ALOOP_PG, or run as root on Debian so .ci/postgres can start one)" >&2
    exit 0
  fi
fi
export ALOOP_PG

revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- crates benches/src 2>/dev/null)" ]; then
  revision="$revision + uncommitted changes"
fi
load_before_build="$(cat /proc/loadavg)"
cargo build --release -p aloop-benches --bin cell
out=benches/results
mkdir -p "$out"
raw="$out/$name.jsonl"
: >"$raw"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# A copy, so a rebuild meanwhile does not change what is measured.
bin="$tmp/cell"
cp "${CARGO_TARGET_DIR:-target}/release/cell" "$bin"
server="$(PGCONNECT_TIMEOUT=5 psql "$ALOOP_PG" -tAc 'SHOW server_version' 2>/dev/null || echo unknown)"
start_load="$(cat /proc/loadavg)"
started=$SECONDS
echo "load average at start: $start_load" >&2

failed=0
for ((run = 1; run <= runs; run++)); do
  # Alternate which runtime goes first, so neither always gets the warmer server.
  if ((run % 2)); then order=(aloop tokio-ct); else order=(tokio-ct aloop); fi
  for r in "${order[@]}"; do
    if ! timeout 300 "$bin" "$r" pg "${size[@]}" >>"$raw"; then
      echo "cell $r pg (run $run) failed" >&2
      failed=1
    fi
  done
  echo "run $run/$runs done" >&2
done

{
  echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
  echo "revision: $revision; PostgreSQL $server (client and server on this machine, over 127.0.0.1)"
  echo "load average: before build $load_before_build; start $start_load; end $(cat /proc/loadavg)"
  echo "runs per runtime: $runs, interleaved${size:+, sizes ÷ 10 (--quick)}; $((SECONDS - started)) s"
  echo
} >"$out/$name.md"
"$bin" compat-report "$raw" "$out/$name.json" >>"$out/$name.md" || failed=1
cat "$out/$name.md"
echo "wrote $out/$name.md, $out/$name.json, $raw" >&2
exit "$failed"
