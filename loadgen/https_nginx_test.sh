#!/bin/bash
# HTTPS against nginx (Debian's /usr/sbin/nginx) on a loopback port with a
# self-signed certificate made in the test: the one-line form with
# --insecure, a scenario that verifies against the CA with a server name
# (SNI, seen by nginx as $ssl_server_name), keep-alive over TLS (requests per
# TLS connection in nginx's log), and a wrong server name as a TLS error.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/loadgen/testing/test_lib.sh"

PORT=$(free_port)
make_cert server "IP:127.0.0.1,DNS:web.test"
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
  log_format tls '\$connection \$connection_requests \$ssl_protocol \$ssl_server_name';
  access_log ${TMP}/nginx/access.log tls;
  client_body_temp_path ${TMP}/nginx/body;
  proxy_temp_path ${TMP}/nginx/proxy;
  fastcgi_temp_path ${TMP}/nginx/fastcgi;
  uwsgi_temp_path ${TMP}/nginx/uwsgi;
  scgi_temp_path ${TMP}/nginx/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${PORT} ssl;
    ssl_certificate ${TMP}/server.pem;
    ssl_certificate_key ${TMP}/server.key;
    root ${TMP}/www;
  }
}
CONF
/usr/sbin/nginx -c "${TMP}/nginx/nginx.conf" -p "${TMP}/nginx" &
PIDS+=($!)
wait_listening "${PORT}"

echo "== one-line form with --insecure"
run_loadgen run --target "https://127.0.0.1:${PORT}/index.html" --insecure --connections 4 \
  --threads 2 --duration 1s --summary-json "${TMP}/insecure.json" --progress off
[[ ${RC} -eq 0 ]] || fail "one-line https: exit ${RC}"
check_json "${TMP}/insecure.json" 's["transactions"]["get"]["count"] > 100 and s["transactions"]["get"]["errors"] == 0'
check_json "${TMP}/insecure.json" 's["steps"]["get/http"]["bytes_received"] > 1024 * 100'

echo "== verified, with SNI, kept alive"
: > "${TMP}/nginx/access.log"
cat > "${TMP}/verified.yaml" <<YAML
targets:
  - url: "https://127.0.0.1:${PORT}/"
    tls: {ca: server.pem, server_name: web.test}
transactions:
  - name: page
    steps: [{http: {path: /index.html, expect_status: 200}}]
load: {closed: [{users: 2, hold: 1s}]}
thresholds: [error_rate <= 0%, count(page) > 100]
YAML
run_loadgen run "${TMP}/verified.yaml" --threads 1 --summary-json "${TMP}/verified.json" --progress off
[[ ${RC} -eq 0 ]] || fail "verified https: exit ${RC}"
# nginx writes its log on each request; two users keep two connections.
"${PY}" - "${TMP}/nginx/access.log" <<'PYEOF' || fail "nginx log: $(head -3 "${TMP}/nginx/access.log")"
import sys
lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
assert len(lines) > 100, len(lines)
assert all(l[2].startswith("TLSv1.") and l[3] == "web.test" for l in lines), lines[:3]
connections = {l[0] for l in lines}
assert len(connections) <= 2, connections
PYEOF

echo "== a name the certificate does not carry is a TLS error"
sed 's/server_name: web.test/server_name: other.test/' "${TMP}/verified.yaml" > "${TMP}/wrong_name.yaml"
run_loadgen run "${TMP}/wrong_name.yaml" --threads 1 --summary-json "${TMP}/wrong_name.json" \
  --progress off 2> "${TMP}/wrong_name.err"
[[ ${RC} -eq 3 ]] || fail "wrong name: exit ${RC}, want 3 (threshold failed)"
check_json "${TMP}/wrong_name.json" 's["transactions"]["page"]["errors_by_class"] == {"tls": s["transactions"]["page"]["count"]}'
grep -q "TLS handshake with other.test failed: certificate verify failed .*: hostname mismatch" \
  "${TMP}/wrong_name.err" || fail "wrong name message: $(head -3 "${TMP}/wrong_name.err")"
echo PASS
