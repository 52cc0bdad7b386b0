#!/usr/bin/env bash
# Side by side, same disk, same run: PostgreSQL 15 with a SHA-256 hash-chained audit table
# (a trigger chains each row over the previous row's hash, serialised on a head row; synchronous
# commit) against the ledger, at 1 and 16 clients, 1 and 16 rows (events) per transaction (call).
# Prints throughput, latency, server CPU per row and bytes per row for each, and the ratios.
#
#   benches/postgres_side_by_side.sh                 # 8 s per run
#   SECONDS_PER_RUN=20 LEDGER_BIN=/path/to/gdpr-ledger benches/postgres_side_by_side.sh
#
# BENCH_DIR (default /var/tmp) holds both data dirs, so both systems sync to the same disk.
# Needs root (PostgreSQL runs as the postgres user, which root can become); installs Debian's
# postgresql-15 when it is missing. Loopback only; every process it starts is stopped on exit.
set -euo pipefail

SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
repo=$(cd "$(dirname "$0")/.." && pwd)
ticks=$(getconf CLK_TCK)
# shellcheck source=benches/ledger_server.sh
source "$repo/benches/ledger_server.sh"

if [[ ! -x "$PG_BIN/initdb" || ! -x "$PG_BIN/pgbench" ]]; then
  echo "installing postgresql-15 (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15 >&2
fi
if [[ -z "${LEDGER_BIN:-}" ]]; then
  (cd "$repo" && cargo build --release --quiet)
  LEDGER_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/gdpr-ledger"
fi

work=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" gdpr-ledger-vs-pg.XXXXXX)
chmod 755 "$work"
pg_port=$((30000 + RANDOM % 10000))
ledger_pid=""
cleanup() {
  if [[ -n "$ledger_pid" ]]; then kill "$ledger_pid" 2>/dev/null || true; fi
  if [[ -f "$work/pg/postmaster.pid" ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# CPU ticks of a process and of its waited-for children (fields 14-17 of /proc/PID/stat), plus
# the ticks of its live children: a PostgreSQL backend that exits is counted in the postmaster's
# children time.
cpu_ticks() {
  local pid=$1 total child
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")
  for child in $(pgrep -P "$pid" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$child/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# p50 and p99, in ms, of the transaction latencies (µs, third column) of pgbench's logs.
pg_quantiles() {
  cat "$@" | awk '{print $3}' | sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- -"; exit }
    a = int(NR * 0.5); if (a < 1) a = 1
    b = int(NR * 0.99); if (b < 1) b = 1
    printf "%.2f %.2f\n", v[a] / 1000, v[b] / 1000 }'
}

# --- PostgreSQL ---
mkdir -p "$work/pg" "$work/sock"
chown postgres: "$work/pg" "$work/sock"
runuser -u postgres -- "$PG_BIN/initdb" -D "$work/pg" -A trust -U postgres --no-instructions >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w start -o \
  "-p $pg_port -k $work/sock -c listen_addresses=127.0.0.1 -c synchronous_commit=on -c fsync=on -c shared_buffers=256MB -c max_connections=50" >/dev/null
postmaster=$(head -1 "$work/pg/postmaster.pid")
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres "$@"; }

psql_ <<'SQL'
CREATE TABLE audit_head (id int PRIMARY KEY, hash bytea NOT NULL);
INSERT INTO audit_head VALUES (1, decode(repeat('00', 32), 'hex'));
-- What a producer sends the ledger (the bench event): who, which event, which system, what kind,
-- which categories, when; the event id unique per producer, as the ledger's idempotency index.
CREATE TABLE audit (
  id bigserial PRIMARY KEY, producer text NOT NULL, event_id text NOT NULL, system text NOT NULL,
  kind text NOT NULL, subject text NOT NULL, categories text[] NOT NULL,
  occurred_at timestamptz NOT NULL, prev_hash bytea, hash bytea,
  UNIQUE (producer, event_id));
CREATE TABLE audit_plain (LIKE audit INCLUDING ALL);
CREATE FUNCTION chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE previous bytea;
BEGIN
  SELECT hash INTO previous FROM audit_head WHERE id = 1 FOR UPDATE;
  NEW.prev_hash := previous;
  NEW.hash := sha256(previous || convert_to(concat_ws('|', NEW.producer, NEW.event_id,
    NEW.system, NEW.kind, NEW.subject, array_to_string(NEW.categories, ','),
    NEW.occurred_at::text), 'UTF8'));
  UPDATE audit_head SET hash = NEW.hash WHERE id = 1;
  RETURN NEW;
END $$;
CREATE TRIGGER chain BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION chain();
SQL

for table in audit audit_plain; do
  for rows in 1 16; do
    cat > "$work/$table-$rows.sql" <<SQL
INSERT INTO $table (producer, event_id, system, kind, subject, categories, occurred_at)
SELECT 'crm', gen_random_uuid()::text, 'crm', 'COLLECTION', 'C-' || (random() * 100000)::int,
       ARRAY['pd:EmailAddress', 'pd:Name'], now()
FROM generate_series(1, $rows);
SQL
  done
done

declare -A result
run_pg() {
  local table=$1 clients=$2 rows=$3 before_rows before_lsn before_cpu after_cpu count wal size
  before_rows=$(psql_ -At -c "SELECT count(*) FROM $table")
  before_lsn=$(psql_ -At -c "SELECT pg_current_wal_lsn()")
  rm -f "$work"/pglog*
  before_cpu=$(cpu_ticks "$postmaster")
  (cd "$work" && pgbench -n -h 127.0.0.1 -p "$pg_port" -U postgres -c "$clients" -j "$clients" \
    -T "$SECONDS_PER_RUN" -f "$work/$table-$rows.sql" --log --log-prefix="$work/pglog" postgres \
    > "$work/pgbench.out" 2>&1) || { cat "$work/pgbench.out" >&2; exit 1; }
  sleep 1 # the postmaster reaps the exited backends, whose CPU then counts in its children's
  after_cpu=$(cpu_ticks "$postmaster")
  count=$(( $(psql_ -At -c "SELECT count(*) FROM $table") - before_rows ))
  wal=$(psql_ -At -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$before_lsn')::bigint")
  size=$(psql_ -At -c "SELECT pg_total_relation_size('$table')")
  local total_rows=$(( before_rows + count ))
  read -r p50 p99 < <(pg_quantiles "$work"/pglog*)
  result[$table,$clients,$rows]="$(( count / SECONDS_PER_RUN )) $p50 $p99 $(( (after_cpu - before_cpu) * 1000000 / ticks / count )) $(( size / total_rows )) $(( wal / count ))"
}

# --- the ledger ---
run_ledger() {
  local clients=$1 batch=$2 dir before after n rate p50 p99 bytes
  dir="$work/ledger-$clients-$batch"
  ledger_serve "$LEDGER_BIN" "$dir/data" "$dir/secrets" "$dir"
  before=$(cpu_ticks "$ledger_pid")
  "$LEDGER_BIN" bench --addr "$ledger_addr" --token "$ledger_token" \
    --seconds "$SECONDS_PER_RUN" --batch "$batch" --clients "$clients" > "$dir/bench" 2>&1
  after=$(cpu_ticks "$ledger_pid")
  kill "$ledger_pid"; wait "$ledger_pid" 2>/dev/null || true; ledger_pid=""
  n=$(grep -oE "tree size [0-9]+" "$dir/bench" | grep -oE "[0-9]+")
  read -r rate p50 p99 < <(awk '$1 ~ /^[0-9]+$/ && NF >= 7 {print $3, $4, $5; exit}' "$dir/bench")
  bytes=$("$LEDGER_BIN" footprint --data-dir "$dir/data" | awk '$1 == "all" {print int($5)}')
  result[ledger,$clients,$batch]="$rate $p50 $p99 $(( (after - before) * 1000000 / ticks / n )) $bytes $(du -sb "$dir/data" | awk -v n="$n" '{print int($1 / n)}')"
  rm -rf "$dir"
}

for clients in 1 16; do
  for rows in 1 16; do
    echo "running: $clients clients x $rows rows per transaction (call), $SECONDS_PER_RUN s each" >&2
    run_pg audit "$clients" "$rows"
    run_ledger "$clients" "$rows"
    run_pg audit_plain "$clients" "$rows"
  done
done
echo "running: ledger 16 clients x 100 events per call" >&2
run_ledger 16 100

# The rows form one chain (in the order the head row's lock was taken, not the id order): every
# prev_hash but the first is another row's hash, and no two rows share one (no fork).
broken=$(psql_ -At -c "SELECT (SELECT count(*) FROM audit a WHERE a.prev_hash <> decode(repeat('00', 32), 'hex') AND NOT EXISTS (SELECT 1 FROM audit b WHERE b.hash = a.prev_hash)) + (SELECT count(*) - count(DISTINCT prev_hash) FROM audit)")

printf '\n%-22s %12s %16s %14s %9s | %10s %10s | %11s %11s | %12s %12s\n' \
  "clients x rows/call" "PG chain/s" "PG plain rows/s" "ledger /s" "ledger/PG" \
  "PG p50/p99" "ledger" "PG CPU us" "ledger CPU" "PG B/row" "ledger B"
for key in "1 1" "16 1" "1 16" "16 16" "16 100"; do
  read -r c r <<< "$key"
  read -r l_rate l_p50 l_p99 l_cpu l_bytes l_du <<< "${result[ledger,$c,$r]}"
  if [[ -n "${result[audit,$c,$r]:-}" ]]; then
    read -r p_rate p_p50 p_p99 p_cpu p_size p_wal <<< "${result[audit,$c,$r]}"
    read -r q_rate _ <<< "${result[audit_plain,$c,$r]}"
    ratio=$(awk -v a="$l_rate" -v b="$p_rate" 'BEGIN {printf "%.1fx", b ? a / b : 0}')
  else
    p_rate="-"; q_rate="-"; ratio="-"; p_p50="-"; p_p99="-"; p_cpu="-"; p_size="-"; p_wal="-"
  fi
  printf '%-22s %12s %16s %14s %9s | %10s %10s | %11s %11s | %12s %12s\n' "$c x $r" "$p_rate" "$q_rate" \
    "$l_rate" "$ratio" "$p_p50/$p_p99" "$l_p50/$l_p99" "$p_cpu" "$l_cpu" "$p_size+$p_wal" "$l_bytes/$l_du"
done
echo
echo "latencies in ms (PG: per transaction; ledger: per call); CPU: server CPU per row (entry), us;"
echo "PG B/row: table and indexes + WAL written per row; ledger B: keys and values per entry (footprint) /"
echo "data dir incl. WAL per entry (du). Chain check: $broken rows off the chain or forking it (0 expected)."
