# Sourced by the benchmark scripts: the one way they start a ledger server.
#
#   ledger_serve BIN DATA_DIR SECRETS_DIR LOG_DIR [serve options...]
#
# Starts `BIN serve` on DATA_DIR and SECRETS_DIR, on a loopback port the kernel picks, without
# the metrics listener (a ledger already running with the defaults, as the README's first
# command starts it, holds the default metrics port, and a second server would stop at once);
# its output goes to LOG_DIR/server.out and LOG_DIR/server.err. Returns once the server listens,
# with `ledger_pid`, `ledger_addr` (host:port) and `ledger_token` (the development admin token)
# set. If the server exits first, or is not listening after LEDGER_START_SECONDS (default 60: a
# first start on an older data dir may backfill derived rows before it listens), prints the end
# of its output and stops the calling script.
ledger_serve() {
  local bin=$1 data=$2 secrets=$3 logs=$4 waited=0 limit
  shift 4
  limit=$(( ${LEDGER_START_SECONDS:-60} * 10 ))
  mkdir -p "$logs"
  "$bin" serve --data-dir "$data" --secrets-dir "$secrets" --listen 127.0.0.1:0 \
    --metrics-listen off "$@" > "$logs/server.out" 2> "$logs/server.err" &
  ledger_pid=$!
  ledger_addr=""
  while [ -z "$ledger_addr" ]; do
    ledger_addr=$(grep -ohE "listening on 127\.0\.0\.1:[0-9]+" "$logs/server.out" \
      "$logs/server.err" 2>/dev/null | head -1 | grep -oE "127\.0\.0\.1:[0-9]+" || true)
    [ -n "$ledger_addr" ] && break
    if ! kill -0 "$ledger_pid" 2>/dev/null || [ "$waited" -ge "$limit" ]; then
      echo "the ledger server ($bin) did not start; the end of its output:" >&2
      tail -n 20 "$logs/server.out" "$logs/server.err" >&2
      kill "$ledger_pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  ledger_token=$(cat "$secrets/dev-admin-token")
}
