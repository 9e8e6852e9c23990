#!/usr/bin/env bash
# Cross-component (issue 6): the coordinator is killed (SIGKILL, no chance to
# flush or say goodbye) in the middle of a run and restarted on the same gRPC
# address and database; loadgen and monitor resend what it had not
# acknowledged, so it ends up with every sample exactly once: the uploads
# and errors it stored equal loadgen's own summary, the host and process
# samples equal the number monitor took, every source's sequences run from 1
# with no gap, none is stored twice, and no agent warns that samples were
# not acknowledged.
#   $1 = analyzer, $2 = loadgen, $3 = monitor, $4 = ftpd
source "$(dirname "$0")/lib.sh"
analyzer="$1"
loadgen="$2"
monitor="$3"
ftpd="$4"
# Both agents run 14 s, so that they outlive the reconnection backoff (its
# steps reach 5 s: an agent may next try 11.3 s after the kill) even when
# the restarted coordinator is slow to listen under a sanitizer.
samples=70 # monitor samples, one per 200 ms: as long as loadgen's 14 s

start_ftpd
start_analyzer 127.0.0.1:0

"$loadgen" run --target "ftp://anonymous:test@$ftp_address/incoming/" --transaction upload:1KiB \
  --users 4 --duration 14s --progress off --coordinator "$grpc_address" \
  --summary-json "$work/summary.json" >"$work/loadgen.out" 2>"$work/loadgen.err" &
loadgen_pid=$!
pids+=("$loadgen_pid")
"$monitor" --coordinator "$grpc_address" --interval 200ms --samples "$samples" --pid "$ftpd_pid" \
  --log-level warn >"$work/monitor.out" 2>"$work/monitor.err" &
monitor_pid=$!
pids+=("$monitor_pid")

# Kill it once both agents have had samples stored (loadgen's first interval
# ends a second in), a little over 2 s into the run.
sleep 2
for _ in $(seq 100); do
  [[ "$(sql 'SELECT COUNT(DISTINCT source_id) FROM samples')" == 2 ]] && break
  sleep 0.1
done
[[ "$(sql 'SELECT COUNT(DISTINCT source_id) FROM samples')" == 2 ]] ||
  fail "the coordinator stored no samples of loadgen or monitor" "$work/analyzer.err"
killed_ns="$(date +%s%N)"
kill -KILL "$analyzer_pid"
wait "$analyzer_pid" 2>/dev/null || true
forget_pid "$analyzer_pid"
before="$(sql 'SELECT COUNT(*) FROM samples')"
echo "coordinator killed with $before samples stored"

sleep 1.5
restarted_ns="$(date +%s%N)"
start_analyzer "$grpc_address"
echo "coordinator restarted on $grpc_address"

wait "$loadgen_pid" || fail "loadgen exited with $?" "$work/loadgen.err"
wait "$monitor_pid" || fail "monitor exited with $?" "$work/monitor.err"
forget_pid "$loadgen_pid"
forget_pid "$monitor_pid"
for agent in loadgen monitor; do
  if grep -q "not acknowledged" "$work/$agent.err"; then
    fail "$agent's samples were not all acknowledged" "$work/$agent.err" "$work/analyzer.err"
  fi
done
stop_analyzer

/usr/bin/python3 - "$work/summary.json" "$db" "$samples" "$killed_ns" "$restarted_ns" <<'PY'
import json, sqlite3, sys
summary = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
samples, killed_ns, restarted_ns = map(int, sys.argv[3:6])

def one(query):
    return db.execute(query).fetchone()

want_count = summary["transactions"]["upload"]["count"]
want_errors = summary["transactions"]["upload"]["errors"]
got_count, got_errors = one(
    "SELECT SUM(count), SUM(errors) FROM load_ops WHERE name = 'upload' AND is_step = 0")
host, = one("SELECT COUNT(*) FROM host_samples")
process, = one("SELECT COUNT(*) FROM process_samples")
print(f"loadgen summary: {want_count} uploads, {want_errors} errors; "
      f"coordinator: {got_count} uploads, {got_errors} errors; "
      f"monitor took {samples} samples, coordinator: {host} host, {process} process")
assert want_count > 0, "no transactions ran"
assert got_count == want_count, "the coordinator's upload count differs from loadgen's summary"
assert got_errors == want_errors, "the coordinator's errors differ from loadgen's summary"
assert host == samples, "host samples lost or stored twice"
assert process == samples, "process samples lost or stored twice"

# Nothing stored twice: one sample per (source, sequence), one row per
# sample in each table derived from it.
duplicates = {
    "samples": "SELECT COUNT(*) - COUNT(DISTINCT source_id || '/' || sequence) FROM samples",
    "load_ops": "SELECT COUNT(*) - COUNT(DISTINCT sample_id) FROM load_ops "
                "WHERE name = 'upload' AND is_step = 0",
    "host_samples": "SELECT COUNT(*) - COUNT(DISTINCT sample_id) FROM host_samples",
    "process_samples": "SELECT COUNT(*) - COUNT(DISTINCT sample_id) FROM process_samples",
}
for table, query in duplicates.items():
    assert one(query)[0] == 0, f"{table}: rows stored twice"
assert one("SELECT COUNT(*) FROM drops")[0] == 0, "an agent reported dropped samples"

# Nothing lost in between: each source's sequences are 1..N without a gap;
# each had samples stored before the kill, and samples it took while the
# coordinator was down (buffered, delivered after the restart).
sources = db.execute(
    "SELECT source_id, COUNT(*), MIN(sequence), MAX(sequence), SUM(received_ns < ?1), "
    "SUM(time_ns >= ?1 AND time_ns < ?2) "
    "FROM samples GROUP BY source_id",
    (killed_ns, restarted_ns)).fetchall()
assert len(sources) == 2, f"expected loadgen and monitor, got {sources}"
for source, count, first, last, before, down in sources:
    print(f"{source}: sequences {first}..{last}, {count} stored: {before} before the kill, "
          f"{down} taken while the coordinator was down")
    assert first == 1 and last == count, f"{source}: sequences missing"
    assert before > 0, f"{source}: nothing stored before the kill"
    assert down > 0, f"{source}: nothing taken while the coordinator was down"
PY
echo PASS
