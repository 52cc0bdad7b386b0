#!/usr/bin/env bash
# Where the cores go during appends, thread by thread: starts `BIN serve` on a fresh data dir,
# runs the load generator (16 clients x 100 events per call by default) for SECONDS, and over the
# middle of the run (the first and last two seconds left out) prints each server thread's share
# of one core (threads of one name summed: the tokio workers are `gdpr-ledger`, RocksDB's flushes
# `rocksdb:high`), the load generator's, and how much of the machine stayed idle. A pipeline
# bound by one thread shows it near 100% with idle left; one bound by the cores shows no idle.
#
#   benches/threads_append.sh [BIN] [seconds] [clients] [batch] [--varied]
#
# BIN defaults to the release build of this tree (built first).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
seconds="${2:-16}"
clients="${3:-16}"
batch="${4:-100}"
varied="${5:-}"
if [ "$seconds" -lt 6 ]; then
  echo "seconds: at least 6 (the first and last two are left out)" >&2
  exit 2
fi
if [ -z "$bin" ]; then
  cargo build --release --locked --bin gdpr-ledger
  bin="${CARGO_TARGET_DIR:-target}/release/gdpr-ledger"
fi
work=$(mktemp -d)
server=""
client=""
trap '[ -n "$client" ] && kill "$client" 2>/dev/null; [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=benches/ledger_server.sh
source benches/ledger_server.sh
ledger_serve "$bin" "$work/data" "$work/secrets" "$work"
server=$ledger_pid

# CPU ticks (user + system) of each thread of the server, summed by thread name.
threads() {
  for task in /proc/"$server"/task/*; do
    # A thread may end between the listing and the read.
    read -r name < "$task/comm" 2>/dev/null || continue
    awk -v name="$name" '{print name, $14 + $15}' "$task/stat" 2>/dev/null || true
  done | awk '{ticks[$1] += $2} END {for (n in ticks) print n, ticks[n]}' | sort
}
process() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Idle and I/O-wait ticks of the whole machine, and its number of cores.
idle() { awk '/^cpu / {print $5 + $6}' /proc/stat; }
cores=$(getconf _NPROCESSORS_ONLN)

"$bin" bench --addr "$ledger_addr" --token "$ledger_token" \
  --seconds "$seconds" --clients "$clients" --batch "$batch" $varied > "$work/bench" 2>&1 &
client=$!
sleep 2
threads > "$work/before"
client_before=$(process "$client")
idle_before=$(idle)
window=$((seconds - 4))
sleep "$window"
threads > "$work/after"
client_after=$(process "$client")
idle_after=$(idle)
wait "$client"
client=""
ticks=$(getconf CLK_TCK)

head -2 "$work/bench"
echo "share of one core over the middle $window s:"
join -a 2 -e 0 -o 0,1.2,2.2 "$work/before" "$work/after" \
  | awk -v t="$ticks" -v w="$window" '{printf "  %-18s %6.1f%%\n", $1, 100 * ($3 - $2) / t / w}' \
  | sort -k2 -rn
awk -v t="$ticks" -v w="$window" -v a="$client_before" -v b="$client_after" \
  'BEGIN {printf "  %-18s %6.1f%%\n", "(load generator)", 100 * (b - a) / t / w}'
awk -v t="$ticks" -v w="$window" -v a="$idle_before" -v b="$idle_after" -v c="$cores" \
  'BEGIN {printf "  %-18s %6.1f%% (of %d%%)\n", "(machine idle)", 100 * (b - a) / t / w, 100 * c}'
