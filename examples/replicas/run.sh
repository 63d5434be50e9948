#!/usr/bin/env bash
# Three frontdesk replicas on one machine, sharing one PostgreSQL database.
#
# Usage: examples/replicas/run.sh [POSTGRES_URL]
#   POSTGRES_URL   default: $FRONTDESK_STORE, else postgres://postgres@127.0.0.1/frontdesk
#                  (the database must exist; frontdesk creates its tables on start)
# Environment:
#   FRONTDESK_BIN     the daemon (default: target/release/frontdesk, built if missing)
#   FRONTDESK_RULES   the rule pack (default: rules/)
#   PORTS             listen ports (default: "8081 8082 8083")
#
# Each replica logs to $LOGS/replica-PORT.log (default: a temporary directory). Ctrl-C stops
# all three (SIGTERM: each finishes the requests in flight).
set -euo pipefail
cd "$(dirname "$0")/../.."

store=${1:-${FRONTDESK_STORE:-postgres://postgres@127.0.0.1/frontdesk}}
bin=${FRONTDESK_BIN:-target/release/frontdesk}
rules=${FRONTDESK_RULES:-rules}
read -r -a ports <<<"${PORTS:-8081 8082 8083}"
logs=${LOGS:-$(mktemp -d)}

if [[ ! -x $bin ]]; then
  echo "building $bin"
  cargo build --release --bin frontdesk
fi

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
}
trap stop EXIT INT TERM

for port in "${ports[@]}"; do
  "$bin" serve --listen "127.0.0.1:$port" --store "$store" --config "$rules" \
    --log-format json >"$logs/replica-$port.log" 2>&1 &
  pids+=("$!")
done

# Ready means: listening and the database answers.
for port in "${ports[@]}"; do
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null \
    || { echo "replica on port $port is not ready; see $logs/replica-$port.log" >&2; exit 1; }
done

# Every replica must run the same rules: compare the pack hashes.
hashes=$(for port in "${ports[@]}"; do
  curl -s "http://127.0.0.1:$port/v1/admin/config" | sed -E 's/.*"hash":"([0-9a-f]+)".*/\1/'
done | sort -u)
if [[ $(wc -l <<<"$hashes") -ne 1 ]]; then
  echo "the replicas run different rule packs:" >&2
  echo "$hashes" >&2
  exit 1
fi

shown=$(sed -E 's#//[^@/]*@#//#; s/\?.*//' <<<"$store")   # no credentials, no options
echo "three replicas on ports ${ports[*]} (store: $shown; pack ${hashes:0:12}); logs in $logs"
echo "try: curl -s -XPOST localhost:${ports[0]}/v1/events -H 'content-type: application/json' -d @examples/events/outage-nb.json"
echo "Ctrl-C stops them"
wait
