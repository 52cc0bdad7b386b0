#!/usr/bin/env bash
# Durable append throughput and acknowledgement latency of three ledger replicas on a cluster of
# three nats-servers (docs/replication.md), against the single node in the same run, all on this
# machine over loopback. For each: the load generator (`gdpr-ledger bench`) against one server (for
# the replicas, replica 0: the others apply the same stream), then the CPU the server processes
# spent per entry (from /proc: the ledger for the single node; the three ledgers and the three
# nats-servers for the replicas) and each replica's signed tree size once they have caught up.
# With a fourth argument, then the catch-up: replica 2 is killed (SIGKILL), appends go on through
# replica 0 for that many seconds (16 clients, batches of 100), and replica 2 is started again on
# its data dir: the time until its signed tree reaches replica 0's, and the entries it applied.
# Usage:
#   benches/replicated.sh [seconds per run] [batch sizes] [client counts] [catch-up load seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
batches="${2:-1,100}"
clients="${3:-1,16}"
catch_up_seconds="${4:-0}"

command -v nats-server >/dev/null || {
  echo "nats-server is not installed: run scripts/bootstrap.sh" >&2
  exit 1
}
cargo build --release --locked --bin gdpr-ledger
bin="${CARGO_TARGET_DIR:-target}/release/gdpr-ledger"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU seconds (user + system) of the processes given, from /proc.
cpu_seconds() {
  local ticks=0 pid
  for pid in "$@"; do
    ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  python3 -c "import os; print($ticks / os.sysconf('SC_CLK_TCK'))"
}

# The tree size of the latest signed checkpoint a server's HTTP listener serves.
tree_size() {
  curl -sf "http://127.0.0.1:$1/checkpoint" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])'
}

# Starts `serve` with config file $2 as $1, retrying (bounded) while the NATS cluster elects its
# leaders; sets $started_pid, $grpc_port and $http_port.
serve() {
  local name=$1 config=$2 try
  for try in $(seq 1 60); do
    grpc_port=$(free_port)
    http_port=$(free_port)
    "$bin" serve --config "$config" --listen "127.0.0.1:$grpc_port" \
      --metrics-listen "127.0.0.1:$http_port" > "$work/$name.out" 2> "$work/$name.err" &
    started_pid=$!
    for _ in $(seq 1 100); do
      grep -q "listening on" "$work/$name.out" 2>/dev/null && break
      kill -0 "$started_pid" 2>/dev/null || break
      sleep 0.1
    done
    if grep -q "listening on" "$work/$name.out" 2>/dev/null; then
      pids+=("$started_pid")
      return 0
    fi
    kill "$started_pid" 2>/dev/null || true
    wait "$started_pid" 2>/dev/null || true
    sleep 1
  done
  echo "$name did not start; its log:" >&2
  cat "$work/$name.err" >&2
  exit 1
}

run_bench() {
  local port=$1
  "$bin" bench --addr "127.0.0.1:$port" --token "$(cat "$work/secrets/dev-admin-token")" \
    --seconds "$seconds" --batch "$batches" --clients "$clients"
}

# The secrets every server of this run shares (as `replication init` and a copy make them).
cat > "$work/seed.toml" <<EOF
data_dir = "$work/seed"
secrets_dir = "$work/secrets"
EOF
serve seed "$work/seed.toml"
kill "$started_pid"
wait "$started_pid" 2>/dev/null || true
"$bin" replication init --secrets-dir "$work/secrets" > /dev/null

echo "== single node (no [replication])"
cat > "$work/single.toml" <<EOF
data_dir = "$work/single"
secrets_dir = "$work/secrets"
EOF
serve single "$work/single.toml"
single_pid=$started_pid
single_http=$http_port
before=$(cpu_seconds "$single_pid")
run_bench "$grpc_port"
after=$(cpu_seconds "$single_pid")
size=$(tree_size "$single_http")
python3 -c "print(f'single node: {$size} entries, server CPU {($after - $before) * 1e6 / max($size, 1):.0f} us per entry')"
kill "$single_pid"
wait "$single_pid" 2>/dev/null || true

echo "== three replicas on three nats-servers (JetStream R3, file storage)"
nats_pids=()
routes=""
declare -a client_ports cluster_ports
for i in 0 1 2; do
  client_ports[i]=$(free_port)
  cluster_ports[i]=$(free_port)
  routes="${routes:+$routes,}nats://127.0.0.1:${cluster_ports[i]}"
done
urls=""
for i in 0 1 2; do
  nats-server -n "n$i" -a 127.0.0.1 -p "${client_ports[i]}" -js -sd "$work/nats-$i" \
    --cluster_name gdpr-ledger-bench --cluster "nats://127.0.0.1:${cluster_ports[i]}" \
    --routes "$routes" > /dev/null 2> "$work/nats-$i.log" &
  nats_pids+=($!)
  pids+=($!)
  urls="${urls:+$urls,}nats://127.0.0.1:${client_ports[i]}"
done
replica_pids=()
replica_http=()
for i in 0 1 2; do
  cp -a "$work/secrets" "$work/secrets-$i"
  cat > "$work/replica-$i.toml" <<EOF
data_dir = "$work/replica-$i"
secrets_dir = "$work/secrets-$i"
[replication]
nats_urls = "$urls"
stream_replicas = 3
stream_max_bytes = 4294967296
EOF
  serve "replica-$i" "$work/replica-$i.toml"
  replica_pids+=("$started_pid")
  replica_http+=("$http_port")
  [ "$i" -eq 0 ] && replica0_grpc=$grpc_port
done
all=("${replica_pids[@]}" "${nats_pids[@]}")
before=$(cpu_seconds "${all[@]}")
run_bench "$replica0_grpc"
size=$(tree_size "${replica_http[0]}")
for i in 1 2; do
  for _ in $(seq 1 600); do
    [ "$(tree_size "${replica_http[i]}")" -ge "$size" ] && break
    sleep 0.1
  done
done
after=$(cpu_seconds "${all[@]}")
ledgers=$(cpu_seconds "${replica_pids[@]}")
echo "replicas' signed tree sizes: $(tree_size "${replica_http[0]}") $(tree_size "${replica_http[1]}") $(tree_size "${replica_http[2]}")"
python3 -c "print(f'three replicas: {$size} entries, CPU of 3 ledgers and 3 nats-servers {($after - $before) * 1e6 / max($size, 1):.0f} us per entry')"
echo "ledger processes' CPU in all (start included): ${ledgers} s"
du -sh "$work"/nats-* | awk '{print "nats store " $2 ": " $1}'

if [ "$catch_up_seconds" -gt 0 ]; then
  echo "== catch-up: replica 2 killed, ${catch_up_seconds} s of appends through replica 0, replica 2 restarted"
  kill -9 "${replica_pids[2]}"
  wait "${replica_pids[2]}" 2>/dev/null || true
  behind_from=$(tree_size "${replica_http[0]}")
  "$bin" bench --addr "127.0.0.1:$replica0_grpc" --token "$(cat "$work/secrets/dev-admin-token")" \
    --seconds "$catch_up_seconds" --batch 100 --clients 16 | tail -n 3
  target=$(tree_size "${replica_http[0]}")
  started=$(date +%s.%N)
  serve replica-2-again "$work/replica-2.toml"
  caught_up=""
  for _ in $(seq 1 36000); do
    if [ "$(tree_size "$http_port" 2>/dev/null || echo 0)" -ge "$target" ]; then
      caught_up=$(date +%s.%N)
      break
    fi
    sleep 0.1
  done
  [ -n "$caught_up" ] || { echo "replica 2 did not catch up within an hour" >&2; exit 1; }
  python3 -c "
behind = $target - $behind_from
took = $caught_up - $started
print(f'replica 2 was {behind} entries behind (log at {$target}); caught up in {took:.1f} s from its start, {behind / took:,.0f} entries/s')"
fi
