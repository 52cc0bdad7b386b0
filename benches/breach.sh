#!/usr/bin/env bash
# Time and memory of `gdpr-ledger report breach --system crm` against a data dir (docs/reports.md,
# issue 14): starts BIN's server on DATA_DIR (a first start may backfill derived rows first), then
# runs the report three times, printing the client's wall time and peak RSS (/usr/bin/time) and
# the server's RSS before each run and its peak after. Extra arguments go to `report breach`
# (e.g. `--format csv`, `--category pd:EmailAddress`, or `--from/--to` for binaries that need
# them). Usage:
#   benches/breach.sh BIN DATA_DIR SECRETS_DIR [report breach options...]
set -euo pipefail
bin=$1; data=$2; secrets=$3; shift 3
port=$((20000 + RANDOM % 20000))
work=$(mktemp -d)
"$bin" serve --data-dir "$data" --secrets-dir "$secrets" --listen "127.0.0.1:$port" \
  --metrics-listen off > "$work/server.out" 2> "$work/server.err" &
server=$!
trap 'kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 6000); do
  grep -q "listening on" "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
grep -i "built" "$work/server.err" | sed 's/\x1b\[[0-9;]*m//g' || true
token=$(cat "$secrets/dev-admin-token")
for run in 1 2 3; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
  /usr/bin/time -f "client: %e s wall, %M KiB max RSS" "$bin" report breach \
    --server "127.0.0.1:$port" --token "$token" --system crm "$@" -o "$work/report" \
    2> "$work/client.err" || true
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
  echo "run $run: server RSS before $((rss / 1024)) MiB, peak after $((hwm / 1024)) MiB"
  tr '\r' '\n' < "$work/client.err" | tail -2
done
echo "report: $(wc -c < "$work/report") bytes"
head -12 "$work/report"
