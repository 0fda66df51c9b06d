#!/usr/bin/env bash
# PostgreSQL beside SQLite on the same data, in one run (issue 13): 100,000 generated items
# (examples/generate.rs) imported into SQLite, copied into PostgreSQL with `herald copy-store`
# (so both hold identical rows, ids included), then, for each engine in turn:
#   - p50/p90 of sequential requests (one keep-alive connection) for the first page, a deep
#     cursor page, a tag, a text search, and /feed.atom (from the cache);
#   - `wrk -t2 -c64 -d5s` req/s on the same URLs;
# and on PostgreSQL, two replicas behind nginx (deploy/nginx.conf's setup) against one replica
# behind the same nginx. Only 127.0.0.1 is loaded.
#
#   PG_URL=postgres://postgres@127.0.0.1:55433/postgres bench/postgres.sh [N]
#
# PG_URL names a server where a database `herald_bench` may be dropped and created. Needs curl,
# wrk, nginx, psql, python3 (apt-get install wrk nginx-light postgresql-client curl).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-100000}
PG_URL=${PG_URL:?set PG_URL to a PostgreSQL server URL, e.g. postgres://postgres@127.0.0.1:55433/postgres}
SAMPLES=${SAMPLES:-200}
DURATION=${DURATION:-5s}
DATA=bench/data
JSONL="$DATA/items-$N.jsonl"
DB="$DATA/pg-compare-$N.db"
mkdir -p "$DATA"
for tool in wrk nginx psql curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool missing" >&2; exit 1; }
done

cargo build --release --bin herald --example generate
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
HERALD=$TARGET/release/herald
GEN=$TARGET/release/examples/generate
export RUST_LOG=warn,sqlx::query=error
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -f "$work/nginx.pid" ]; then nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; fi
    sleep 0.3
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

[[ -s "$JSONL" ]] || "$GEN" "$N" >"$JSONL"
PUBLIC=http://bench.test/
if [[ "${KEEP_DB:-0}" != 1 || ! -s "$DB" ]]; then
    rm -f "$DB" "$DB-wal" "$DB-shm"
    DATABASE_URL="sqlite://$DB" HERALD_PUBLIC_URL=$PUBLIC "$HERALD" import "$JSONL"
fi
PG_BENCH_URL="${PG_URL%/*}/herald_bench"
psql "$PG_URL" -qc 'DROP DATABASE IF EXISTS herald_bench' -c 'CREATE DATABASE herald_bench'
/usr/bin/time -f "copy-store SQLite -> PostgreSQL: %e s" \
    "$HERALD" copy-store --from "sqlite://$DB" --to "$PG_BENCH_URL"

# serve URL PORT: a replica on PORT, waited for.
serve() {
    "$HERALD" serve --database-url "$1" --bind "127.0.0.1:$2" --public-url "$PUBLIC" \
        --seed-dir /nonexistent >"$work/serve-$2.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do curl -fsS -o /dev/null "http://127.0.0.1:$2/healthz" 2>/dev/null && return; sleep 0.1; done
    echo "replica on $2 did not start" >&2; cat "$work/serve-$2.log" >&2; exit 1
}

latency() {
    local name=$1 url=$2 args=()
    for ((i = 0; i < 20; i++)); do args+=(-o /dev/null "$url"); done
    curl -s "${args[@]}" >/dev/null
    args=()
    for ((i = 0; i < SAMPLES; i++)); do args+=(-o /dev/null "$url"); done
    curl -s -w '%{time_total}\n' "${args[@]}" | sort -n |
        awk -v name="$name" '{a[NR] = $1} END {printf "%-30s p50 %7.2f ms  p90 %7.2f ms\n", name, a[int(NR * 0.5)] * 1000, a[int(NR * 0.9)] * 1000}'
}

rps() {
    printf '%-30s ' "$1"
    wrk -t2 -c64 -d"$DURATION" "$2" | awk '/Requests\/sec/ {printf "%10.0f req/s\n", $2}'
}

# The same deep cursor for both engines: the item 90 % down the public newest-first order.
now=$(date +%s)
row=$(psql "$PG_BENCH_URL" -Atc "SELECT published_at || ':' || id FROM news_items WHERE status = 'published' AND published_at <= $now ORDER BY published_at DESC, id DESC LIMIT 1 OFFSET $((N * 9 / 10 - 1))")
cursor=$(printf 'v2:n:%s' "$row" | base64 -w0 | tr '+/' '-_' | tr -d '=')
word=$("$GEN" --word 2000)
tag="topic-$("$GEN" --word 0)"
paths=(
    "list|/api/v1/news?limit=20"
    "deep cursor|/api/v1/news?limit=20&cursor=$cursor"
    "tag|/api/v1/news?limit=20&tag=$tag"
    "q (mid word)|/api/v1/news?limit=20&q=$word"
    "feed (cached)|/feed.atom"
)

measure() {
    local engine=$1 url=$2 port
    port=$(free_port)
    serve "$url" "$port"
    echo "== $engine: one replica, sequential latency"
    for entry in "${paths[@]}"; do latency "${entry%%|*}" "http://127.0.0.1:$port${entry#*|}"; done
    echo "== $engine: wrk -t2 -c64 -d$DURATION"
    for entry in "${paths[@]}"; do rps "${entry%%|*}" "http://127.0.0.1:$port${entry#*|}"; done
    kill "${pids[-1]}"; unset 'pids[-1]'; sleep 0.3
}

echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure SQLite "sqlite://$DB"
measure PostgreSQL "$PG_BENCH_URL"

# Replicas behind nginx: the same config as deploy/nginx.conf, on free ports.
front=$(free_port) r1=$(free_port) r2=$(free_port)
nginx_conf() {
    sed -e "s/listen 8080;/listen 127.0.0.1:$front;/" \
        -e "s/127.0.0.1:8081/127.0.0.1:$r1/" -e "s/127.0.0.1:8082/127.0.0.1:$2/" \
        -e "s|^events {|pid $work/nginx.pid;\nerror_log $work/nginx-error.log;\nevents {|" \
        -e "s|^http {|http {\n    access_log off;\n    client_body_temp_path $work;\n    proxy_temp_path $work;|" \
        deploy/nginx.conf >"$work/nginx.conf"
    [ "$1" = restart ] && nginx -c "$work/nginx.conf" -s stop && sleep 0.5
    nginx -c "$work/nginx.conf"
    for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$front/healthz" 2>/dev/null && return; sleep 0.1; done
}
serve "$PG_BENCH_URL" "$r1"
# One replica: both upstream lines name it.
nginx_conf start "$r1"
echo "== PostgreSQL, nginx in front of one replica: wrk -t2 -c64 -d$DURATION"
for entry in "${paths[@]}"; do rps "${entry%%|*}" "http://127.0.0.1:$front${entry#*|}"; done
serve "$PG_BENCH_URL" "$r2"
nginx_conf restart "$r2"
echo "== PostgreSQL, nginx in front of two replicas: wrk -t2 -c64 -d$DURATION"
for entry in "${paths[@]}"; do rps "${entry%%|*}" "http://127.0.0.1:$front${entry#*|}"; done
echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg)"
