#!/usr/bin/env bash
# Real servers under real load generators, on 127.0.0.1 only: requests/s from the load
# generator and the server's CPU time per request: the time its threads ran
# (/proc/<pid>/task/*/schedstat, in ns) before and after the load generator's run,
# ÷ its requests. utime + stime from /proc/<pid>/stat (10 ms ticks) is kept beside it
# as a cross-check, and used where schedstat is missing. See src/servers/.
#
#   benches/servers.sh           3 runs per cell, interleaved; medians
#                                → benches/results/servers.{md,json,jsonl}
#   benches/servers.sh --quick   smoke test: 1 run, short loads → benches/results/servers-quick.*
#   benches/servers.sh --runs 5
#   SERVERS_CELLS="resp:aloop-protocol:16 resp:tokio-ct:16" benches/servers.sh --runs 9
#                                only those cells (bench:server:pipeline), many rounds
#
# Each round takes the cells in turn, starting further along the list than the round
# before, so no cell always runs at the same point of a round.
#
# Cells:
#   http: `wrk -t1 -c50 -d5s http://127.0.0.1:PORT/` against `cell serve http aloop`
#         (asyncio-style streams; `aloop-into`: the head read into a Vec it keeps;
#         `aloop-protocol`: an asyncio `Protocol`, heads parsed in `data_received`),
#         the real `examples/http_server` binary (`aloop-example`), `cell serve http
#         tokio-ct`, a Python uvloop Protocol server
#         with httptools (`uvloop`, src/servers/http_uvloop.py), and hyper on both
#         runtimes (`cell serve http hyper-aloop` / `hyper-tokio`).
#   resp: `redis-benchmark -p PORT -c 50 -n 200000 -t ping,set,get -q`, without
#         pipelining and with `-P 16` (then `-n 1600000`, so the CPU window is long
#         enough), against `cell serve resp aloop` (plain asyncio: a write + drain per
#         command; `aloop-into`: the same, reading into Vecs it keeps; `tokio-fields`:
#         that server on tokio; `tokio-plain`: the plain one on tokio), `aloop-batched`
#         (replies of a read's commands in one write), `aloop-chunks` (the same reads
#         and parser, a write + drain per reply), `aloop-protocol` (an asyncio
#         `Protocol`: every whole command of a read answered in `data_received`, a
#         `transport.write` per reply) and `tokio-ct` (the same batching, the tokio way).
#   redis: `redis-benchmark -p PORT -c 50 -n 200000 -t ping,set,get,incr,mset -q`, without
#         pipelining and with `-P 16` (`-n 1600000`), against the `mini_redis` example
#         (a whole server written the asyncio way, examples/mini_redis/) and Debian's
#         real redis-server (`redis-server --port P --save '' --appendonly no`, started
#         here, never as a service).
# wrk and redis-benchmark come from Debian: `apt-get install -y wrk redis-tools`,
# redis-server from `apt-get install -y redis-server`, uvloop and httptools from PyPI
# (`pip install uvloop httptools`); a missing tool skips its cells, with the reason.
# `SERVERS_ONLY="redis"` (any of http, resp, redis) runs only those, into
# benches/results/servers-redis.* (servers-quick-redis.* with --quick);
# `SERVERS_HTTP_ONLY=1`, the older spelling, is `SERVERS_ONLY=http`. `SERVERS_LOOPS=2 benches/servers.sh`
# runs only HTTP, with aloop on 1 and 2 loops (`aloop-rt2`: a `Runtime`, a reuse_port
# listener per loop) against tokio current_thread and multi_thread(2) (`tokio-mt2`). Every server exits by itself after
# --secs (a bound for one left behind); each load is bounded by `timeout`.
# About 6 minutes on 2 cores (most of it the un-pipelined redis-benchmark runs).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
name=servers
wrk_secs=5
resp_n=200000
case "${1:-}" in
  "") ;;
  --quick) runs=1; name=servers-quick; wrk_secs=1; resp_n=20000 ;;
  --runs) runs="${2:?--runs needs a number}" ;;
  *) echo "usage: $0 [--quick | --runs N]" >&2; exit 2 ;;
esac
# With -P 16 a test of resp_n requests is over in ~0.2 s, too short a window for the
# CPU reading (the rounds of one cell moved by 0.8-1.45x): 8 times as many.
pipelined_n=$((resp_n * 8))

if [ -n "${SERVERS_HTTP_ONLY:-}" ] && [ -z "${SERVERS_ONLY:-}" ]; then SERVERS_ONLY=http; fi
only="${SERVERS_ONLY:-http resp redis}"
# A partial run does not overwrite the whole run's results.
if [ -n "${SERVERS_ONLY:-}" ]; then name="$name-${only// /-}"; fi
wanted() { [[ " $only " == *" $1 "* ]]; }
cells=()
http_example= mini_redis=
if ! wanted http; then
  :
elif command -v wrk >/dev/null; then
  if [ "${SERVERS_LOOPS:-}" = 2 ]; then
    # Thread-per-core (issue 16): 1 and 2 loops against tokio current_thread and
    # multi_thread(2).
    cells+=(http:aloop:1 http:aloop-rt2:1 http:tokio-ct:1 http:tokio-mt2:1)
  else
    cells+=(http:aloop:1 http:aloop-into:1 http:aloop-protocol:1 http:aloop-example:1 http:tokio-ct:1)
    http_example=yes
    if python3 -c 'import uvloop, httptools' 2>/dev/null; then
      cells+=(http:uvloop:1)
    else
      echo "skipped http uvloop: python3 cannot import uvloop and httptools (pip install uvloop httptools)" >&2
    fi
    cells+=(http:hyper-aloop:1 http:hyper-tokio:1)
  fi
else
  echo "skipped http: wrk not found (apt-get install -y wrk)" >&2
fi
if [ "${SERVERS_LOOPS:-}" = 2 ]; then
  : # the thread-per-core comparison is HTTP only
elif command -v redis-benchmark >/dev/null && command -v redis-cli >/dev/null; then
  if wanted resp; then
    for p in 1 16; do
      cells+=("resp:aloop:$p" "resp:aloop-into:$p" "resp:aloop-batched:$p" "resp:aloop-chunks:$p" "resp:aloop-protocol:$p" "resp:tokio-ct:$p" "resp:tokio-fields:$p" "resp:tokio-plain:$p")
    done
  fi
  if wanted redis; then
    mini_redis=yes
    for p in 1 16; do
      cells+=("redis:mini-redis:$p")
      if command -v redis-server >/dev/null; then
        cells+=("redis:redis-server:$p")
      elif [ "$p" = 1 ]; then
        echo "skipped redis-server cells: redis-server not found (apt-get install -y redis-server)" >&2
      fi
    done
  fi
else
  echo "skipped resp and redis: redis-benchmark or redis-cli not found (apt-get install -y redis-tools)" >&2
fi

# `SERVERS_CELLS="resp:aloop-protocol:16 resp:tokio-ct:16"` keeps only the cells named
# (bench:server:pipeline, as in the lists above), for many rounds of a few cells, into
# benches/results/<name>-cells.*.
if [ -n "${SERVERS_CELLS:-}" ]; then
  kept=()
  for cell in "${cells[@]}"; do
    if [[ " $SERVERS_CELLS " == *" $cell "* ]]; then kept+=("$cell"); fi
  done
  if [ "${#kept[@]}" -eq 0 ]; then
    echo "SERVERS_CELLS names none of this run's cells: ${cells[*]}" >&2
    exit 2
  fi
  cells=("${kept[@]}")
  name="$name-cells"
fi

revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- crates 2>/dev/null)" ]; then
  revision="$revision + uncommitted changes in crates/"
fi
load_before_build="$(cat /proc/loadavg)"
cargo build --release -p aloop-benches
if [ -n "$http_example" ]; then cargo build --release -p aloop-examples --example http_server; fi
if [ -n "$mini_redis" ]; then cargo build --release -p aloop-examples --example mini_redis; fi
out=benches/results
mkdir -p "$out"
raw="$out/$name.jsonl"
: >"$raw"
tmp="$(mktemp -d)"
server_pid=
watchdog_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$watchdog_pid" ]; then kill "$watchdog_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# A copy: a rebuild in the same target dir during the run must not change what is measured.
bin="$tmp/cell"
cp "${CARGO_TARGET_DIR:-target}/release/cell" "$bin"
if [ -n "$http_example" ]; then cp "${CARGO_TARGET_DIR:-target}/release/examples/http_server" "$tmp/http_server"; fi
if [ -n "$mini_redis" ]; then cp "${CARGO_TARGET_DIR:-target}/release/examples/mini_redis" "$tmp/mini_redis"; fi
clk_tck="$(getconf CLK_TCK)"
start_load="$(cat /proc/loadavg)"
echo "load average at start: $start_load" >&2
started=$SECONDS

# "utime stime" of process $1, in clock ticks (fields 14 and 15; comm is "(cell)").
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
# Time on CPU of process $1's threads, in ns (empty without schedstat).
# (%.0f, not %d: mawk's %d stops at 2^31.)
cpu_ns() { cat "/proc/$1/task/"*/schedstat 2>/dev/null | awk '{ s += $1 } END { if (NR) printf "%.0f", s }'; }

# Starts `cell serve $1 $2`, the http_server or mini_redis example, the Python uvloop
# server or redis-server; sets server_pid and port.
start_server() {
  # Emptied here, not by the redirections below: those happen in the background child,
  # which may run after the loop below has read the last server's port.
  : >"$tmp/port"
  port=
  case "$2" in
    aloop-example) "$tmp/http_server" 0 >"$tmp/port" 2>"$tmp/server.err" & ;;
    uvloop) python3 benches/src/servers/http_uvloop.py --secs 600 >"$tmp/port" 2>"$tmp/server.err" & ;;
    mini-redis) "$tmp/mini_redis" 0 >"$tmp/port" 2>"$tmp/server.err" & ;;
    redis-server)
      # redis-server cannot pick a free port itself (--port 0 turns TCP off): try one.
      port=$((20000 + RANDOM % 20000))
      redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
        >"$tmp/server.err" 2>&1 &
      ;;
    *) "$bin" serve "$1" "$2" --secs 600 >"$tmp/port" 2>"$tmp/server.err" & ;;
  esac
  server_pid=$!
  # The examples and redis-server have no time limit of their own: a watchdog is it
  # (its sleep ends with it).
  (sleep 600 & nap=$!; trap 'kill $nap 2>/dev/null; exit 0' TERM; wait $nap; kill "$server_pid" 2>/dev/null) &
  watchdog_pid=$!
  for _ in $(seq 100); do
    if server_ready "$2"; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "server $1 $2 did not start:" >&2
  cat "$tmp/server.err" >&2
  stop_server
  return 1
}

# Whether server $1 (just started) answers; sets port for those that print it.
server_ready() {
  case "$1" in
    aloop-example) port="$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$tmp/port")" ;;
    mini-redis) port="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/port")" ;;
    redis-server) [ "$(timeout 2 redis-cli -p "$port" PING 2>/dev/null)" = PONG ] || return 1 ;;
    *) port="$(sed -n 's/^port \([0-9]*\)$/\1/p' "$tmp/port")" ;;
  esac
  [ -n "$port" ]
}

stop_server() {
  kill "$server_pid" "$watchdog_pid" 2>/dev/null || true
  wait "$server_pid" "$watchdog_pid" 2>/dev/null || true
  server_pid= watchdog_pid=
}

# One HTTP request by hand: the server must answer 200 and the body.
check_http() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  reply="$(timeout 5 cat <&3 || true)"
  exec 3<&-
  [[ "$reply" == "HTTP/1.1 200 OK"*"Hello, World!" ]]
}

# PING, SET then GET by redis-cli: the server must answer them right.
check_resp() {
  [ "$(timeout 5 redis-cli -p "$port" PING)" = PONG ] &&
    [ "$(timeout 5 redis-cli -p "$port" SET servers-sh-check 42)" = OK ] &&
    [ "$(timeout 5 redis-cli -p "$port" GET servers-sh-check)" = 42 ]
}

# Runs one cell once; appends one JSON line to $raw.
run_cell() {
  local bench="$1" server="$2" pipeline="$3" run="$4" ok=true before after ns0 ns1 requests rps extra=""
  # Three tries: redis-server's port is a guess, which another program may hold.
  start_server "$bench" "$server" || start_server "$bench" "$server" ||
    start_server "$bench" "$server" || return 1
  if [ "$bench" = http ]; then
    check_http || ok=false
    before="$(cpu_ticks "$server_pid")" ns0="$(cpu_ns "$server_pid")"
    timeout $((wrk_secs + 30)) wrk -t1 -c50 -d"${wrk_secs}s" "http://127.0.0.1:$port/" >"$tmp/load.txt" || ok=false
    after="$(cpu_ticks "$server_pid")" ns1="$(cpu_ns "$server_pid")"
    requests="$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$tmp/load.txt")"
    rps="$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/load.txt")"
    # Errors and non-200 answers fail the cell.
    if grep -qE 'Non-2xx|Socket errors' "$tmp/load.txt"; then ok=false; fi
  else
    check_resp || ok=false
    # resp: the hello servers know PING, SET and GET; redis: whole servers, more tests.
    local load=ping,set,get want=4 tests
    if [ "$bench" = redis ]; then load=ping,set,get,incr,mset want=6; fi
    local n=$resp_n
    if [ "$pipeline" -gt 1 ]; then n=$pipelined_n; fi
    before="$(cpu_ticks "$server_pid")" ns0="$(cpu_ns "$server_pid")"
    # Each test's last line, as "NAME RATE" ("MSET (10 keys): 1.0 requests ..." too).
    timeout 300 redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -n "$n" -t "$load" -q -P "$pipeline" \
      | tr '\r' '\n' | sed -nE 's/^([A-Z_]+)( \([^)]*\))?: ([0-9.]+) requests per second.*/\1 \3/p' \
      >"$tmp/load.txt" || ok=false
    after="$(cpu_ticks "$server_pid")" ns1="$(cpu_ns "$server_pid")"
    tests="$(wc -l <"$tmp/load.txt")"
    [ "$tests" -eq "$want" ] || ok=false
    requests=$((tests * n))
    # Every request of the tests ÷ the sum of their times; and each test's rate.
    rps="$(awk -v n="$n" '{ t += n / $2 } END { if (t > 0) printf "%.1f", NR * n / t }' "$tmp/load.txt")"
    extra="$(awk '{ printf ",\"rps_%s\":%s", tolower($1), $2 }' "$tmp/load.txt")"
  fi
  stop_server
  if [ -z "$requests" ] || [ "$requests" -eq 0 ] || [ -z "$rps" ]; then
    echo "cell $bench $server -P $pipeline: no result" >&2
    cat "$tmp/load.txt" "$tmp/server.err" >&2
    requests=0 rps=0 ok=false
  fi
  local utime=$((${after% *} - ${before% *})) stime=$((${after#* } - ${before#* }))
  local ticks=$((utime + stime)) cpu_s ns=null
  if [ -n "$ns0" ] && [ -n "$ns1" ]; then
    ns=$((ns1 - ns0)) cpu_s="$(awk -v ns="$ns" 'BEGIN { printf "%.6f", ns / 1e9 }')"
  else
    cpu_s="$(awk -v t="$ticks" -v hz="$clk_tck" 'BEGIN { printf "%.6f", t / hz }')"
  fi
  printf '{"bench":"%s","server":"%s","pipeline":%s,"run":%s,"requests":%s,"rps":%s,"cpu_s":%s,"cpu_ns":%s,"cpu_ticks":%s,"utime_ticks":%s,"stime_ticks":%s,"clk_tck":%s,"cpu_us_per_req":%s,"ticks_us_per_req":%s,"loadavg_1m":%s%s,"checks_passed":%s}\n' \
    "$bench" "$server" "$pipeline" "$run" "$requests" "$rps" "$cpu_s" "$ns" "$ticks" "$utime" "$stime" "$clk_tck" \
    "$(awk -v s="$cpu_s" -v n="$requests" 'BEGIN { if (n > 0) printf "%.4f", s * 1e6 / n; else print "null" }')" \
    "$(awk -v t="$ticks" -v hz="$clk_tck" -v n="$requests" 'BEGIN { if (n > 0) printf "%.4f", t / hz * 1e6 / n; else print "null" }')" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$extra" "$ok" >>"$raw"
  $ok
}

failed=0
for ((run = 1; run <= runs; run++)); do
  # Each round starts further along the list, so no cell always runs first, or last,
  # or at the same point of a round. (In a run in one fixed order every aloop cell came
  # out 5-17 % above tokio-ct's CPU unpipelined; two of them taken in turn with it, the
  # order reversed every other round, 1-2 %.)
  n=${#cells[@]}
  offset=$(((run - 1) * n / runs))
  for ((i = 0; i < n; i++)); do
    cell="${cells[$(((i + offset) % n))]}"
    IFS=: read -r bench server pipeline <<<"$cell"
    if ! run_cell "$bench" "$server" "$pipeline" "$run"; then
      echo "cell $bench $server -P $pipeline (run $run) failed" >&2
      failed=1
    fi
  done
  echo "run $run/$runs done ($((SECONDS - started)) s)" >&2
done

{
  echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
  echo "revision: $revision"
  echo "tools: $(if command -v wrk >/dev/null; then { wrk --version 2>&1 || true; } | head -1 | cut -d' ' -f1-2; else echo 'wrk absent'; fi); $(redis-benchmark --version 2>/dev/null || echo 'redis-benchmark absent'); $(redis-server --version 2>/dev/null | cut -d' ' -f1-3 || echo 'redis-server absent')"
  echo "load average: before build $load_before_build; start $start_load; end $(cat /proc/loadavg)"
  echo "runs per cell: $runs (medians); wrk ${wrk_secs}s; redis-benchmark -n $resp_n per test, $pipelined_n with -P 16; $((SECONDS - started)) s"
  echo
  "$bin" servers-report "$raw" "$out/$name.json"
} | tee "$out/$name.md"
echo "wrote $out/$name.md, $out/$name.json, $raw" >&2
exit "$failed"
