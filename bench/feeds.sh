#!/usr/bin/env bash
# Herald's /feed.atom beside nginx serving the identical bytes as a static file, under Debian's
# wrk. Rounds alternate between the two servers so background load hits both alike.
#
#   bench/feeds.sh                      # 3 rounds of 10 s each, 200s then 304s
#   ROUNDS=5 RUST_LOG=info bench/feeds.sh
#
# Needs wrk, nginx, curl and python3 (apt-get install wrk nginx-light curl). Only 127.0.0.1 is loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
# Access logging is part of what is measured: `info` logs every request, `warn` does not.
export RUST_LOG=${RUST_LOG:-warn}
NGINX_ACCESS_LOG=${NGINX_ACCESS_LOG:-off}

cargo build --release --quiet --bin herald
bin=target/release/herald
work=$(mktemp -d)
herald_pid=
nginx_conf="$work/nginx.conf"
cleanup() {
    if [ -n "$herald_pid" ]; then kill "$herald_pid" 2>/dev/null || true; fi
    if [ -f "$work/nginx.pid" ]; then nginx -c "$nginx_conf" -s stop 2>/dev/null || true; fi
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www"
# nginx workers drop root privileges: let them read the static copy.
chmod 755 "$work" "$work/www"
write_seed "$work/seed"

start_herald "$bin" "$work"
herald="http://127.0.0.1:$herald_port/feed.atom"
curl -fsS "$herald" -o "$work/www/feed.atom"

nginx_port=$(free_port)
cat >"$nginx_conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
    types { application/atom+xml atom; }
    access_log $( [ "$NGINX_ACCESS_LOG" = off ] && echo off || echo "$work/nginx-access.log" );
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx-tmp;
    proxy_temp_path $work/nginx-tmp;
    fastcgi_temp_path $work/nginx-tmp;
    uwsgi_temp_path $work/nginx-tmp;
    scgi_temp_path $work/nginx-tmp;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
    }
}
NGINX
nginx -c "$nginx_conf"
nginx="http://127.0.0.1:$nginx_port/feed.atom"
for _ in $(seq 1 50); do curl -fsS -o /dev/null "$nginx" 2>/dev/null && break; sleep 0.1; done

# Same bytes from both; each server's own ETag for the 304 runs.
cmp <(curl -fsS "$herald") <(curl -fsS "$nginx")
etag() { curl -fsSI "$1" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }'; }
herald_etag=$(etag "$herald")
nginx_etag=$(etag "$nginx")
for pair in "$herald $herald_etag" "$nginx $nginx_etag"; do
    set -- $pair
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "$1")
    [ "$code" = 304 ] || { echo "expected 304 from $1, got $code"; exit 1; }
done

bytes=$(wc -c <"$work/www/feed.atom")
echo "feed: $bytes bytes; herald ETag $herald_etag, nginx ETag $nginx_etag"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS alternating rounds, RUST_LOG=$RUST_LOG, nginx access_log $NGINX_ACCESS_LOG"

run() { # url [header] -> requests/sec
    local out
    if [ $# -gt 1 ]; then
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "$2" "$1")
    else
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1")
    fi
    if grep -q 'Non-2xx' <<<"$out" && [ $# -eq 1 ]; then echo "non-2xx answers from $1" >&2; exit 1; fi
    awk '/Requests\/sec/ { print $2 }' <<<"$out"
}

# Per-round ratios: the machine is shared, so the median of the ratios is the robust figure;
# the ratio of the means is printed too.
results="$work/results"
printf '%-6s %12s %12s %7s   %12s %12s %7s\n' round herald-200 nginx-200 ratio herald-304 nginx-304 ratio
for round in $(seq 1 "$ROUNDS"); do
    h200=$(run "$herald")
    n200=$(run "$nginx")
    h304=$(run "$herald" "If-None-Match: $herald_etag")
    n304=$(run "$nginx" "If-None-Match: $nginx_etag")
    echo "$round $h200 $n200 $h304 $n304" | tee -a "$results" |
        awk '{ printf "%-6s %12.0f %12.0f %6.2fx   %12.0f %12.0f %6.2fx\n", $1, $2, $3, $2 / $3, $4, $5, $4 / $5 }'
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [list(map(float, line.split()[1:])) for line in open(sys.argv[1])]
h200, n200, h304, n304 = (list(col) for col in zip(*rows))
mean = statistics.mean
print(f"{'mean':<6} {mean(h200):12.0f} {mean(n200):12.0f} {mean(h200) / mean(n200):6.2f}x   "
      f"{mean(h304):12.0f} {mean(n304):12.0f} {mean(h304) / mean(n304):6.2f}x")
r200 = statistics.median(h / n for h, n in zip(h200, n200))
r304 = statistics.median(h / n for h, n in zip(h304, n304))
print(f"median ratio: 200s {r200:.2f}x (target >= 1.0), 304s {r304:.2f}x (target >= 1.2)")
PY
