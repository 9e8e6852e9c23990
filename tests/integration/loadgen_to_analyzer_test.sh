#!/usr/bin/env bash
# Cross-component: loadgen loads a real ftpd and streams its intervals to a
# real analyzer coordinator; what the coordinator stored adds up to exactly
# what loadgen reported in its own summary, and the coordinator's Prometheus
# endpoint shows the transaction.
#   $1 = analyzer, $2 = loadgen, $3 = ftpd
source "$(dirname "$0")/lib.sh"
analyzer="$1"
loadgen="$2"
ftpd="$3"

start_ftpd
start_analyzer 127.0.0.1:0

"$loadgen" run --target "ftp://anonymous:test@$ftp_address/incoming/" --transaction upload:1KiB \
  --users 4 --duration 3s --progress off --coordinator "$grpc_address" \
  --summary-json "$work/summary.json" >"$work/loadgen.out" 2>"$work/loadgen.err" ||
  fail "loadgen exited with $?" "$work/loadgen.err"
if grep -q "not acknowledged" "$work/loadgen.err"; then
  fail "intervals were not acknowledged" "$work/loadgen.err"
fi

/usr/bin/python3 - "$work/summary.json" "$db" <<'PY'
import json, sqlite3, sys
summary = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
want_count = summary["transactions"]["upload"]["count"]
want_errors = summary["transactions"]["upload"]["errors"]
got_count, got_errors, intervals = db.execute(
    "SELECT SUM(count), SUM(errors), COUNT(*) FROM load_ops WHERE name = 'upload' AND is_step = 0"
).fetchone()
steps = db.execute("SELECT COUNT(DISTINCT name) FROM load_ops WHERE is_step = 1").fetchone()[0]
print(f"loadgen summary: {want_count} uploads, {want_errors} errors; "
      f"coordinator: {got_count} uploads, {got_errors} errors in {intervals} intervals, {steps} steps")
assert want_count > 0, "no transactions ran"
assert got_count == want_count, "the coordinator's count differs from loadgen's summary"
assert got_errors == want_errors, "the coordinator's errors differ from loadgen's summary"
assert intervals >= 3, "expected one interval per second"
assert steps >= 4, "expected connect, login, upload and quit steps"
PY

curl -sf "http://$http_address/metrics" >"$work/metrics.txt"
grep -q 'upload' "$work/metrics.txt" || fail "no upload series on /metrics" "$work/metrics.txt"
echo PASS
