#!/usr/bin/env bash
# Load against a release build of the daemon with the example rules and a fresh SQLite file:
# first GET /healthz (the ceiling of this build on this machine), then POST /v1/events.
# Needs wrk (Debian: apt-get install wrk). Usage: bench/load/run.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-16}
cargo build --release --quiet
dir=$(mktemp -d)
port=18080
./target/release/frontdesk serve --listen 127.0.0.1:$port --store "sqlite://$dir/load.db" --no-watch \
  --log-format json >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
echo "== GET /healthz ($conns connections, ${secs}s)"
wrk -t2 -c"$conns" -d"${secs}s" --latency http://127.0.0.1:$port/healthz | grep -E "Requests/sec|50%|99%"
echo "== POST /v1/events ($conns connections, ${secs}s)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/load/events.lua http://127.0.0.1:$port | grep -E "Requests/sec|50%|99%|Non-2xx"
echo "== events stored: $(curl -s http://127.0.0.1:$port/metrics | grep -E '^frontdesk_events_total' | awk '{s+=$2} END {print s}')"
