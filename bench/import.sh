#!/usr/bin/env bash
# Import benchmark (issue 14, item 5): `herald import` of N generated items (JSON Lines) into
#   a) an existing, empty store (migrated first): the journaled path every import into a
#      store in use takes, and
#   b) a store that does not exist yet ("fresh"): built aside without a journal, its
#      full-text index filled once from the finished rows at the end (the log line "filled the
#      full-text index" gives that fill's own rate: FTS5's ceiling, in the same run),
# alternating rounds, so both see the same machine. Release build; work files in bench/data/.
#
#   bench/import.sh [N] [ROUNDS]     # N defaults to 100,000, ROUNDS to 2
#   PATHS=fresh bench/import.sh 1000000 1   # one path only
#   KEEP_DB=1 …                             # keep the last store built (bench/data/import-*.db)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-100000}
ROUNDS=${2:-2}
DATA=bench/data
JSONL="$DATA/items-$N.jsonl"
mkdir -p "$DATA"
target=${CARGO_TARGET_DIR:-target}
cargo build --release --bin herald --example generate
HERALD=$target/release/herald
[[ -s "$JSONL" ]] || "$target/release/examples/generate" "$N" > "$JSONL"
echo "== $N items, $(du -h "$JSONL" | cut -f1) of JSON Lines; load: $(cut -d' ' -f1-3 /proc/loadavg)"

export RUST_LOG=info,sqlx::query=error
for round in $(seq 1 "$ROUNDS"); do
    for path in ${PATHS:-journaled fresh}; do
        db="$DATA/import-$path.db"
        rm -f "$db" "$db-wal" "$db-shm"
        if [[ $path == journaled ]]; then
            "$HERALD" migrate --database-url "sqlite://$db" >/dev/null 2>&1
        fi
        out=$("$HERALD" import --database-url "sqlite://$db" "$JSONL" 2>&1)
        rate=$(grep -o '([0-9]* items/s)' <<<"$out" | tr -d '()')
        fill=$(grep 'filled the full-text index' <<<"$out" | grep -o 'items_per_sec=[0-9.]*' | cut -d= -f2 || true)
        echo "round $round  $path: $rate${fill:+  (full-text index alone: ${fill%.*} items/s)}"
        [[ "${KEEP_DB:-0}" == 1 ]] || rm -f "$db" "$db-wal" "$db-shm"
    done
done
