#!/usr/bin/env bash
# Search SQL side by side (BENCHMARKS.md, "Current results"): the page query Herald ran before
# the date-ordered search key (FTS5 rowid = item id, every match looked up and sorted by date)
# against the one it runs now, and relevance with every match's status checked against only the
# best-scored candidates checked. Runs on the database `bench/scale.sh` built; one process, no
# HTTP, statements alternated so both see the same machine.
#
#   bench/search-compare.sh [N]     # N defaults to 1,000,000
#
# Builds a scratch external-content FTS5 table `old_fts` (rowid = id) in that database first
# (about two minutes at a million items) and drops it at the end. Needs sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
DB=bench/data/scale-$N.db
ROUNDS=${ROUNDS:-20}
[[ -s "$DB" ]] || { echo "no $DB: run bench/scale.sh $N first" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing: apt-get install -y sqlite3" >&2; exit 1; }

cargo build --release --example generate --example sqltime
GEN=target/release/examples/generate
TIME=target/release/examples/sqltime
K=536870912 # 2^29: an id's bits in the search key (src/store/fts.rs)
now=$(date +%s)

trap 'sqlite3 "$DB" "DROP TABLE IF EXISTS old_fts"' EXIT
echo "== building old_fts (rowid = id)"
sqlite3 "$DB" "DROP TABLE IF EXISTS old_fts;
  CREATE VIRTUAL TABLE old_fts USING fts5(title, summary, content_markdown,
    content = 'news_items', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
  INSERT INTO old_fts (old_fts, rank) VALUES ('hashsize', 33554432);
  INSERT INTO old_fts (old_fts) VALUES ('rebuild');"

mid=$("$GEN" --word 2000)
rare=$("$GEN" --word 20000)
w0=$("$GEN" --word 0)
w1=$("$GEN" --word 1)
pre=$("$GEN" --word 3000)
pre="${pre:0:${#pre}-1}*"

echo "== newest-first page of 20: before, now"
for term in "$rare" "$mid" "$mid $w0" "\"$w0 $w1\"" "$pre"; do
    echo "-- q = $term"
    "$TIME" "$DB" "$ROUNDS" \
        "SELECT i.id FROM old_fts CROSS JOIN news_items i INDEXED BY news_items_keys
           ON i.id = old_fts.rowid WHERE old_fts MATCH '$term' AND i.status = 'published'
           AND i.published_at <= $now ORDER BY i.published_at DESC, i.id DESC LIMIT 21" \
        "SELECT i.id FROM news_fts CROSS JOIN news_items i INDEXED BY news_items_keys
           ON i.id = news_fts.rowid & ($K - 1) WHERE news_fts MATCH '$term'
           AND i.status = 'published' AND news_fts.rowid <= ($now + 1) * $K - 1
           ORDER BY news_fts.rowid DESC LIMIT 21"
done

echo "== relevance page of 20 (bm25 stands in for herald_rank): every match checked, best 100 checked"
for term in "$rare" "$mid"; do
    echo "-- q = $term"
    "$TIME" "$DB" "$ROUNDS" \
        "SELECT i.id, bm25(news_fts) AS s FROM news_fts CROSS JOIN news_items i
           INDEXED BY news_items_keys ON i.id = news_fts.rowid & ($K - 1)
           WHERE news_fts MATCH '$term' AND i.status = 'published'
           AND news_fts.rowid <= ($now + 1) * $K - 1 ORDER BY s, i.id DESC LIMIT 21" \
        "SELECT c.id FROM (SELECT news_fts.rowid & ($K - 1) AS id, bm25(news_fts) AS s
           FROM news_fts WHERE news_fts MATCH '$term' AND news_fts.rowid <= ($now + 1) * $K - 1
           ORDER BY s, id DESC LIMIT 100) c CROSS JOIN news_items i INDEXED BY news_items_keys
           ON i.id = c.id WHERE i.status = 'published' ORDER BY c.s, c.id DESC LIMIT 21"
done
