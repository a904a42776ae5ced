#!/usr/bin/env bash
# User-space instructions per request of the HTTP servers of servers.sh, which the
# machine's noise does not move: each server runs under `valgrind --tool=callgrind`
# while `wrk -t1 -c10 -d4s` loads it; Ir (every instruction the server's process ran,
# start-up included: a few million, under 1 % at ~50 k requests) ÷ the requests wrk
# completed. The kernel's share (most of a small request) is not in it: servers.sh's
# CPU time is the whole cost.
#
#   benches/servers-callgrind.sh                   every HTTP server below
#   benches/servers-callgrind.sh aloop tokio-ct    some of them
#
# Servers: aloop tokio-ct hyper-aloop hyper-tokio (cells), aloop-example (the real
# examples/http_server binary). Needs valgrind and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in valgrind wrk callgrind_annotate; do
  if ! command -v "$tool" >/dev/null; then
    echo "skipped: $tool not found (apt-get install -y valgrind wrk)" >&2
    exit 0
  fi
done
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(aloop aloop-example tokio-ct hyper-aloop hyper-tokio)
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
    cmd=("$target/cell" serve http "$s" --secs 120)
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
  timeout 60 wrk -t1 -c10 -d4s "http://127.0.0.1:$port/" >"$tmp/wrk"
  # SIGTERM: the example stops gracefully, the cells die; callgrind writes its file.
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  pid=
  requests="$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$tmp/wrk")"
  ir="$(callgrind_annotate "$tmp/cg.$s" 2>/dev/null | sed -n 's/^\([0-9,]*\) (100.0%).*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
  if grep -qE 'Non-2xx|Socket errors' "$tmp/wrk"; then echo "$s: wrk saw errors" >&2; cat "$tmp/wrk" >&2; fi
  echo "$s: $requests requests, $ir Ir, $((ir / requests)) Ir/request"
done
