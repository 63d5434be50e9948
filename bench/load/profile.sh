#!/usr/bin/env bash
# Where the daemon's CPU goes per event: `perf record` with call graphs over a load run,
# then bench/load/stages.py gives each stage's share and microseconds per event.
#
# Usage: bench/load/profile.sh [SECONDS] [CONNECTIONS]
#   RATE=N      a fixed rate instead of the closed loop
#   PACK=100, RULES=..., STORE=...   as for side_by_side.sh
#   KEEP=DIR    keep perf.data (and the daemon's log) in DIR
# Needs perf (Debian: linux-perf) and kernel.perf_event_paranoid <= 1 or root.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-16}
rules=${RULES:-rules}
command -v perf >/dev/null || { echo "perf is not installed (Debian: apt-get install linux-perf)" >&2; exit 2; }
cargo build --release --quiet --bin frontdesk --example loadgen
source bench/load/common.sh
use_pack
start_replicas "$rules"
pid=${pids[0]}
gen() { ./target/release/examples/loadgen --url "${urls[0]}" --connections "$conns" --tag "p$RANDOM$RANDOM" "${stream[@]}" ${RATE:+--rate "$RATE"} "$@"; }
gen --seconds 3 >/dev/null   # warm: tickets exist, caches filled
events_now() { metric_sum 'frontdesk_events_total{'; }
e0=$(events_now); c0=$(cpu_of "$pid")
perf record -q -F 499 --call-graph dwarf,16384 -p "$pid" -o "$dir/perf.data" -- sleep "$secs" 2>/dev/null &
perf_pid=$!
line=$(gen --seconds "$secs")
wait "$perf_pid" || true
e1=$(events_now); c1=$(cpu_of "$pid")
echo "load: $line"
events=$((e1 - e0))
cpu=$(awk -v a="$c1" -v b="$c0" 'BEGIN { printf "%.2f", a - b }')
echo "daemon: $events events, $cpu s of CPU"
perf script -i "$dir/perf.data" 2>/dev/null | python3 bench/load/stages.py "$events" "$cpu"
if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP"; cp "$dir/perf.data" "$dir"/log-* "$KEEP/"; fi
