#!/usr/bin/env bash
# Timers fired per second: SECONDS of wrk create tickets whose one timer is due at the same
# moment (a little after the load ends); then the replicas' schedulers fire them all and the
# script reports how fast, from the first firing to the last.
#
# Usage: bench/load/timers.sh [SECONDS] [CONNECTIONS]
#   STORE and REPLICAS as for run.sh. Needs wrk, curl (and psql for PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-16}
cargo build --release --quiet --bin frontdesk
source bench/load/common.sh

# Due after the load and the start-up, whatever the machine's speed.
due_in=$((secs + 15))
due=$(date -u -d "+${due_in} seconds" +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$dir/rules"
cat >"$dir/rules/timers.yaml" <<YAML
rules:
  - name: one timer per ticket
    on: ticket.created
    then:
      - schedule:
          name: due together
          at: "$due"
          then:
            - add_tags: [fired]
YAML
start_replicas "$dir/rules"

per=$(( (conns + replicas - 1) / replicas ))
echo "== creating timers: $store_label, $replicas replica(s), $conns connections, ${secs}s"
i=0; waiting=()
for u in "${urls[@]}"; do
  wrk -t1 -c"$per" -d"${secs}s" -s bench/load/timers.lua "$u" -- "$i" >"$dir/wrk-$i" 2>&1 &
  waiting+=("$!"); i=$((i + 1))
done
wait "${waiting[@]}"
timers=$(metric_sum 'frontdesk_events_total{type="ticket.created",outcome="decided"}')
echo "$timers timers due at $due"

first=""
deadline=$(( $(date +%s) + due_in + 600 ))
while :; do
  n=$(metric_sum 'frontdesk_events_total{type="timer.fired",outcome="decided"}')
  now=$(date +%s.%N)
  if [[ -z $first && $n -gt 0 ]]; then first=$now; fi
  if [[ $n -ge $timers ]]; then break; fi
  (( $(date +%s) < deadline )) || { echo "only $n of $timers fired" >&2; exit 1; }
  sleep 0.1
done
awk -v n="$timers" -v a="$first" -v b="$now" \
  'BEGIN { d = b - a; if (d < 0.1) d = 0.1; printf "fired %d timers in %.1f s: %.0f timers/s\n", n, d, n / d }'
