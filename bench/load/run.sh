#!/usr/bin/env bash
# Load against a release build of the daemon with the example rules: first GET /healthz (the
# ceiling of this build on this machine), then POST /v1/events (a new event id every request,
# spread over 1,000 tickets).
#
# Usage: bench/load/run.sh [SECONDS] [CONNECTIONS]
#   STORE=sqlite (default: a fresh file) | STORE=postgres://USER@HOST/DB (a scratch schema)
#   REPLICAS=N   daemons on one store; wrk runs once per replica, CONNECTIONS shared among them,
#                and the figures are the sum of requests/s and the worst p50/p99.
# Needs wrk (Debian: apt-get install wrk), curl, and psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-16}
cargo build --release --quiet --bin frontdesk
source bench/load/common.sh
start_replicas rules

per=$(( (conns + replicas - 1) / replicas ))

# load NAME URLPATH [wrk args]: one wrk per replica at once, then the combined figures.
load() {
  local name=$1 path=$2; shift 2
  echo "== $name: $store_label, $replicas replica(s), $conns connections, ${secs}s"
  local i=0 waiting=()
  for u in "${urls[@]}"; do
    wrk -t1 -c"$per" -d"${secs}s" --latency "$@" "$u$path" -- "$i" >"$dir/wrk-$i" 2>&1 &
    waiting+=("$!"); i=$((i + 1))
  done
  wait "${waiting[@]}"
  cat "$dir"/wrk-* | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps += $2 }
    $1 == "50%" { if (ms($2) > p50) p50 = ms($2) }
    $1 == "99%" { if (ms($2) > p99) p99 = ms($2) }
    /Non-2xx/ { bad += $NF }
    END { printf "requests/s %.0f   p50 %.2f ms   p99 %.2f ms   non-2xx %d\n", rps, p50, p99, bad }'
  rm -f "$dir"/wrk-*
}

load "GET /healthz" /healthz
load "POST /v1/events" "" -s bench/load/events.lua
echo "== events stored: $(metric_sum 'frontdesk_events_total{')"
