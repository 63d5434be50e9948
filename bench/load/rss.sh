#!/usr/bin/env bash
# Memory with history: the daemon's resident memory as events pile up, to see whether it grows
# with what it has stored.
#
#   bash bench/load/rss.sh [EVENTS] [CONNECTIONS]      # default 1000000 events, 16 connections
#
# Starts the release daemon with the example pack on a fresh SQLite file (STORE=postgres://...
# for PostgreSQL, as in run.sh), then loads it with examples/loadgen.rs in rounds of ROUND
# seconds (default 20) until EVENTS events are stored, and after each round prints the events
# so far (the daemon's own counter), its RSS and peak RSS, and the store's size. The events
# are loadgen's stream: new ids on 1,000 tickets, so the tickets stay as many while the events,
# audit rows and decisions grow.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/load/common.sh

events=${1:-1000000}
connections=${2:-16}
round=${ROUND:-20}

cargo build --release --quiet --bin frontdesk --example loadgen
start_replicas rules
pid=${pids[0]}

rss_mib() { awk -v f="$1" '$1 == f { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }
store_mib() {
  if [[ $store == sqlite ]]; then
    du -cm "$dir"/load.db* 2>/dev/null | awk 'END { print $1 }'
  else
    echo "-"
  fi
}

printf '%s, %d connections, rounds of %d s\n' "$store_label" "$connections" "$round"
printf '%10s %10s %10s %10s %10s\n' events rss_mib peak_mib store_mib events/s
done_events=0
n=0
while (( done_events < events )); do
  n=$((n + 1))
  line=$(./target/release/examples/loadgen --url "${urls[0]}" --seconds "$round" \
    --connections "$connections" --tag "rss$n")
  done_events=$(metric_sum 'frontdesk_events_total{')
  rate=$(awk '{ print $2 }' <<<"$line")
  printf '%10d %10s %10s %10s %10s\n' "$done_events" "$(rss_mib VmRSS:)" "$(rss_mib VmHWM:)" \
    "$(store_mib)" "$rate"
done
