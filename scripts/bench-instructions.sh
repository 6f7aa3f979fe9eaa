#!/usr/bin/env bash
# Instructions per event of `sluice bench`'s engine step and of its typed baseline, counted by
# valgrind's callgrind: unlike events/s, the count is the same from run to run whatever else the
# machine is doing, so a change can be compared with the one before it.
#
#   scripts/bench-instructions.sh [BINARY] [EVENTS]
#
# BINARY defaults to the release build; EVENTS to 50,000 (each run takes about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}/release/sluice}"
events="${2:-50000}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ -x "$bin" ] || { echo "no binary at $bin: cargo build --release -p sluice" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

count() { # $1: the function whose calls are counted, $2: output file
    valgrind --tool=callgrind --toggle-collect="$1" --callgrind-out-file="$2" \
        "$bin" bench --events "$events" >/dev/null 2>&1
    callgrind_annotate "$2" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}
count 'sluice_engine::executor::Executor::step' "$out/engine" >"$out/engine.n" &
count 'sluice::bench_baseline::Baseline::feed' "$out/baseline" >"$out/baseline.n"
wait
engine=$(cat "$out/engine.n")
baseline=$(cat "$out/baseline.n")
awk -v e="$engine" -v b="$baseline" -v n="$events" 'BEGIN {
    printf "engine step : %8.0f instructions/event (decode, pipeline, window)\n", e / n
    printf "baseline    : %8.0f instructions/event (serde typed structs, same work)\n", b / n
    printf "ratio       : %8.3f (baseline / engine)\n", b / e
}'
