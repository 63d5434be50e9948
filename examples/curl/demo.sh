#!/usr/bin/env bash
# Talks to a running `frontdesk serve` with curl: posts the example events, shows a ticket, the
# audit log, the active rules, and a refused request. Run from the repository root:
#   cargo run --release -- serve &          # in another terminal
#   bash examples/curl/demo.sh
# FRONTDESK_URL (default http://127.0.0.1:8080) and FRONTDESK_TOKEN (if the daemon has tokens).
set -euo pipefail
url=${FRONTDESK_URL:-http://127.0.0.1:8080}
auth=()
if [ -n "${FRONTDESK_TOKEN:-}" ]; then auth=(-H "Authorization: Bearer $FRONTDESK_TOKEN"); fi
events=$(dirname "$0")/../events

say() { printf '\n== %s\n' "$*"; }

say "POST /v1/events: a Norwegian outage report"
curl -sS --fail-with-body "${auth[@]}" -H 'Content-Type: application/json' \
  --data @"$events/outage-nb.json" "$url/v1/events"

say "the same event again: the stored decision, nothing applied twice"
curl -sS --fail-with-body "${auth[@]}" -H 'Content-Type: application/json' \
  --data @"$events/outage-nb.json" "$url/v1/events" | grep -o '"replayed":true'

say "POST /v1/events?explain=true: every rule and why it did or did not match"
curl -sS --fail-with-body "${auth[@]}" -H 'Content-Type: application/json' \
  --data @"$events/refund-da.json" "$url/v1/events?explain=true"

say "GET /v1/tickets/1001: state, timers, history"
curl -sS --fail-with-body "${auth[@]}" "$url/v1/tickets/1001"

say "GET /v1/decisions?rule=outage%20is%20urgent: the audit log"
curl -sS --fail-with-body "${auth[@]}" "$url/v1/decisions?rule=outage%20is%20urgent"

say "GET /v1/admin/config: the active rules and their hash"
curl -sS --fail-with-body "${auth[@]}" "$url/v1/admin/config"

say "a bad event is refused with the field that is wrong (422)"
curl -sS "${auth[@]}" -H 'Content-Type: application/json' \
  --data '{"id":"bad-1","type":"ticket.created","ticket":{"id":"9","priority":"asap"}}' "$url/v1/events"
echo
