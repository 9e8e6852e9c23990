#!/bin/bash
# loadgen vs wrk: both drive the same nginx on loopback (a 1 KiB static file,
# keep-alive, the same threads and connections, one after the other), and
# this prints requests/s and CPU seconds per 100k requests for each, and the
# ratios. Not a test: numbers depend on the machine.
#
#   ./bazelw build //loadgen && benchmarks/loadgen_vs_wrk.sh [THREADS] [CONNECTIONS] [DURATION]
#
# Defaults: 2 threads, 64 connections, 10s. Environment: LOADGEN (path to
# the binary; default bazel-out/k8-opt/bin/loadgen/loadgen), NGINX_WORKERS
# (default 1). CPU time is the tool's own (user + system, from getrusage of
# the child), nginx's is not counted.
set -euo pipefail

THREADS="${1:-2}"
CONNECTIONS="${2:-64}"
DURATION="${3:-10s}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOADGEN="${LOADGEN:-${ROOT}/bazel-out/k8-opt/bin/loadgen/loadgen}"
PY=/usr/bin/python3
[[ -x "${LOADGEN}" ]] || { echo "no loadgen at ${LOADGEN}; run ./bazelw build //loadgen" >&2; exit 1; }
command -v wrk > /dev/null || { echo "wrk is not installed" >&2; exit 1; }

WORK="$(mktemp -d)"
NGINX_PID=""
cleanup() {
  [[ -n "${NGINX_PID}" ]] && kill "${NGINX_PID}" 2>/dev/null && wait "${NGINX_PID}" 2>/dev/null
  rm -rf "${WORK}"
}
trap cleanup EXIT

PORT=$("${PY}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "${WORK}/www" "${WORK}/nginx"
head -c 1024 /dev/zero | tr '\0' 'x' > "${WORK}/www/index.html"
cat > "${WORK}/nginx/nginx.conf" <<CONF
daemon off;
user root root;
worker_processes ${NGINX_WORKERS:-1};
pid ${WORK}/nginx/nginx.pid;
error_log ${WORK}/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path ${WORK}/nginx/body;
  proxy_temp_path ${WORK}/nginx/proxy;
  fastcgi_temp_path ${WORK}/nginx/fastcgi;
  uwsgi_temp_path ${WORK}/nginx/uwsgi;
  scgi_temp_path ${WORK}/nginx/scgi;
  server { listen 127.0.0.1:${PORT}; root ${WORK}/www; }
}
CONF
/usr/sbin/nginx -c "${WORK}/nginx/nginx.conf" -p "${WORK}/nginx" &
NGINX_PID=$!
sleep 0.5
URL="http://127.0.0.1:${PORT}/index.html"

# Runs a command; prints "<cpu seconds>" of it (user + system) on fd 3.
measure() {
  "${PY}" - "$@" 3>&1 1>&2 <<'PYEOF'
import os, resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=open(os.environ["OUT"], "w"))
r = resource.getrusage(resource.RUSAGE_CHILDREN)
os.write(3, ("%.3f\n" % (r.ru_utime + r.ru_stime)).encode())
PYEOF
}

echo "nginx on ${URL}; ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION} each" >&2
WRK_CPU=$(OUT="${WORK}/wrk.txt" measure wrk -t "${THREADS}" -c "${CONNECTIONS}" -d "${DURATION}" "${URL}")
WRK_REQ=$(awk '/requests in/ {print $1}' "${WORK}/wrk.txt")
WRK_RPS=$(awk '/Requests\/sec/ {print $2}' "${WORK}/wrk.txt")
LG_CPU=$(OUT="${WORK}/loadgen.txt" measure "${LOADGEN}" run --target "${URL}" \
  --connections "${CONNECTIONS}" --threads "${THREADS}" --duration "${DURATION}" \
  --summary-json "${WORK}/loadgen.json" --progress off)
read -r LG_REQ LG_RPS LG_ERR < <("${PY}" -c '
import json, sys
s = json.load(open(sys.argv[1]))["transactions"]["get"]
print(s["count"], "%.1f" % s["tps"], s["errors"])' "${WORK}/loadgen.json")

"${PY}" - "${WRK_REQ}" "${WRK_RPS}" "${WRK_CPU}" "${LG_REQ}" "${LG_RPS}" "${LG_CPU}" "${LG_ERR}" <<'PYEOF'
import sys
wrk_req, wrk_rps, wrk_cpu, lg_req, lg_rps, lg_cpu, lg_err = sys.argv[1:]
wrk_req, wrk_rps, wrk_cpu = int(wrk_req), float(wrk_rps), float(wrk_cpu)
lg_req, lg_rps, lg_cpu = int(lg_req), float(lg_rps), float(lg_cpu)
wrk_per = wrk_cpu / wrk_req * 1e5
lg_per = lg_cpu / lg_req * 1e5
print("%-8s %12s %12s %10s %22s" % ("tool", "requests", "requests/s", "cpu s", "cpu s per 100k req"))
print("%-8s %12d %12.1f %10.2f %22.3f" % ("wrk", wrk_req, wrk_rps, wrk_cpu, wrk_per))
print("%-8s %12d %12.1f %10.2f %22.3f" % ("loadgen", lg_req, lg_rps, lg_cpu, lg_per))
print("loadgen/wrk: requests/s x%.3f, cpu per request x%.3f (loadgen errors: %s)"
      % (lg_rps / wrk_rps, lg_per / wrk_per, lg_err))
PYEOF
