#!/usr/bin/env bash
# Scale benchmark (issue 5): builds a database of N generated items through `herald import`,
# then measures list, deep-cursor, search, tag and date queries, throughput under wrk, memory
# and start-up time against it. One process at a time; only 127.0.0.1 traffic.
#
#   bench/scale.sh [N]            # N defaults to 1,000,000
#
# Needs curl and wrk (`apt-get install -y wrk`). Work files go to bench/data/ (git-ignored);
# an existing bench/data/items-N.jsonl is reused, the database is always rebuilt
# (KEEP_DB=1 keeps an existing one and skips the import).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT"
DATA=bench/data
JSONL="$DATA/items-$N.jsonl"
DB="$DATA/scale-$N.db"
SAMPLES=${SAMPLES:-200}
mkdir -p "$DATA"

command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }

cargo build --release --bin herald --example generate
HERALD=target/release/herald
GEN=target/release/examples/generate

if [[ ! -s "$JSONL" ]]; then
    echo "== generating $N items into $JSONL"
    /usr/bin/time -f "generated in %e s" "$GEN" "$N" > "$JSONL"
fi
echo "== input: $(du -h "$JSONL" | cut -f1) of JSON Lines"

export DATABASE_URL="sqlite://$DB"
export HERALD_PUBLIC_URL="$BASE/"
# sqlx warns about every statement over a second; a 1,000-row INSERT under load is one.
export RUST_LOG=warn,sqlx::query=error

if [[ "${KEEP_DB:-0}" != 1 || ! -s "$DB" ]]; then
    rm -f "$DB" "$DB-wal" "$DB-shm"
    echo "== import (first run)"
    "$HERALD" import "$JSONL"
    echo "== import again (idempotent: everything unchanged)"
    "$HERALD" import "$JSONL"
fi
echo "== database: $(du -h "$DB" | cut -f1)"

# Start-up: from exec to the first 200 of a list request.
t0=$(date +%s%N)
"$HERALD" serve --bind "127.0.0.1:$PORT" --seed-dir /nonexistent &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf -o /dev/null "$BASE/api/v1/news?limit=20"; do sleep 0.005; done
t1=$(date +%s%N)
echo "startup_to_first_200_ms $(( (t1 - t0) / 1000000 ))"

# p50 and p90 in ms of SAMPLES sequential requests over one keep-alive connection.
latency() {
    local name=$1 url=$2 args=()
    for ((i = 0; i < 20; i++)); do args+=(-o /dev/null "$url"); done
    curl -s "${args[@]}" >/dev/null
    args=()
    for ((i = 0; i < SAMPLES; i++)); do args+=(-o /dev/null "$url"); done
    curl -s -w '%{time_total}\n' "${args[@]}" | sort -n |
        awk -v name="$name" '{a[NR] = $1} END {printf "%-28s p50 %7.2f ms  p90 %7.2f ms\n", name, a[int(NR * 0.5)] * 1000, a[int(NR * 0.9)] * 1000}'
}

now=$(date +%s)
# The item 900,000 places deep in the public newest-first order, as a cursor.
deep=$((N * 9 / 10))
row=$(sqlite3 "$DB" "SELECT published_at || ':' || id FROM news_items WHERE status = 'published' AND published_at <= $now ORDER BY published_at DESC, id DESC LIMIT 1 OFFSET $((deep - 1))")
cursor=$(printf 'v2:n:%s' "$row" | base64 -w0 | tr '+/' '-_' | tr -d '=')

mid=$("$GEN" --word 2000)
rare=$("$GEN" --word 20000)
w0=$("$GEN" --word 0)
w1=$("$GEN" --word 1)
pre=$("$GEN" --word 3000)
pre=${pre:0:${#pre}-1}
tag_big="topic-$("$GEN" --word 0)"
tag_small="topic-$("$GEN" --word 40)"
count() { sqlite3 "$DB" "SELECT count(*) FROM news_fts WHERE news_fts MATCH '$1'"; }
echo "search terms: mid=$mid ($(count "$mid") items) rare=$rare ($(count "$rare") items) prefix=$pre* ($(count "\"$pre\" *") items) phrase=\"$w0 $w1\""
echo "tags: $tag_big ($(sqlite3 "$DB" "SELECT count(*) FROM news_tags WHERE tag = '$tag_big'") items) $tag_small ($(sqlite3 "$DB" "SELECT count(*) FROM news_tags WHERE tag = '$tag_small'") items)"

latency "first page" "$BASE/api/v1/news?limit=20"
latency "page $deep deep (cursor)" "$BASE/api/v1/news?limit=20&cursor=$cursor"
latency "first page, 3 fields" "$BASE/api/v1/news?limit=20&fields=id,title,published_at"
latency "q rare word" "$BASE/api/v1/news?limit=20&q=$rare"
latency "q mid word" "$BASE/api/v1/news?limit=20&q=$mid"
latency "q mid word, relevance" "$BASE/api/v1/news?limit=20&q=$mid&sort=relevance"
latency "q two words" "$BASE/api/v1/news?limit=20&q=$mid+$w0"
latency "q phrase" "$BASE/api/v1/news?limit=20&q=%22$w0+$w1%22"
latency "q prefix" "$BASE/api/v1/news?limit=20&q=$pre*"
latency "tag (big)" "$BASE/api/v1/news?limit=20&tag=$tag_big"
latency "tag (small)" "$BASE/api/v1/news?limit=20&tag=$tag_small"
latency "two tags" "$BASE/api/v1/news?limit=20&tag=$tag_big&tag=$tag_small"
latency "date range (1 month)" "$BASE/api/v1/news?limit=20&since=2010-01-01&until=2010-01-31"
latency "date range, oldest first" "$BASE/api/v1/news?limit=20&since=2010-01-01&sort=published_at"
latency "tag + date range" "$BASE/api/v1/news?limit=20&tag=$tag_big&since=2010-01-01&until=2010-12-31"
SAMPLES=20 latency "count=true (no filter)" "$BASE/api/v1/news?limit=20&count=true"
SAMPLES=20 latency "count=true (big tag)" "$BASE/api/v1/news?limit=20&count=true&tag=$tag_big"
SAMPLES=20 latency "GET /api/v1/tags" "$BASE/api/v1/tags"

# Throughput, with the server's resident memory sampled while wrk runs.
peak=0
( while kill -0 $PID 2>/dev/null; do grep VmRSS /proc/$PID/status | awk '{print $2}'; sleep 0.2; done ) > "$DATA/rss.txt" &
SAMPLER=$!
wrk -t2 -c64 -d10s --latency "$BASE/api/v1/news?limit=20"
kill $SAMPLER 2>/dev/null || true
peak=$(sort -n "$DATA/rss.txt" | tail -1)
echo "server_rss_peak_under_load_mib $((peak / 1024))"
echo "server_vmhwm_mib $(( $(grep VmHWM /proc/$PID/status | awk '{print $2}') / 1024 ))"
