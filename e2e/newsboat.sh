#!/usr/bin/env bash
# Feed-reader end-to-end test: newsboat against a live Herald (see newsboat.py). Installs
# nothing: needs newsboat and python3 on PATH. Herald's log: target/e2e/herald-newsboat.log.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin herald
exec python3 e2e/newsboat.py
