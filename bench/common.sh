# Shared by the bench scripts (sourced): a free port, and the benchmark's seed page.

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# 20 items of about 2 KB of HTML each, as a Jekyll page in folder $1. PARAGRAPHS=4 makes them
# about 1.3 KB (the issue's own measurements used items of about 1.2 KB).
write_seed() {
    mkdir -p "$1"
    {
        printf -- '---\ntitle: Bench\n---\n\n'
        for i in $(seq 1 20); do
            printf '## Benchmark item %d\n### 2025-01-%02d\n\n' "$i" "$i"
            for p in $(seq 1 "${PARAGRAPHS:-6}"); do
                printf 'Paragraph %d of item %d: Herald serves news to frontends as JSON and to readers as feeds, with **strong validators**, [a link](https://example.org/%d/%d) and some *emphasis* so the HTML is realistic.\n\n' "$p" "$i" "$i" "$p"
            done
            printf -- '---\n\n'
        done
    } >"$1/bench.md"
}

# Starts `$1 serve` on a fresh store in folder $2 (seeded from $2/seed) and waits for its first
# feed; sets herald_pid and herald_port.
start_herald() {
    herald_port=$(free_port)
    "$1" serve --bind "127.0.0.1:$herald_port" --database-url "sqlite://$2/herald.db" \
        --seed-dir "$2/seed" >"$2/herald.log" 2>&1 &
    herald_pid=$!
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$herald_port/feed.atom" 2>/dev/null && break
        sleep 0.1
    done
}
