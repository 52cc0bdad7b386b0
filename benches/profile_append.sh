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

port=$((20000 + RANDOM % 20000))
"$bin" serve --data-dir "$work/data" --secrets-dir "$work/secrets" --listen "127.0.0.1:$port" \
  > "$work/server.out" 2> "$work/server.err" &
server=$!
for _ in $(seq 1 300); do
  grep -q "listening on" "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
perf record -q -g -F 499 -p "$server" -o "$work/perf.data" 2>/dev/null &
perf_pid=$!
before=$(cpu)
"$bin" bench --addr "127.0.0.1:$port" --token "$(cat "$work/secrets/dev-admin-token")" \
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
