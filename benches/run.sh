#!/usr/bin/env bash
# The benchmark suite: aloop side by side with tokio (current_thread, multi_thread) and
# smol, one runtime × workload cell per process (see src/main.rs).
#
#   benches/run.sh            full run: every cell 3 times, medians
#                             → benches/results/latest.{md,json,jsonl}
#   benches/run.sh --quick    smoke test: 1 run, sizes ÷ 10 → benches/results/quick.*
#   benches/run.sh --runs 5   full sizes, 5 runs per cell
#   BENCH_ONLY="tls-echo" benches/run.sh   only these workloads (and their strace
#                             counts) → benches/results/latest-tls-echo.* (quick-...)
#
# Builds once in release (CARGO_TARGET_DIR if set, else target/), then runs the cells
# interleaved — run 1 of every cell, then run 2, ... — so a burst of outside load hits
# all runtimes alike instead of one cell's three runs. Echo also runs once per runtime
# under `strace -c -f` (at a fifth of its size: the counts are per round trip) for
# syscalls per round trip, and aloop's echo-sockets once more, and tls-echo for aloop
# and tokio-ct. A full run takes a few minutes on 2 cores.
#
# "tls-echo" is echo over TLS 1.3 (16 KiB messages): aloop's `tls` feature against
# tokio + tokio-rustls, both on rustls with ring (smol is not run: no TLS of its own).
#
# "echo" is aloop's streams (start_server / open_connection); "echo-sockets" is aloop's
# raw reactor sockets, run for aloop only: tokio's and smol's echo is their sockets
# already, and the report shows it on that row too.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
size=()
name=latest
strace_scale=0.2
case "${1:-}" in
  "") ;;
  --quick) runs=1; size=(--quick); name=quick; strace_scale=0.05 ;;
  --runs) runs="${2:?--runs needs a number}" ;;
  *) echo "usage: $0 [--quick | --runs N]" >&2; exit 2 ;;
esac

# What is measured: the commit, and whether the runtime crates had uncommitted edits.
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- crates 2>/dev/null)" ]; then
  revision="$revision + uncommitted changes in crates/"
fi
# The 1-minute load before our own build adds to it: the figure to judge quiet by.
load_before_build="$(cat /proc/loadavg)"

runtimes=(aloop tokio-ct tokio-mt smol)
workloads=(spawn spawn-warm spawn-eager spawn-await spawn-await-eager callbacks yield timers timer-tasks timeout timeout-wakes echo echo-vec echo-sockets tls-echo read-fields queue lock lock-uncontended blocking idle-mem)
if [ -n "${BENCH_ONLY:-}" ]; then
  read -ra workloads <<<"$BENCH_ONLY"
  # A partial run does not overwrite the whole run's results.
  name="$name-${BENCH_ONLY// /-}"
fi

cargo build --release -p aloop-benches
bin="${CARGO_TARGET_DIR:-target}/release/cell"
out=benches/results
mkdir -p "$out"
raw="$out/$name.jsonl"
: >"$raw"
# For the report's JSON (see src/report.rs).
export BENCH_LOAD_START BENCH_LOAD_BEFORE_BUILD="$load_before_build" BENCH_REVISION="$revision"
BENCH_LOAD_START="$(cat /proc/loadavg)"
echo "load average at start: $BENCH_LOAD_START" >&2

failed=0
for ((run = 1; run <= runs; run++)); do
  for w in "${workloads[@]}"; do
    for r in "${runtimes[@]}"; do
      if [[ "$w" = echo-sockets || "$w" = echo-vec ]] && [ "$r" != aloop ]; then continue; fi
      if [ "$w" = tls-echo ] && [ "$r" = smol ]; then continue; fi # no TLS of smol's here
      # A cell that fails its checks still prints its line (checks_passed: false) and
      # exits 1; the report marks it. A hang is cut off.
      if ! timeout 300 "$bin" "$r" "$w" "${size[@]}" >>"$raw"; then
        echo "cell $r $w (run $run) failed" >&2
        failed=1
      fi
    done
  done
  echo "run $run/$runs done" >&2
done

if command -v strace >/dev/null; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  for cell in aloop:echo tokio-ct:echo tokio-mt:echo smol:echo aloop:echo-sockets aloop:tls-echo tokio-ct:tls-echo; do
    r="${cell%%:*}" w="${cell#*:}"
    [[ " ${workloads[*]} " == *" $w "* ]] || continue
    line="$(strace -f -c -o "$tmp/$r-$w.txt" "$bin" "$r" "$w" --scale "$strace_scale")"
    trips="$(sed -n 's/.*"round_trips":\([0-9.e+]*\).*/\1/p' <<<"$line")"
    "$bin" syscalls "$r" "$tmp/$r-$w.txt" "$trips" "$w" >>"$raw"
  done
else
  echo "strace not found: syscalls per echo round trip not measured" >&2
fi

{
  echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
  echo "revision: $revision"
  echo "load average: before build $load_before_build; start $BENCH_LOAD_START; end $(cat /proc/loadavg)"
  echo "runs per cell: $runs (medians)${size:+, sizes ÷ 10 (--quick)}"
  echo
  "$bin" report "$raw" "$out/$name.json"
} | tee "$out/$name.md"
echo "wrote $out/$name.md, $out/$name.json, $raw" >&2
exit "$failed"
