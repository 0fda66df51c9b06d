#!/usr/bin/env bash
# The JSON API's cached reads beside /feed.atom, and /feed.atom beside a bare actix-web handler
# serving the same bytes (bench/bare.rs), under Debian's wrk, in one run. Rounds alternate
# through every target so background load hits all alike; the medians of per-round ratios are
# the figures to read.
#
#   bench/json.sh                  # 3 rounds of 5 s per target
#   ROUNDS=5 bench/json.sh
#   PARAGRAPHS=4 bench/json.sh    # smaller items (see bench/common.sh)
#
# Needs wrk, curl and python3 (apt-get install wrk curl). Only 127.0.0.1 is loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
export RUST_LOG=${RUST_LOG:-warn}
target_dir=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet --bin herald --example bare
bin=$target_dir/release/herald
bare_bin=$target_dir/release/examples/bare
work=$(mktemp -d)
herald_pid=
bare_pid=
bare_list_pid=
bare_hdr_pid=
cleanup() {
    if [ -n "$herald_pid" ]; then kill "$herald_pid" 2>/dev/null || true; fi
    if [ -n "$bare_pid" ]; then kill "$bare_pid" 2>/dev/null || true; fi
    if [ -n "$bare_list_pid" ]; then kill "$bare_list_pid" 2>/dev/null || true; fi
    if [ -n "$bare_hdr_pid" ]; then kill "$bare_hdr_pid" 2>/dev/null || true; fi
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

write_seed "$work/seed"

start_herald "$bin" "$work"
base="http://127.0.0.1:$herald_port"
curl -fsS -D "$work/feed.headers" "$base/feed.atom" -o "$work/feed.atom"

bare_port=$(free_port)
"$bare_bin" "127.0.0.1:$bare_port" "$work/feed.atom" >"$work/bare.log" 2>&1 &
bare_pid=$!
bare="http://127.0.0.1:$bare_port/feed.atom"
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$bare" 2>/dev/null && break; sleep 0.1; done
cmp <(curl -fsS "$base/feed.atom") <(curl -fsS "$bare")

# The same ceiling for the list's own bytes: the list's page is bigger than the feed, so
# list / feed mixes what Herald's list path costs with what the extra bytes cost the stack;
# list / bare_list is the first alone.
curl -fsS "$base/api/v1/news?limit=20" -o "$work/list.json"
bare_list_port=$(free_port)
"$bare_bin" "127.0.0.1:$bare_list_port" "$work/list.json" >"$work/bare-list.log" 2>&1 &
bare_list_pid=$!
bare_list="http://127.0.0.1:$bare_list_port/api/v1/news"
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$bare_list" 2>/dev/null && break; sleep 0.1; done
cmp "$work/list.json" <(curl -fsS "$bare_list")

# And for the feed's bytes with every header Herald sends beside them (Vary, Cache-Control,
# Last-Modified, CORS, nosniff, a request id of the same length): feed / bare_hdr is what
# Herald's middleware and handler cost, bare_hdr / bare what its headers cost the connection.
bare_hdr_port=$(free_port)
"$bare_bin" "127.0.0.1:$bare_hdr_port" "$work/feed.atom" "$work/feed.headers" >"$work/bare-hdr.log" 2>&1 &
bare_hdr_pid=$!
bare_hdr="http://127.0.0.1:$bare_hdr_port/feed.atom"
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$bare_hdr" 2>/dev/null && break; sleep 0.1; done
cmp "$work/feed.atom" <(curl -fsS "$bare_hdr")

feed="$base/feed.atom"
list="$base/api/v1/news?limit=20"
item="$base/api/v1/news/1"
search="$base/api/v1/news?q=herald+validators"
etag() { curl -fsSI "$1" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }'; }
feed_etag=$(etag "$feed")
bare_etag=$(etag "$bare")
bare_hdr_etag=$(etag "$bare_hdr")
list_etag=$(etag "$list")
for pair in "$feed $feed_etag" "$bare $bare_etag" "$bare_hdr $bare_hdr_etag" "$list $list_etag"; do
    set -- $pair
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "$1")
    [ "$code" = 304 ] || { echo "expected 304 from $1, got $code"; exit 1; }
done
for url in "$list" "$item" "$search"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] || { echo "no 200 from $url"; exit 1; }
done
gzip_br='Accept-Encoding: gzip, deflate, br'

echo "feed $(wc -c <"$work/feed.atom") bytes; list $(curl -fsS "$list" | wc -c) bytes, $(curl -fsS -H "$gzip_br" --output - "$list" | wc -c) brotli"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS alternating rounds, RUST_LOG=$RUST_LOG, load before: $(cut -d' ' -f1-3 /proc/loadavg)"

run() { # url [header] -> requests/sec
    local out
    if [ $# -gt 1 ]; then
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "$2" "$1")
    else
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1")
    fi
    if grep -q 'Non-2xx' <<<"$out" && { [ $# -eq 1 ] || [ "$2" = "$gzip_br" ]; }; then
        echo "non-2xx answers from $1" >&2
        exit 1
    fi
    awk '/Requests\/sec/ { print $2 }' <<<"$out"
}

columns="feed bare bare_hdr list bare_list feed_br list_br item search feed304 bare304 bare_hdr304 list304"
results="$work/results"
echo "round $columns" | tr ' ' '\t'
for round in $(seq 1 "$ROUNDS"); do
    row=("$round"
        "$(run "$feed")"
        "$(run "$bare")"
        "$(run "$bare_hdr")"
        "$(run "$list")"
        "$(run "$bare_list")"
        "$(run "$feed" "$gzip_br")"
        "$(run "$list" "$gzip_br")"
        "$(run "$item")"
        "$(run "$search")"
        "$(run "$feed" "If-None-Match: $feed_etag")"
        "$(run "$bare" "If-None-Match: $bare_etag")"
        "$(run "$bare_hdr" "If-None-Match: $bare_hdr_etag")"
        "$(run "$list" "If-None-Match: $list_etag")")
    echo "${row[*]}" | tee -a "$results" | tr ' ' '\t'
done
echo "herald peak resident memory: $(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$herald_pid/status"); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$columns" <<'PY'
import statistics, sys
names = sys.argv[2].split()
rows = [dict(zip(names, map(float, line.split()[1:]))) for line in open(sys.argv[1])]
def ratio(a, b):
    return statistics.median(r[a] / r[b] for r in rows)
print("medians of per-round req/s: " + ", ".join(
    f"{n} {statistics.median(r[n] for r in rows):.0f}" for n in names))
for a, b, target in [
    ("list", "feed", 0.8), ("list", "bare_list", None), ("bare_list", "bare", None), ("list_br", "feed_br", 0.8), ("item", "feed", 0.8),
    ("search", "feed", 0.8), ("list304", "feed304", 0.8),
    ("feed", "bare", 0.95), ("feed304", "bare304", 0.95),
    ("feed", "bare_hdr", None), ("feed304", "bare_hdr304", None),
    ("bare_hdr", "bare", None), ("bare_hdr304", "bare304", None),
]:
    r = ratio(a, b)
    if target is None:
        what = {
            "bare_list": "the stack's ceiling for the list's bytes",
            "bare_hdr": "the stack's ceiling with Herald's headers",
            "bare_hdr304": "the stack's ceiling with Herald's headers",
        }.get(b) or {
            "bare_list": "what the list's bigger body costs the stack",
            "bare_hdr": "what Herald's headers cost the stack",
            "bare_hdr304": "what Herald's headers cost the stack",
        }[a]
        print(f"{a} / {b}: {r:.2f}x (reference: {what})")
    else:
        print(f"{a} / {b}: {r:.2f}x (target >= {target}) {'met' if r >= target else 'NOT MET'}")
PY
