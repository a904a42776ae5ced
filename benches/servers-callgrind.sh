#!/usr/bin/env bash
# User-space instructions per request of the servers of servers.sh, which the
# machine's noise does not move: each server runs under `valgrind --tool=callgrind`
# while a load generator loads it (HTTP: `wrk -t1 -c10 -d4s`; RESP: `redis-benchmark
# -c 50 -n 100000 -t set,get -P 16`); Ir (every instruction the server's process ran,
# start-up included: a few million, about 1 % at these counts) ÷ the requests done.
# The kernel's share (most of a small request) is not in it: servers.sh's CPU time is
# the whole cost.
#
#   benches/servers-callgrind.sh                        every HTTP server below
#   benches/servers-callgrind.sh aloop tokio-ct         some of them
#   benches/servers-callgrind.sh resp                   every RESP server below, at -P 16
#   benches/servers-callgrind.sh resp aloop-into tokio-ct
#   RESP_N=20000 benches/servers-callgrind.sh resp ...   requests per test (100000)
#
# The marginal count, start-up and connection set-up cancelled out: run RESP twice,
# RESP_N=20000 and 100000, and divide the difference in Ir by the difference in
# requests (docs/benchmarks.md, "Again at 1ba80fd").
# HTTP servers: aloop aloop-into aloop-protocol tokio-ct hyper-aloop hyper-tokio (cells), aloop-example
# (the real examples/http_server binary). RESP servers: aloop aloop-into aloop-batched
# aloop-chunks aloop-protocol tokio-ct tokio-fields tokio-plain. Needs valgrind and wrk (HTTP) or redis-benchmark (RESP).
set -euo pipefail
cd "$(dirname "$0")/.."
proto=http load_tool=wrk
resp_n="${RESP_N:-100000}"
if [ "${1:-}" = resp ]; then
  proto=resp load_tool=redis-benchmark
  shift
fi
for tool in valgrind "$load_tool" callgrind_annotate; do
  if ! command -v "$tool" >/dev/null; then
    echo "skipped: $tool not found (apt-get install -y valgrind wrk redis-tools)" >&2
    exit 0
  fi
done
servers=("$@")
if [ ${#servers[@]} -eq 0 ]; then
  if [ "$proto" = resp ]; then
    servers=(aloop aloop-into aloop-batched aloop-chunks aloop-protocol tokio-ct tokio-fields tokio-plain)
  else
    servers=(aloop aloop-into aloop-protocol aloop-example tokio-ct hyper-aloop hyper-tokio)
  fi
fi
cargo build --release -p aloop-benches
cargo build --release -p aloop-examples --example http_server
target="${CARGO_TARGET_DIR:-target}/release"
tmp="$(mktemp -d)"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
echo "load average: $(cat /proc/loadavg)"
for s in "${servers[@]}"; do
  if [ "$s" = aloop-example ]; then
    cmd=("$target/examples/http_server" 0)
  else
    cmd=("$target/cell" serve "$proto" "$s" --secs 300)
  fi
  : >"$tmp/port" # here: the background child's redirection may come too late
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$s" "${cmd[@]}" >"$tmp/port" 2>"$tmp/err" &
  pid=$!
  port=
  for _ in $(seq 200); do
    port="$(sed -n -e 's/^port \([0-9]*\)$/\1/p' -e 's#^listening on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$tmp/port")"
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "$s did not start" >&2; cat "$tmp/err" >&2; exit 1; }
  if [ "$proto" = resp ]; then
    timeout 300 redis-benchmark -p "$port" -c 50 -n "$resp_n" -t set,get -P 16 -q >"$tmp/load"
    requests=$(($(tr '\r' '\n' <"$tmp/load" | grep -c ' requests per second') * resp_n))
  else
    timeout 60 wrk -t1 -c10 -d4s "http://127.0.0.1:$port/" >"$tmp/load"
    requests="$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$tmp/load")"
    if grep -qE 'Non-2xx|Socket errors' "$tmp/load"; then echo "$s: wrk saw errors" >&2; cat "$tmp/load" >&2; fi
  fi
  # SIGTERM: the example stops gracefully, the cells die; callgrind writes its file.
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  pid=
  ir="$(callgrind_annotate "$tmp/cg.$s" 2>/dev/null | sed -n 's/^\([0-9,]*\) (100.0%).*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
  echo "$s: $requests requests, $ir Ir, $((ir / requests)) Ir/request"
done
