#!/usr/bin/env bash
# Runs every check and test of gdpr-ledger. Tests, benchmarks and the server share the release
# profile, so RocksDB is compiled once.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh

step() { printf '\n==> %s\n' "$*"; }

results=$(mktemp)
trap 'rm -f "$results"' EXIT
run_tests() { cargo test "$@" 2>&1 | tee -a "$results"; }

step "formatting"
cargo fmt --all -- --check

step "the pure core depends on no server crate"
deps=$(cargo tree --locked -e normal --no-default-features --prefix none --format '{p}')
if echo "$deps" | grep -E '^(tokio|tonic|rocksdb|librocksdb-sys)( |$)'; then
  echo "the core build pulls in a server dependency (above)" >&2
  exit 1
fi
echo "ok: no tokio, tonic or rocksdb without the server feature"

step "clippy, both feature modes"
cargo clippy --locked --release --no-default-features --all-targets -- -D warnings
cargo clippy --locked --release --all-targets -- -D warnings

step "web/ dependencies (tests/integration/monitor.rs runs web/bin/monitor.js)"
(cd web && npm ci --no-audit --no-fund --loglevel=error)

step "clients/node dependencies (tests/integration/node_client.rs runs its example; tests/integration/proto_tooling.rs runs buf)"
(cd clients/node && npm ci --no-audit --no-fund --loglevel=error)

step "tests: the pure core and the offline verifier (no server feature)"
run_tests --locked --release --no-default-features

step "tests: everything (server, storage, gRPC, crash)"
run_tests --locked --release

step "tests: the independent JavaScript verifier (web/, node's test runner)"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm test) 2>&1 | tee -a "$results"

# Every cargo `test result:` line and node's `# pass` / `# fail` lines are summed into one
# closing line, so the total is plain to see.
awk '/^test result:/ { passed += $4; failed += $6 }
     /^# pass / { passed += $3 } /^# fail / { failed += $3 }
     END { printf "\ntests: %d passed, %d failed\n", passed, failed }' "$results"
