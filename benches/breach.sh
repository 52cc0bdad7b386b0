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
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill -INT "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck source=benches/ledger_server.sh
source "$(dirname "$0")/ledger_server.sh"
LEDGER_START_SECONDS=${LEDGER_START_SECONDS:-600} ledger_serve "$bin" "$data" "$secrets" "$work"
server=$ledger_pid
grep -i "built" "$work/server.err" | sed 's/\x1b\[[0-9;]*m//g' || true
token=$ledger_token
for run in 1 2 3; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
  /usr/bin/time -f "client: %e s wall, %M KiB max RSS" "$bin" report breach \
    --server "$ledger_addr" --token "$token" --system crm "$@" -o "$work/report" \
    2> "$work/client.err" || true
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
  echo "run $run: server RSS before $((rss / 1024)) MiB, peak after $((hwm / 1024)) MiB"
  tr '\r' '\n' < "$work/client.err" | tail -2
done
echo "report: $(wc -c < "$work/report") bytes"
head -12 "$work/report"
