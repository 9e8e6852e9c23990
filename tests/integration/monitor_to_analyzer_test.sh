#!/usr/bin/env bash
# Cross-component: monitor streams host and process samples to a real
# analyzer coordinator over gRPC; the coordinator stores each exactly once.
# The coordinator is restarted between two monitor runs on the same database,
# so the second run's samples must be stored beside the first's.
#   $1 = analyzer binary, $2 = monitor binary
source "$(dirname "$0")/lib.sh"
analyzer="$1"
monitor="$2"

start_analyzer 127.0.0.1:0 --token s3cret
"$monitor" --coordinator "$grpc_address" --token s3cret --interval 100ms --samples 5 \
  --pid $$ --log-level warn >/dev/null 2>"$work/monitor1.err"
stop_analyzer
echo "first run: $(sql 'SELECT COUNT(*) FROM host_samples') host samples"

start_analyzer "$grpc_address" --token s3cret
"$monitor" --coordinator "$grpc_address" --token s3cret --interval 100ms --samples 3 \
  --pid $$ --log-level warn >/dev/null 2>"$work/monitor2.err"
stop_analyzer

host=$(sql 'SELECT COUNT(*) FROM host_samples')
process=$(sql 'SELECT COUNT(*) FROM process_samples')
duplicates=$(sql 'SELECT COUNT(*) - COUNT(DISTINCT source_id || "/" || sequence) FROM samples')
echo "host samples: $host, process samples: $process, duplicates: $duplicates"
[[ "$host" == 8 ]] || fail "expected 8 host samples" "$work/monitor1.err" "$work/monitor2.err"
[[ "$process" == 8 ]] || fail "expected 8 process samples"
[[ "$duplicates" == 0 ]] || fail "samples stored twice"

# A wrong token is refused, and nothing is stored.
start_analyzer "$grpc_address" --token s3cret
"$monitor" --coordinator "$grpc_address" --token wrong --interval 100ms --samples 2 \
  --pid $$ >/dev/null 2>"$work/monitor3.err" || true
stop_analyzer
grep -q "not acknowledged" "$work/monitor3.err" ||
  fail "no warning for refused samples" "$work/monitor3.err"
[[ "$(sql 'SELECT COUNT(*) FROM host_samples')" == 8 ]] || fail "refused samples were stored"
echo PASS
