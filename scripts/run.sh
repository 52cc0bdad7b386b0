#!/usr/bin/env bash
# Runs the gdpr-ledger server with working defaults: data in ./data, keys and secrets created on
# first start in ./secrets (mode 0600), gRPC on 127.0.0.1:50051. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what building and serving need (no test tools, no Python, no systemd).
./scripts/bootstrap.sh --serve
exec cargo run --release --locked -- serve "$@"
