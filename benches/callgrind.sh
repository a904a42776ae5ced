#!/usr/bin/env bash
# Instructions per operation, which do not move with the machine's noise: every
# runtime × workload cell (src/main.rs) runs under `valgrind --tool=callgrind` at a base
# size and at a tenth of it, and the report gives the marginal user-space instructions
# per op = (Ir_base − Ir_tenth) ÷ (ops_base − ops_tenth). The difference cancels what
# does not grow with the work (process and runtime start-up, connection set-up).
#
#   benches/callgrind.sh              base = the full sizes (run.sh's), runtimes
#                                     aloop tokio-ct smol → benches/results/callgrind.*
#   benches/callgrind.sh --scale 0.5  base = half the full sizes (and a twentieth)
#   benches/callgrind.sh --mt         tokio-mt too (its idle workers' spinning and
#                                     parking is counted, and depends on scheduling)
#   benches/callgrind.sh --quick      smoke test: base 0.1, → benches/results/callgrind-quick.*
#   BENCH_ONLY="tls-echo" benches/callgrind.sh   only these workloads
#                                     → benches/results/callgrind-tls-echo.*
#
# Not run: `blocking` (a thread pool: valgrind runs one thread at a time, so the count
# depends on how it interleaves them), `idle-mem` (measures memory, not work) and
# `spawn-warm` (the same code path as `spawn` twice; what it shows is page faults).
# Ir counts user-space instructions only: the kernel's share (most of echo) is not in
# it; see docs/benchmarks.md. `tls-echo` (aloop, tokio-ct) runs at a fifth of the sizes.
# About 3 minutes on 2 cores at the default size.
set -euo pipefail
cd "$(dirname "$0")/.."

base=1
name=callgrind
runtimes=(aloop tokio-ct smol)
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) base="${2:?--scale needs a number}"; shift ;;
    --mt) runtimes=(aloop tokio-ct tokio-mt smol) ;;
    --quick) base=0.1; name=callgrind-quick ;;
    *) echo "usage: $0 [--scale X] [--mt] [--quick]" >&2; exit 2 ;;
  esac
  shift
done
tenth="$(awk -v b="$base" 'BEGIN { printf "%g", b / 10 }')"

if ! command -v valgrind >/dev/null; then
  echo "skipped: valgrind not found (apt-get install -y valgrind)" >&2
  exit 0
fi

workloads=(spawn spawn-eager spawn-await spawn-await-eager callbacks yield timers timer-tasks timeout timeout-wakes echo echo-vec echo-sockets tls-echo read-fields queue lock lock-uncontended)
if [ -n "${BENCH_ONLY:-}" ]; then
  read -ra workloads <<<"$BENCH_ONLY"
  # A partial run does not overwrite the whole run's results.
  name="$name-${BENCH_ONLY// /-}"
fi

revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- crates 2>/dev/null)" ]; then
  revision="$revision + uncommitted changes in crates/"
fi

cargo build --release -p aloop-benches
out=benches/results
mkdir -p "$out"
raw="$out/$name.jsonl"
: >"$raw"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# A copy: a rebuild in the same target dir during the run must not change what is measured.
bin="$tmp/cell"
cp "${CARGO_TARGET_DIR:-target}/release/cell" "$bin"
start_load="$(cat /proc/loadavg)"
started=$SECONDS

failed=0
for w in "${workloads[@]}"; do
  for r in "${runtimes[@]}"; do
    # tokio's and smol's echo is their sockets already (see src/echo.rs).
    if [[ "$w" = echo-sockets || "$w" = echo-vec ]] && [ "$r" != aloop ]; then continue; fi
    if [ "$w" = tls-echo ] && [ "$r" = smol ]; then continue; fi # no TLS of smol's here
    sizes=("$base" "$tenth")
    # tls-echo at a fifth of both sizes: ~350 k instructions per round trip (the
    # encryption), so 2,000 round trips give the slope as well in a fifth of the time.
    if [ "$w" = tls-echo ]; then
      sizes=("$(awk -v b="$base" 'BEGIN { printf "%g", b / 5 }')" "$(awk -v b="$base" 'BEGIN { printf "%g", b / 50 }')")
    fi
    for s in "${sizes[@]}"; do
      # The cell's JSON line on stdout; valgrind's summary in its own log file.
      if ! line="$(timeout 600 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --log-file="$tmp/vg.log" "$bin" "$r" "$w" --scale "$s")"; then
        echo "cell $r $w --scale $s failed under callgrind" >&2
        failed=1
      fi
      ir="$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/vg.log")"
      if [ -z "$line" ] || [ -z "$ir" ]; then
        echo "cell $r $w --scale $s: no result (see valgrind's log below)" >&2
        tail -5 "$tmp/vg.log" >&2
        failed=1
        continue
      fi
      # The cell's own line, with the instruction count added.
      echo "${line%\}},\"ir\":$ir}" >>"$raw"
    done
  done
  echo "$w done ($((SECONDS - started)) s)" >&2
done

{
  echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
  echo "revision: $revision"
  echo "valgrind: $(valgrind --version); base scale $base, tenth $tenth (tls-echo: a fifth of both); $((SECONDS - started)) s"
  echo "load average: start $start_load; end $(cat /proc/loadavg)"
  echo
  "$bin" callgrind-report "$raw" "$out/$name.json"
} | tee "$out/$name.md"
echo "wrote $out/$name.md, $out/$name.json, $raw" >&2
exit "$failed"
