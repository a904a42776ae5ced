#!/usr/bin/env bash
# Throughput and tail latency of the line echo server (issue 16), on 127.0.0.1 only:
# aloop on a Runtime of 1 and 2 loops (2 also pinned to a CPU each) against tokio
# multi_thread(2) and current_thread,
# loaded by `loadgen` (src/loadgen/: aloop's own generator, in a process of its own).
#
#   1. peak: `loadgen run --closed` (each of 50 connections sends its next 64 B line
#      when the reply is in), round trips/s;
#   2. fixed rate: `loadgen run --rate R` (open loop: every request sent at its due
#      time whatever the replies do, latency counted from that due time), R = half the
#      lower of aloop-2's and tokio-mt2's peak medians (issue 16's rate) and a quarter
#      of it, unless --rate is given: p50/p99/p99.9/max. A quarter too, because on 2
#      cores shared by server and generator half the closed-loop peak is not half load:
#      an open loop batches less, so each request costs both sides more CPU.
# Beside each figure, the server's CPU per request: its threads' time on CPU
# (/proc/<pid>/task/*/schedstat, ns, as servers.sh measures it) over the load ÷ replies.
#
#   benches/latency.sh                 3 runs per cell, servers interleaved (the order
#                                      rotates each run) → benches/results/latency.{md,jsonl}
#   benches/latency.sh --quick         1 run, short loads → benches/results/latency-quick.*
#   benches/latency.sh --runs 5 --rate 20000
#   LATENCY_RT=1 benches/latency.sh    server and generator in the real-time class
#                                      (`chrt -f 10`, root): other work on a shared machine
#                                      no longer preempts them (see below);
#                                      → benches/results/latency-rt.*
#   LATENCY_THREADS=2 ...              generator loops (default 1)
#
# Why real time: on a shared machine the other processes' time slices show up as
# milliseconds of latency at p99 (the generator's own send lag says so), whatever
# server runs. `nice` does not help across sessions where the kernel groups processes
# by session (sched_autogroup_enabled=1); SCHED_FIFO does. The kernel's RT throttle
# (sched_rt_runtime_us, 95 %) still leaves the others a share, and everything ends with
# the run.
#
# About 10 minutes with 3 runs. Every server exits by itself after 600 s at most (and is
# killed at the end of its cell); every load is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
name=latency
peak_secs=6
open_secs=12
warmup=2
rate=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=1; name=latency-quick; peak_secs=3; open_secs=4; warmup=1 ;;
    --runs) runs="${2:?--runs needs a number}"; shift ;;
    --rate) rate="${2:?--rate needs a number}"; shift ;;
    *) echo "usage: $0 [--quick] [--runs N] [--rate R]" >&2; exit 2 ;;
  esac
  shift
done
conns=50
size=64
threads="${LATENCY_THREADS:-1}"
sched=()
if [ "${LATENCY_RT:-}" = 1 ]; then sched=(chrt -f 10) name="$name-rt"; fi

# label:loadgen serve arguments
# aloop-2p: the 2 loops pinned to a CPU each (Runtime::new_pinned).
servers=("aloop-1:aloop --loops 1" "aloop-2:aloop --loops 2" "aloop-2p:aloop --loops 2 --pin"
  "tokio-mt2:tokio-mt --loops 2" "tokio-ct:tokio-ct")

revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- crates benches/src/loadgen 2>/dev/null)" ]; then
  revision="$revision + uncommitted changes"
fi
load_before_build="$(cat /proc/loadavg)"
cargo build --release -p aloop-benches --bin loadgen
out=benches/results
mkdir -p "$out"
raw="$out/$name.jsonl"
: >"$raw"
tmp="$(mktemp -d)"
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# A copy: a rebuild in the same target dir during the run must not change what is measured.
bin="$tmp/loadgen"
cp "${CARGO_TARGET_DIR:-target}/release/loadgen" "$bin"
start_load="$(cat /proc/loadavg)"
echo "load average at start: $start_load" >&2
started=$SECONDS

# Time on CPU of process $1's threads, in ns (empty without schedstat), as servers.sh.
cpu_ns() { cat "/proc/$1/task/"*/schedstat 2>/dev/null | awk '{ s += $1 } END { if (NR) printf "%.0f", s }'; }

# Starts `loadgen serve $@`; sets server_pid and port.
start_server() {
  : >"$tmp/port"
  port=
  "${sched[@]}" "$bin" serve "$@" --secs 600 >"$tmp/port" 2>"$tmp/server.err" &
  server_pid=$!
  for _ in $(seq 100); do
    port="$(sed -n 's/^port \([0-9]*\)$/\1/p' "$tmp/port")"
    if [ -n "$port" ]; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "server $* did not start:" >&2
  cat "$tmp/server.err" >&2
  stop_server
  return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

# One cell once: server $1 (label:args), then `loadgen run` with the rest; appends a
# line to $raw.
run_cell() {
  local label="${1%%:*}" args="${1#*:}" run="$2" ok=true ns0 ns1 line secs
  shift 2
  # shellcheck disable=SC2086 # args is a word list
  start_server $args || return 1
  ns0="$(cpu_ns "$server_pid")"
  if [ "$1" = --closed ]; then secs=$peak_secs; else secs=$open_secs; fi
  if ! line="$(timeout $((secs + 30)) "${sched[@]}" "$bin" run --port "$port" "$@" \
    --conns "$conns" --size "$size" --threads "$threads" --secs "$secs" --warmup "$warmup" \
    --label "$label")"; then
    ok=false
  fi
  ns1="$(cpu_ns "$server_pid")"
  stop_server
  if [ -z "$line" ]; then
    echo "cell $label $*: no result" >&2
    return 1
  fi
  local ns=null
  if [ -n "$ns0" ] && [ -n "$ns1" ]; then ns=$((ns1 - ns0)); fi
  echo "${line%\}},\"run\":$run,\"server_cpu_ns\":$ns,\"loadavg_1m\":$(cut -d' ' -f1 /proc/loadavg),\"ok\":$ok}" >>"$raw"
  echo "  $label $* run $run: $(sed -n 's/.*"rate":\([0-9.]*\).*"p99_us":\([0-9.]*\).*/\1 req\/s, p99 \2 µs/p' <<<"$line")" >&2
  $ok
}

# Every server once per run, in an order that rotates from run to run.
each_run() {
  local run i n=${#servers[@]}
  for ((run = 1; run <= runs; run++)); do
    for ((i = 0; i < n; i++)); do
      run_cell "${servers[$(((i + run - 1) % n))]}" "$run" "$@" || failed=1
    done
    echo "run $run/$runs of $1 done ($((SECONDS - started)) s)" >&2
  done
}

# Median closed-loop rate of label $1 in $raw.
peak_median() {
  grep "\"label\":\"$1\"" "$raw" | grep '"mode":"closed"' |
    sed -n 's/.*"rate":\([0-9.]*\).*/\1/p' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

failed=0
each_run --closed
if [ -z "$rate" ]; then
  a="$(peak_median aloop-2)" t="$(peak_median tokio-mt2)"
  if [ -z "$a" ] || [ -z "$t" ]; then
    echo "no peak for aloop-2 or tokio-mt2: give --rate" >&2
    exit 1
  fi
  rates="$(awk -v a="$a" -v t="$t" 'BEGIN { m = a < t ? a : t; printf "%.0f %.0f", m / 2, m / 4 }')"
else
  rates="$rate"
fi
for rate in $rates; do
  echo "fixed rate: $rate requests/s" >&2
  each_run --rate "$rate"
done

{
  echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
  echo "revision: $revision"
  echo "load average: before build $load_before_build; start $start_load; end $(cat /proc/loadavg)"
  echo "generator: loadgen on aloop, $threads loop(s), $conns connections, $size B lines, in its own process on the same cores as the server${sched:+; server and generator in SCHED_FIFO (${sched[*]})}"
  echo "runs per cell: $runs (medians, min–max); peak ${peak_secs}s, fixed rate ${open_secs}s, the first ${warmup}s of each not counted; $((SECONDS - started)) s"
  "$bin" report "$raw"
} | tee "$out/$name.md"
echo "wrote $out/$name.md, $raw" >&2
exit "$failed"
