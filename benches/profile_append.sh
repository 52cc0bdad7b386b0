#!/usr/bin/env bash
# Where the server's CPU goes per durable entry: starts `gdpr-ledger serve` on a fresh data dir,
# runs the load generator (16 clients x 100 events per call by default) for a while under
# `perf record` (call graphs, the server's process only), then prints the server CPU per entry
# (from /proc) and perf's flat and inclusive top symbols (PERF_DATA=file keeps the recording, for
# `perf report -i file`). Needs perf (linux-perf). Usage:
#   benches/profile_append.sh [seconds] [clients] [batch] [--varied]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
clients="${2:-16}"
batch="${3:-100}"
varied="${4:-}"

command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 1; }
cargo build --release --locked --bin gdpr-ledger
bin="${CARGO_TARGET_DIR:-target}/release/gdpr-ledger"
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=benches/ledger_server.sh
source benches/ledger_server.sh
ledger_serve "$bin" "$work/data" "$work/secrets" "$work"
server=$ledger_pid
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
perf record -q -g -F 499 -p "$server" -o "$work/perf.data" 2>/dev/null &
perf_pid=$!
before=$(cpu)
"$bin" bench --addr "$ledger_addr" --token "$ledger_token" \
  --seconds "$seconds" --batch "$batch" --clients "$clients" $varied | tee "$work/bench"
after=$(cpu)
kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
n=$(grep -oE "tree size [0-9]+" "$work/bench" | grep -oE "[0-9]+" | tail -1)
echo "server CPU per durable entry: $(( (after - before) * 1000000 / ticks / n )) us ($n entries)"
echo "--- flat (self) ---"
perf report -i "$work/perf.data" --no-children --stdio --sort symbol -g none 2>/dev/null | cut -c1-160 \
  | grep -E '^ +[0-9]' | head -40 || true
echo "--- inclusive (children) ---"
perf report -i "$work/perf.data" --children --stdio --sort symbol -g none 2>/dev/null | cut -c1-160 \
  | grep -E '^ +[0-9]' | head -60 || true
if [ -n "${PERF_DATA:-}" ]; then cp "$work/perf.data" "$PERF_DATA"; echo "perf data kept in $PERF_DATA"; fi
