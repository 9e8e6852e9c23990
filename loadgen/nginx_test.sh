#!/bin/bash
# loadgen against nginx on loopback: the one-line HTTP form (closed and open
# models), outputs (JSON summary, CSV time series, .hlog), thresholds and
# their exit status, checks on the status code, an unreachable target, a
# scenario error, an unreachable --coordinator, and SIGINT leaving a complete summary.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/loadgen/testing/test_lib.sh"

PORT=$(free_port)
mkdir -p "${TMP}/www" "${TMP}/nginx"
head -c 1024 /dev/zero | tr '\0' 'x' > "${TMP}/www/index.html"
cat > "${TMP}/nginx/nginx.conf" <<CONF
daemon off;
user root root;
worker_processes 1;
pid ${TMP}/nginx/nginx.pid;
error_log ${TMP}/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${TMP}/nginx/body;
  proxy_temp_path ${TMP}/nginx/proxy;
  fastcgi_temp_path ${TMP}/nginx/fastcgi;
  uwsgi_temp_path ${TMP}/nginx/uwsgi;
  scgi_temp_path ${TMP}/nginx/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${PORT};
    root ${TMP}/www;
  }
}
CONF
/usr/sbin/nginx -c "${TMP}/nginx/nginx.conf" -p "${TMP}/nginx" &
PIDS+=($!)
wait_listening "${PORT}"
URL="http://127.0.0.1:${PORT}/index.html"

echo "== closed model, one-line form"
run_loadgen run --target "${URL}" --connections 8 --threads 2 --duration 2s \
  --summary-json "${TMP}/closed.json" --out "${TMP}/out" --progress off
[[ ${RC} -eq 0 ]] || fail "closed run exit ${RC}"
check_json "${TMP}/closed.json" 's["transactions"]["get"]["count"] > 100'
check_json "${TMP}/closed.json" 's["transactions"]["get"]["errors"] == 0'
check_json "${TMP}/closed.json" 'all(k in s["transactions"]["get"] for k in ("tps","p50","p90","p99","max"))'
check_json "${TMP}/closed.json" 's["steps"]["get/http"]["bytes_received"] > 1024 * 100'
check_json "${TMP}/closed.json" 's["model"] == "closed" and not s["interrupted"]'
check_json "${TMP}/out/summary.json" 's["transactions"]["get"]["count"] > 0'
grep -q '^time_s,stage,active' "${TMP}/out/timeseries.csv" || fail "no CSV header"
[[ $(grep -c ',get,' "${TMP}/out/timeseries.csv") -ge 2 ]] || fail "too few CSV rows"
grep -q 'Histogram log format version' "${TMP}/out/get.hlog" || fail "no hlog header"
[[ $(grep -c '^[0-9].*HIST' "${TMP}/out/get.hlog") -ge 2 ]] || fail "too few hlog intervals"

echo "== open model: achieved rate"
run_loadgen run --target "${URL}" --rate 300 --duration 2s --threads 2 \
  --summary-json "${TMP}/open.json" --progress off
[[ ${RC} -eq 0 ]] || fail "open run exit ${RC}"
check_json "${TMP}/open.json" 'abs(s["transactions"]["get"]["tps"] - 300) <= 3'
check_json "${TMP}/open.json" '"uncorrected" in s["transactions"]["get"] and s["dropped"] == 0'

echo "== thresholds set the exit status"
run_loadgen run --target "${URL}" --connections 2 --threads 1 --duration 1s \
  --threshold 'tps(get) > 1000000000' --threshold 'error_rate < 1%' \
  --summary-json "${TMP}/thr.json" --progress off
[[ ${RC} -eq 3 ]] || fail "failed threshold: exit ${RC}, want 3"
check_json "${TMP}/thr.json" '[t["passed"] for t in s["thresholds"]] == [False, True] and not s["passed"]'
run_loadgen run --target "${URL}" --connections 2 --threads 1 --duration 1s \
  --threshold 'p99(get) < 10s' --threshold 'count > 1' --progress off
[[ ${RC} -eq 0 ]] || fail "passing thresholds: exit ${RC}"

echo "== status checks in a scenario file"
cat > "${TMP}/check.yaml" <<YAML
targets: [{name: web, url: "http://127.0.0.1:${PORT}/"}]
transactions:
  - name: missing
    steps:
      - http: {path: /nope.html, expect_status: 200}
  - name: notfound
    steps:
      - http: {path: /nope.html, expect_status: 404}
  # Content-Length must count the body after \${...} expansion: otherwise
  # nginx reads the wrong number of bytes and the next request on the
  # kept-alive connection is garbled (400).
  - name: templated
    steps:
      - http: {method: POST, path: "/index.html?u=\${vu}", body: "user=\${vu}&i=\${iteration}", expect_status: 405}
load:
  closed: [{users: 2, hold: 1s}]
thresholds:
  - error_rate(notfound) <= 0%
  - error_rate(templated) <= 0%
YAML
run_loadgen run "${TMP}/check.yaml" --summary-json "${TMP}/check.json" --threads 1 --progress off
[[ ${RC} -eq 0 ]] || fail "check scenario: exit ${RC}"
check_json "${TMP}/check.json" 's["transactions"]["missing"]["errors_by_class"]["unexpected_reply"] == s["transactions"]["missing"]["count"] > 0'
check_json "${TMP}/check.json" 's["transactions"]["notfound"]["errors"] == 0 and s["transactions"]["notfound"]["count"] > 0'
check_json "${TMP}/check.json" 's["transactions"]["templated"]["errors"] == 0 and s["transactions"]["templated"]["count"] > 10'

echo "== unreachable target"
DEAD=$(free_port)
set +e
timeout 30 "${LOADGEN}" run --target "http://127.0.0.1:${DEAD}/" --duration 1s 2> "${TMP}/dead.err"
RC=$?
set -e
[[ ${RC} -eq 4 ]] || fail "unreachable: exit ${RC}, want 4"
grep -q "cannot reach target 'default' (http://127.0.0.1:${DEAD}/) at 127.0.0.1:${DEAD}: Connection refused" \
  "${TMP}/dead.err" || fail "unreachable message: $(cat "${TMP}/dead.err")"

echo "== scenario error"
printf 'targets: [{url: "http://127.0.0.1:1/"}]\ntransactions: [{name: a, steps: [{http: /}]}]\nload: {closed: [{users: 1, hold: 1x}]}\n' > "${TMP}/bad.yaml"
set +e
"${LOADGEN}" run "${TMP}/bad.yaml" 2> "${TMP}/bad.err"
RC=$?
set -e
[[ ${RC} -eq 2 ]] || fail "bad scenario: exit ${RC}, want 2"
grep -q "bad.yaml:3:34: load.closed\[0\].hold: invalid duration '1x'" "${TMP}/bad.err" \
  || fail "bad scenario message: $(cat "${TMP}/bad.err")"

echo "== --target of the wrong protocol for the scenario"
set +e
"${LOADGEN}" run "${TMP}/check.yaml" --target "ftp://127.0.0.1:${PORT}/" 2> "${TMP}/proto.err"
RC=$?
set -e
[[ ${RC} -eq 2 ]] || fail "protocol mismatch: exit ${RC}, want 2"
grep -q "transaction 'missing' step 'http': an HTTP step cannot run against target 'web' (ftp://127.0.0.1:${PORT}/)" \
  "${TMP}/proto.err" || fail "protocol mismatch message: $(cat "${TMP}/proto.err")"

echo "== an unreachable coordinator does not stop the run; an agent waits for it and stops on SIGTERM"
set +e
"${LOADGEN}" run --target "${URL}" --connections 2 --duration 1s --progress off \
  --coordinator 127.0.0.1:1 > /dev/null 2> "${TMP}/coord.err"
RC=$?
set -e
[[ ${RC} -eq 0 ]] || fail "coordinator: exit ${RC}, want 0"
grep -q "intervals not acknowledged" "${TMP}/coord.err" || fail "coordinator warning: $(cat "${TMP}/coord.err")"
"${LOADGEN}" agent --coordinator 127.0.0.1:1 --name nginx-test-agent 2> "${TMP}/agent.err" &
AG=$!
for _ in $(seq 100); do
  grep -q "(retrying)" "${TMP}/agent.err" && break
  sleep 0.1
done
kill -TERM "${AG}"
set +e
timeout 30 tail --pid="${AG}" -f /dev/null
wait "${AG}"
RC=$?
set -e
[[ ${RC} -eq 0 ]] || fail "agent after SIGTERM: exit ${RC}, want 0: $(cat "${TMP}/agent.err")"
grep -q "coordinator 127.0.0.1:1: register with 127.0.0.1:1: .* (retrying)" "${TMP}/agent.err" ||
  fail "agent message: $(cat "${TMP}/agent.err")"
grep -q "agent nginx-test-agent: stopped" "${TMP}/agent.err" || fail "agent stop: $(cat "${TMP}/agent.err")"

echo "== SIGINT leaves a complete summary"
"${LOADGEN}" run --target "${URL}" --connections 4 --threads 1 --duration 60s \
  --summary-json "${TMP}/int.json" --out "${TMP}/int" --progress off > "${TMP}/int.out" &
LG=$!
sleep 1.5
kill -INT "${LG}"
set +e
timeout 30 tail --pid="${LG}" -f /dev/null
wait "${LG}"
RC=$?
set -e
[[ ${RC} -eq 130 ]] || fail "SIGINT: exit ${RC}, want 130"
check_json "${TMP}/int.json" 's["interrupted"] and s["transactions"]["get"]["count"] > 0 and s["duration_s"] < 30'
check_json "${TMP}/int.json" 's["transactions"]["get"]["p99"] > 0 and s["transactions"]["get"]["errors"] == 0'
grep -q "(interrupted)" "${TMP}/int.out" || fail "no summary table after SIGINT"
echo PASS
