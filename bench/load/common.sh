# Shared by run.sh and timers.sh: start REPLICAS daemons on STORE, stop them at exit.
#   STORE     sqlite (default: a fresh file) or a postgres:// URL (a fresh schema is created in
#             that database with psql and dropped at exit)
#   REPLICAS  daemons to start (default 1; more than one needs PostgreSQL)
# Sets: dir, urls (array), ports (array), pids (array), store_label.

replicas=${REPLICAS:-1}
store=${STORE:-sqlite}
dir=$(mktemp -d)
pids=()
schema=""
base_port=${BASE_PORT:-18080}

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n $schema ]]; then
    psql -q "$pg_admin" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

case $store in
  sqlite)
    [[ $replicas == 1 ]] || { echo "SQLite serves one process; set STORE=postgres://..." >&2; exit 2; }
    url="sqlite://$dir/load.db"
    store_label="SQLite"
    ;;
  postgres://*|postgresql://*)
    command -v psql >/dev/null || { echo "psql is needed to create a scratch schema" >&2; exit 2; }
    pg_admin=$store
    schema="fd_bench_$$"
    psql -q "$pg_admin" -c "CREATE SCHEMA $schema" >/dev/null
    sep='?'; [[ $store == *\?* ]] && sep='&'
    url="$store${sep}options[search_path]=$schema"
    store_label="PostgreSQL"
    ;;
  *) echo "STORE is sqlite or a postgres:// URL" >&2; exit 2 ;;
esac

# start_replicas RULES_DIR [EXTRA ARGS...]
start_replicas() {
  local rules=$1; shift
  urls=(); ports=()
  for i in $(seq 0 $((replicas - 1))); do
    local port=$((base_port + i))
    "${FRONTDESK_BIN:-./target/release/frontdesk}" serve --listen 127.0.0.1:$port --store "$url" --config "$rules" \
      --no-watch --log-format json --rate-limit off --chat-rate-limit off \
      --chat-address-rate-limit off "$@" >"$dir/log-$port" 2>&1 &
    pids+=("$!"); ports+=("$port"); urls+=("http://127.0.0.1:$port")
  done
  for u in "${urls[@]}"; do
    for _ in $(seq 200); do curl -sf "$u/readyz" >/dev/null && break; sleep 0.1; done
    curl -sf "$u/readyz" >/dev/null || { echo "$u is not ready:" >&2; tail -5 "$dir"/log-* >&2; exit 1; }
  done
}

# metric_sum PREFIX: the sum of every sample whose line starts with PREFIX, over all replicas.
metric_sum() {
  for u in "${urls[@]}"; do curl -s "$u/metrics"; done \
    | awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { printf "%d\n", s }'
}

# CPU seconds (user + system) process $1 has used so far.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# With PACK=100: writes the shared benchmark's 100-rule pack and its tickets as events into
# $dir and points `rules` and the load generator's `stream` at them; else `stream` is empty.
use_pack() {
  stream=()
  [[ -n ${PACK:-} ]] || return 0
  [[ $PACK == 100 ]] || { echo "PACK=100 is the one pack written for the daemon" >&2; exit 2; }
  cargo build --release --quiet --example pack_bench
  ./target/release/examples/pack_bench --load-dir "$dir/pack" "$dir/pack-source" >/dev/null
  rules="$dir/pack/rules"
  stream=(--events "$dir/pack/events.jsonl")
}
