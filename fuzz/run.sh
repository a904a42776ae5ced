#!/usr/bin/env bash
# Runs aloop's fuzz targets (cargo fuzz, libFuzzer); see docs/fuzzing.md.
#
#   fuzz/run.sh TARGET SECONDS   one target for SECONDS (wall clock)
#   fuzz/run.sh TARGET 600cpu    one target until it used 600 CPU-seconds
#   fuzz/run.sh all SECONDS      every target, one after the other, SECONDS each
#   fuzz/run.sh build            build every target, run none
#   fuzz/run.sh list             the targets
#
# Works on the stable toolchain: cargo fuzz passes nightly-only flags (-Zsanitizer,
# -Cpasses=sancov-module), which stable rustc accepts with RUSTC_BOOTSTRAP=1. cargo-fuzz
# itself is installed from crates.io when missing (about 1.5 CPU-minutes).
#
# Each run grows fuzz/corpus/TARGET (git-ignored), starting from the committed seeds in
# fuzz/seeds/TARGET, with the dictionary fuzz/dict/TARGET.dict if there is one; a crash leaves its input in fuzz/artifacts/TARGET and makes this
# script fail (replaying and minimising one: docs/fuzzing.md).
# Extra arguments after SECONDS go to libFuzzer (`-jobs=2`, `-max_len=...`).
set -euo pipefail
cd "$(dirname "$0")/.."

# In sanitizer order (see sanitizer()), so `all` builds each configuration once.
TARGETS=(stream_reader http_request timer_wheel sync_queue resp_parser)
CARGO_FUZZ_VERSION=0.13.2

# AddressSanitizer where unsafe code runs: aloop's executor and reactor (stream_reader)
# and httparse's SIMD scanning (http_request). The other targets are safe Rust through
# and through, where ASan finds nothing that Rust's own checks miss and halves the
# executions per second.
sanitizer() {
  case "$1" in
    stream_reader | http_request) echo address ;;
    *) echo none ;;
  esac
}

export RUSTC_BOOTSTRAP=1
CPU_LOG=$(mktemp)
trap 'rm -f "$CPU_LOG"' EXIT

ensure_cargo_fuzz() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
  fi
}

# Release code with debug assertions (aloop's debug_assert!s, overflow checks), built
# in a directory per sanitizer so that switching between targets rebuilds nothing.
flags() {
  local san
  san=$(sanitizer "$1")
  echo -O --debug-assertions -s "$san" --target-dir "fuzz/target/$san"
}

build() {
  local target=$1
  # shellcheck disable=SC2046 # flags() is a list of words without spaces.
  cargo fuzz build $(flags "$target") "$target"
}

# One libFuzzer run of `seconds` wall-clock seconds; prints the CPU time it used.
run_once() {
  local target=$1 seconds=$2
  shift 2
  mkdir -p "fuzz/corpus/$target"
  local seeds=() dict=()
  [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
  [ -f "fuzz/dict/$target.dict" ] && dict=("-dict=fuzz/dict/$target.dict")
  echo "== $target: ${seconds}s"
  # New inputs go to the first directory (corpus/), seeds/ is only read.
  # shellcheck disable=SC2046
  /usr/bin/time -o "$CPU_LOG" -f "%U %S %e" \
    cargo fuzz run $(flags "$target") "$target" \
    "fuzz/corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$seconds" -print_final_stats=1 "${dict[@]}" "$@"
  read -r user sys wall <"$CPU_LOG"
  echo "== $target: $user s user + $sys s system CPU, $wall s wall"
}

# SECONDS of wall clock, or Ncpu: slices of 300 s (FUZZ_SLICE) until the runs used N
# CPU-seconds in all (what counts on a machine shared with other work).
run() {
  local target=$1 seconds=$2
  shift 2
  build "$target"
  if [[ "$seconds" == *cpu ]]; then
    local want=${seconds%cpu} used=0
    while awk -v a="$used" -v b="$want" 'BEGIN { exit !(a < b) }'; do
      run_once "$target" "${FUZZ_SLICE:-300}" "$@"
      used=$(awk -v a="$used" -v u="$user" -v s="$sys" 'BEGIN { print a + u + s }')
      echo "== $target: $used of $want CPU-seconds"
    done
  else
    run_once "$target" "$seconds" "$@"
  fi
  echo "== $target: corpus $(find "fuzz/corpus/$target" -type f | wc -l) files," \
    "$(du -sb "fuzz/corpus/$target" | cut -f1) bytes"
}

usage() {
  sed -n '2,9p' "$0" >&2
  exit 2
}

[ $# -ge 1 ] || usage
ensure_cargo_fuzz
case "$1" in
  list) printf '%s\n' "${TARGETS[@]}" ;;
  build)
    for t in "${TARGETS[@]}"; do build "$t"; done
    ;;
  all)
    [ $# -ge 2 ] || usage
    seconds=$2
    shift 2
    for t in "${TARGETS[@]}"; do run "$t" "$seconds" "$@"; done
    ;;
  *)
    [ $# -ge 2 ] || usage
    target=$1 seconds=$2
    shift 2
    printf '%s\n' "${TARGETS[@]}" | grep -qx "$target" || {
      echo "unknown target $target; fuzz/run.sh list" >&2
      exit 2
    }
    run "$target" "$seconds" "$@"
    ;;
esac
