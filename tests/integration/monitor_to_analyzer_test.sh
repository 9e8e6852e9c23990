#!/usr/bin/env bash
# Cross-component: monitor streams host and process samples to a real
# analyzer coordinator over gRPC; the coordinator stores each exactly once.
# The coordinator is restarted between two monitor runs on the same database,
# so the second run's samples must be stored beside the first's.
#   $1 = analyzer binary, $2 = monitor binary
set -euo pipefail
analyzer="$1"
monitor="$2"
work="${TEST_TMPDIR:-$(mktemp -d)}"
db="$work/runs.db"
coordinator_pid=""
trap '[[ -n "$coordinator_pid" ]] && kill "$coordinator_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

start_coordinator() {
  local grpc="${1:-127.0.0.1:0}"
  rm -f "$work/analyzer.out"
  "$analyzer" serve --grpc "$grpc" --http 127.0.0.1:0 --db "$db" --token s3cret \
    >"$work/analyzer.out" 2>"$work/analyzer.err" &
  coordinator_pid=$!
  for _ in $(seq 200); do
    grpc_address="$(sed -n 's/^grpc on //p' "$work/analyzer.out" 2>/dev/null || true)"
    [[ -n "$grpc_address" ]] && return 0
    sleep 0.05
  done
  echo "analyzer did not start"; cat "$work/analyzer.err"; exit 1
}

stop_coordinator() {
  kill -TERM "$coordinator_pid"
  wait "$coordinator_pid" || { echo "analyzer exited with $?"; cat "$work/analyzer.err"; exit 1; }
  coordinator_pid=""
}

count() { /usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$db" "$1"; }

start_coordinator
"$monitor" --coordinator "$grpc_address" --token s3cret --interval 100ms --samples 5 \
  --pid $$ --log-level warn >/dev/null 2>"$work/monitor1.err"
stop_coordinator
echo "first run: $(count 'SELECT COUNT(*) FROM host_samples') host samples"

start_coordinator "$grpc_address"
"$monitor" --coordinator "$grpc_address" --token s3cret --interval 100ms --samples 3 \
  --pid $$ --log-level warn >/dev/null 2>"$work/monitor2.err"
stop_coordinator

host=$(count 'SELECT COUNT(*) FROM host_samples')
process=$(count 'SELECT COUNT(*) FROM process_samples')
duplicates=$(count 'SELECT COUNT(*) - COUNT(DISTINCT source_id || "/" || sequence) FROM samples')
echo "host samples: $host, process samples: $process, duplicates: $duplicates"
[[ "$host" == 8 ]] || { echo "expected 8 host samples"; cat "$work"/monitor*.err; exit 1; }
[[ "$process" == 8 ]] || { echo "expected 8 process samples"; exit 1; }
[[ "$duplicates" == 0 ]] || { echo "samples stored twice"; exit 1; }

# A wrong token is refused, and nothing is stored.
start_coordinator "$grpc_address"
"$monitor" --coordinator "$grpc_address" --token wrong --interval 100ms --samples 2 \
  --pid $$ >/dev/null 2>"$work/monitor3.err" || true
stop_coordinator
grep -q "not acknowledged" "$work/monitor3.err" || { echo "no warning for refused samples"; cat "$work/monitor3.err"; exit 1; }
[[ "$(count 'SELECT COUNT(*) FROM host_samples')" == 8 ]] || { echo "refused samples were stored"; exit 1; }
echo PASS
