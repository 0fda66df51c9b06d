#!/usr/bin/env bash
# Media (issue 16): the time to upload and process a 4000×3000 JPEG (decode, orient, resize to
# four widths, encode each as JPEG and WebP, store; target ≤ 1.5 s), and `/media/{path}` beside
# `/feed.atom` under wrk in the same run, rounds alternating so background load hits both alike
# (target: media ≥ 0.8× the feed's requests per second).
#
#   bench/media.sh                  # 5 uploads, 3 rounds of 5 s per target
#   ROUNDS=5 UPLOADS=10 bench/media.sh
#   SKIP_BUILD=1 bench/media.sh     # with the release binary as it is
#
# Needs wrk, curl and python3. Only 127.0.0.1 is loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

ROUNDS=${ROUNDS:-3}
UPLOADS=${UPLOADS:-5}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
export RUST_LOG=${RUST_LOG:-warn}
target_dir=${CARGO_TARGET_DIR:-target}

# SKIP_BUILD=1: use the release binary already built. The generator's speed is not measured,
# so it is a debug build.
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin herald
cargo build --quiet --example make_jpeg
bin=$target_dir/release/herald
make_jpeg=$target_dir/debug/examples/make_jpeg
work=$(mktemp -d)
herald_pid=
cleanup() {
    if [ -n "$herald_pid" ]; then kill "$herald_pid" 2>/dev/null || true; fi
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

write_seed "$work/seed"
start_herald "$bin" "$work"
base="http://127.0.0.1:$herald_port"
token=$("$bin" token create --database-url "sqlite://$work/herald.db" --name bench 2>/dev/null)

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Different photos each time (the same bytes twice would be the stored medium, no work).
times=()
for i in $(seq 1 "$UPLOADS"); do
    "$make_jpeg" 4000 "$((3000 - i))" "$work/photo.jpg"
    out=$(curl -fsS -o "$work/medium.json" -w '%{http_code} %{time_total}' \
        -H "Authorization: Bearer $token" -H 'Content-Type: image/jpeg' \
        --data-binary @"$work/photo.jpg" "$base/api/v1/media")
    set -- $out
    [ "$1" = 201 ] || { echo "upload answered $1"; cat "$work/medium.json"; exit 1; }
    times+=("$2")
    echo "upload $i: $(wc -c <"$work/photo.jpg") bytes, 4000x$((3000 - i)), $2 s, $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(len(m["variants"]), "variants")' "$work/medium.json")"
done
printf '%s\n' "${times[@]}" | python3 -c '
import statistics, sys
t = [float(l) for l in sys.stdin]
m = statistics.median(t)
print(f"upload and process 4000x3000 JPEG: median {m:.2f} s, best {min(t):.2f} s (target <= 1.5 s)", "met" if m <= 1.5 else "NOT MET")'

# A 640-wide WebP variant: the size a page shows most.
media=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print([v["url"] for v in m["variants"] if v["width"]==640 and v["type"]=="image/webp"][0])' "$work/medium.json")
feed="$base/feed.atom"
echo "media file $(curl -fsS "$media" | wc -c) bytes; feed $(curl -fsS "$feed" | wc -c) bytes"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS alternating rounds"

run() { # url -> requests/sec
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1")
    if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers from $1" >&2; exit 1; fi
    awk '/Requests\/sec/ { print $2 }' <<<"$out"
}
results="$work/results"
printf 'round\tfeed\tmedia\n'
for round in $(seq 1 "$ROUNDS"); do
    row=("$round" "$(run "$feed")" "$(run "$media")")
    echo "${row[*]}" | tee -a "$results" | tr ' ' '\t'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" <<'PY'
import statistics, sys
rows = [list(map(float, line.split()[1:])) for line in open(sys.argv[1])]
r = statistics.median(m / f for f, m in rows)
print(f"medians: feed {statistics.median(f for f, _ in rows):.0f} req/s, media {statistics.median(m for _, m in rows):.0f} req/s")
print(f"media / feed: {r:.2f}x (target >= 0.8) {'met' if r >= 0.8 else 'NOT MET'}")
PY
