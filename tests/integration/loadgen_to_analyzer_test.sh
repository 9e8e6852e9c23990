#!/usr/bin/env bash
# Cross-component: loadgen loads a real ftpd and streams its intervals to a
# real analyzer coordinator; what the coordinator stored adds up to exactly
# what loadgen reported in its own summary, and the coordinator's Prometheus
# endpoint shows the transaction.
#   $1 = analyzer, $2 = loadgen, $3 = ftpd
set -euo pipefail
analyzer="$1"
loadgen="$2"
ftpd="$3"
work="${TEST_TMPDIR:-$(mktemp -d)}"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

# Waits for "PREFIX HOST:PORT" in file $1 and prints HOST:PORT.
address_from() {
  for _ in $(seq 200); do
    local a
    a="$(sed -n "s/^$2 //p" "$1" 2>/dev/null || true)"
    if [[ -n "$a" ]]; then echo "$a"; return 0; fi
    sleep 0.05
  done
  echo "no '$2' line in $1" >&2
  return 1
}

mkdir -p "$work/root/incoming"
"$ftpd" --listen 127.0.0.1:0 --root "$work/root" --anonymous --anonymous-root / \
  --anonymous-upload-dir /incoming --log-level warn >"$work/ftpd.out" 2>"$work/ftpd.err" &
pids+=($!)
"$analyzer" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 --db "$work/runs.db" \
  >"$work/analyzer.out" 2>"$work/analyzer.err" &
pids+=($!)
ftp="$(address_from "$work/ftpd.out" "listening on")"
grpc="$(address_from "$work/analyzer.out" "grpc on")"
http="$(address_from "$work/analyzer.out" "http on")"

"$loadgen" run --target "ftp://anonymous:test@$ftp/incoming/" --transaction upload:1KiB \
  --users 4 --duration 3s --progress off --coordinator "$grpc" \
  --summary-json "$work/summary.json" >"$work/loadgen.out" 2>"$work/loadgen.err" ||
  { echo "loadgen failed"; cat "$work/loadgen.err"; exit 1; }
if grep -q "not acknowledged" "$work/loadgen.err"; then
  echo "intervals were not acknowledged"; cat "$work/loadgen.err"; exit 1
fi

/usr/bin/python3 - "$work/summary.json" "$work/runs.db" <<'PY'
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

curl -sf "http://$http/metrics" >"$work/metrics.txt"
grep -q 'upload' "$work/metrics.txt" || { echo "no upload series on /metrics"; head -40 "$work/metrics.txt"; exit 1; }
echo PASS
