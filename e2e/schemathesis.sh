#!/usr/bin/env bash
# Conformance: schemathesis against a live Herald (debug build, fresh seeded database, a write
# token), every check on. Needs `pip install schemathesis`. Report: target/e2e/schemathesis.txt.
# Settings that explain the few tolerated statuses live in schemathesis.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

examples=${SCHEMATHESIS_MAX_EXAMPLES:-200}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cargo build --quiet --bin herald
work=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p target/e2e

export DATABASE_URL="sqlite://$work/herald.db"
token=$("${CARGO_TARGET_DIR:-target}"/debug/herald token create --name schemathesis 2>/dev/null)
# The run checks the contract, not the rate limits (its own tests do): thousands of writes and
# deliberately bad credentials a minute would otherwise be answered 429. The webhooks it creates
# (to generated URLs) are queued, never sent.
HERALD_BIND="127.0.0.1:$port" HERALD_SEED_DIR=seed RUST_LOG=warn \
    HERALD_RATE_LIMIT_WRITES=0 HERALD_RATE_LIMIT_AUTH_FAILURES=0 HERALD_WEBHOOK_DELIVERY=false \
    "${CARGO_TARGET_DIR:-target}"/debug/herald serve >target/e2e/herald-schemathesis.log 2>&1 &
server=$!
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.2
done

status=0
schemathesis --config-file schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
    --checks all \
    --max-examples "$examples" \
    --seed 1 \
    -H "Authorization: Bearer $token" \
    >target/e2e/schemathesis.txt 2>&1 || status=$?
tail -n 25 target/e2e/schemathesis.txt
exit "$status"
