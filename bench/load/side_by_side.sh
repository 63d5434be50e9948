#!/usr/bin/env bash
# The daemon beside a bare axum server under the same request stream, in one run.
#
# Each round sends `POST /v1/events` (a new event each, over 1,000 tickets; examples/loadgen.rs)
# for SECONDS with CONNECTIONS clients first to examples/echo_server.rs (the same axum, tokio
# and serde_json, answering without doing anything) and then to `frontdesk serve` with the
# example rules and bots on a fresh SQLite file, and prints both and the daemon's share of the
# echo's rate. Then, for each of RATES, the daemon at that fixed rate: latencies counted from
# when each request was due.
#
# Then, with the example bots, the chat: CHAT sessions opened, then customers' questions sent
# to them in turn (each answered by the bot and stored), closed loop and at the fixed rates.
#
# Usage: bench/load/side_by_side.sh [SECONDS] [CONNECTIONS] [ROUNDS]
#   RATES="2000 5000"   fixed rates after the rounds (RATES= for none)
#   RULES=rules         the rules directory the daemon serves (its bots beside it)
#   PACK=100            serve the shared benchmark's 100-rule pack instead (keyword rules, no
#                       bots; ../shared/bench) and send its 10,000 tickets as the events
#   CHAT=200            chat sessions for the chat rounds (CHAT=0 for none)
#   STORE=...           as for run.sh (sqlite by default, or a postgres:// URL)
# The load generator runs on the same machine and takes its share of the cores, the same for
# both servers.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-16}
rounds=${3:-3}
rates=${RATES-2000 5000}
rules=${RULES:-rules}
chat=${CHAT-200}
cargo build --release --quiet --bin frontdesk --example echo_server --example loadgen
source bench/load/common.sh
use_pack
[[ -z ${PACK:-} ]] || chat=0
start_replicas "$rules"
daemon=${urls[0]}
daemon_pid=${pids[0]}
echo_port=$((base_port + 50))
./target/release/examples/echo_server "127.0.0.1:$echo_port" 2>"$dir/log-echo" &
pids+=("$!")
echo_pid=$!
echo_url="http://127.0.0.1:$echo_port"
for _ in $(seq 100); do curl -sf "$echo_url/readyz" >/dev/null && break; sleep 0.1; done

gen() { ./target/release/examples/loadgen --seconds "$secs" --tag "r$RANDOM$RANDOM" "$@"; }
events() { gen "${stream[@]}" "$@"; }
rate_of() { awk '{ print $2 }' <<<"$1"; }
# measured PID LOADGEN-ARGS...: runs the load, prints its line and the server's CPU per request.
measured() {
  local pid=$1; shift
  local before line after
  before=$(cpu_of "$pid")
  line=$(events "$@")
  after=$(cpu_of "$pid")
  awk -v l="$line" -v b="$before" -v a="$after" -v s="$secs" \
    'BEGIN { split(l, f, " "); printf "%s cpu/request %.0f us\n", l, 1e6 * (a - b) / (f[2] * s) }'
}

echo "== POST /v1/events, $conns connections, ${secs}s a side, $store_label, rules: $rules"
ratios=()
for r in $(seq "$rounds"); do
  e=$(measured "$echo_pid" --url "$echo_url" --connections "$conns")
  d=$(measured "$daemon_pid" --url "$daemon" --connections "$conns")
  ratio=$(awk -v d="$(rate_of "$d")" -v e="$(rate_of "$e")" 'BEGIN { printf "%.1f", 100 * d / e }')
  ratios+=("$ratio")
  echo "round $r  echo:   $e"
  echo "round $r  daemon: $d"
  echo "round $r  daemon / echo: $ratio %"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "median daemon / echo: %s %%\n", v[int((NR + 1) / 2)] }'

for rate in $rates; do
  echo "== the daemon at a fixed $rate/s, up to $conns in flight, ${secs}s"
  echo "daemon: $(measured "$daemon_pid" --url "$daemon" --connections "$conns" --rate "$rate")"
done
echo "== events stored: $(metric_sum 'frontdesk_events_total{'); daemon RSS $(awk '/VmRSS/ { print $2, $3 }' "/proc/$daemon_pid/status")"

if [[ $chat -gt 0 ]]; then
  echo "== chat: $chat sessions, $conns connections, ${secs}s"
  echo "closed loop: $(gen --url "$daemon" --connections "$conns" --chat "$chat")"
  for rate in $rates; do
    echo "at a fixed $rate/s: $(gen --url "$daemon" --connections "$conns" --chat "$chat" --rate "$rate")"
  done
fi
