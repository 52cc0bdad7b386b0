#!/usr/bin/env bash
# Durable append throughput and acknowledgement latency of the real server binary over loopback:
# starts `gdpr-ledger serve` on a fresh data dir (syncing on, as always), runs the load generator
# (`gdpr-ledger bench`) for 1, 16 and 64 clients, unary and batched, prints its table, the server's
# counters and RocksDB's statistics, then stops the server. Usage:
#   benches/load.sh [seconds per run] [batch sizes] [client counts]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
batches="${2:-1,100}"
clients="${3:-1,16,64}"

cargo build --release --locked --bin gdpr-ledger
bin="${CARGO_TARGET_DIR:-target}/release/gdpr-ledger"
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=benches/ledger_server.sh
source benches/ledger_server.sh
ledger_serve "$bin" "$work/data" "$work/secrets" "$work"
server=$ledger_pid
"$bin" bench --addr "$ledger_addr" --token "$ledger_token" --seconds "$seconds" \
  --batch "$batches" --clients "$clients"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
echo "server resident memory: $((rss_kb / 1024)) MiB now, $((hwm_kb / 1024)) MiB at most"
du -sh "$work/data" | awk '{print "data dir: " $1}'
