#!/usr/bin/env bash
# Two server binaries side by side on the append path: for each of RUNS rounds, each binary in
# turn serves a fresh data dir while the same load generator (`gdpr-ledger bench`, 16 clients x
# 100 events per call by default) runs against it for SECONDS; prints appends per second, server
# CPU per durable entry (from /proc, user + system) and resident memory after the run.
# Alternating the two in one sitting is what makes a difference of a few percent visible: the
# same binary measures 10-20% apart from one hour to the next on these VMs.
#
#   benches/compare_append.sh OLD_BIN NEW_BIN [runs] [seconds] [--varied]
#
# CLIENT_BIN=... picks the load generator (default: OLD_BIN), CLIENTS and BATCH the load.
set -euo pipefail
old="${1:?usage: $0 OLD_BIN NEW_BIN [runs] [seconds] [--varied]}"
new="${2:?usage: $0 OLD_BIN NEW_BIN [runs] [seconds] [--varied]}"
runs="${3:-3}"
seconds="${4:-12}"
varied="${5:-}"
client="${CLIENT_BIN:-$old}"
clients="${CLIENTS:-16}"
batch="${BATCH:-100}"
ticks=$(getconf CLK_TCK)

# shellcheck source=benches/ledger_server.sh
source "$(dirname "$0")/ledger_server.sh"

one_run() {
  local bin=$1 work server before after entries rate rss
  work=$(mktemp -d)
  ledger_serve "$bin" "$work/data" "$work/secrets" "$work"
  server=$ledger_pid
  before=$(awk '{print $14 + $15}' "/proc/$server/stat")
  "$client" bench --addr "$ledger_addr" --token "$ledger_token" \
    --seconds "$seconds" --clients "$clients" --batch "$batch" $varied > "$work/bench" 2>&1 || true
  after=$(awk '{print $14 + $15}' "/proc/$server/stat")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
  kill -INT "$server"
  wait "$server" 2>/dev/null || true
  entries=$(grep -oE "tree size [0-9]+" "$work/bench" | grep -oE "[0-9]+" | tail -1)
  rate=$(awk -v c="$clients" '$1 == c {print $3}' "$work/bench" | tail -1)
  if [ -z "$entries" ] || [ "$entries" = 0 ]; then
    echo "$bin: the load generator failed:" >&2
    cat "$work/bench" >&2
    rm -rf "$work"
    return 1
  fi
  printf '%-40s %8s appends/s %9s entries %5d us CPU/entry %7d kB RSS\n' "$bin" "$rate" \
    "$entries" $(( (after - before) * 1000000 / ticks / entries )) "$rss"
  rm -rf "$work"
}

for round in $(seq 1 "$runs"); do
  echo "round $round of $runs"
  one_run "$old"
  one_run "$new"
done
