#!/usr/bin/env bash
# Browser end-to-end test: Herald (debug build, fresh seeded database) on one port, the example
# frontend served by python3 on another, headless Chromium (playwright-core) checking the page.
# Needs /usr/bin/chromium, node with `npm ci` done in e2e/, python3. Screenshots: target/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cargo build --quiet --bin herald
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

api_port=$(free_port)
web_port=$(free_port)
page_origin="http://127.0.0.1:$web_port"
mkdir -p target/e2e

DATABASE_URL="sqlite://$work/herald.db" \
HERALD_BIND="127.0.0.1:$api_port" \
HERALD_SEED_DIR=seed \
HERALD_CORS_ORIGINS="$page_origin" \
RUST_LOG=info \
    "${CARGO_TARGET_DIR:-target}"/debug/herald serve >target/e2e/herald-browser.log 2>&1 &
pids+=($!)
python3 -m http.server --bind 127.0.0.1 --directory examples/frontend "$web_port" \
    >target/e2e/http-server.log 2>&1 &
pids+=($!)

HERALD_URL="http://127.0.0.1:$api_port" PAGE_URL="$page_origin" SHOT_DIR=target/e2e \
    node e2e/browser.mjs
