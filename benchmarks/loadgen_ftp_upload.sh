#!/bin/bash
# loadgen's FTP upload transaction (connect, login, EPSV, STOR 1 KiB, QUIT)
# against vsftpd on loopback (and against ftpd when FTPD names its binary and
# FTPD_ARGS how to start it on $PORT with an anonymous-upload root in $ROOT),
# at 1, 8 and 64 users: prints TPS, p50, p99 and loadgen's CPU per
# transaction. Not a test: numbers depend on the machine. Run as root
# (vsftpd switches to the 'ftp' user). vsftpd is configured as in
# ftpd_vs_peers.sh (ftpd_peers_lib.sh).
#
#   ./bazelw build //loadgen && benchmarks/loadgen_ftp_upload.sh [DURATION] [THREADS]
#   FTPD=bazel-bin/ftpd/ftpd FTPD_ARGS='--listen 127.0.0.1:$PORT --root $ROOT --anonymous \
#     --anonymous-root / --anonymous-upload-dir /upload --threads 1' benchmarks/loadgen_ftp_upload.sh
set -euo pipefail

DURATION="${1:-10s}"
THREADS="${2:-2}"
ROOT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
LOADGEN="${LOADGEN:-${ROOT_DIR}/bazel-out/k8-opt/bin/loadgen/loadgen}"
PY=/usr/bin/python3
[[ -x "${LOADGEN}" ]] || { echo "no loadgen at ${LOADGEN}; run ./bazelw build //loadgen" >&2; exit 1; }

# The work directory (on tmpfs, cleaned up at exit) and vsftpd's start-up.
source "${ROOT_DIR}/benchmarks/ftpd_peers_lib.sh"
setup_work upload

# Runs the upload transaction at 1, 8 and 64 users against 127.0.0.1:$2,
# uploading into directory $3.
measure() {
  local name="$1" port="$2" dir="$3"
  for users in 1 8 64; do
    "${LOADGEN}" run --target "ftp://anonymous:x@127.0.0.1:${port}${dir}" \
      --transaction upload:1KiB --users "${users}" --threads "${THREADS}" \
      --duration "${DURATION}" --summary-json "${WORK}/s.json" --progress off > /dev/null
    "${PY}" - "${name}" "${users}" "${WORK}/s.json" <<'PYEOF'
import json, sys
name, users, path = sys.argv[1:]
s = json.load(open(path))
t = s["transactions"]["upload"]
cpu = s["generator"]["cpu_seconds"]
per = cpu / t["count"] * 1e6 if t["count"] else float("nan")
print("%-8s %6s %10.1f %9.3f %9.3f %8d %14.1f" % (name, users, t["tps"], t["p50"], t["p99"],
                                                 t["errors"], per))
PYEOF
  done
}

printf "%-8s %6s %10s %9s %9s %8s %14s\n" server users tps "p50 ms" "p99 ms" errors "cpu us/tx"

mkdir -p "${WORK}/root-vsftpd/pub" "${WORK}/root-vsftpd/incoming"
start_server vsftpd "${WORK}/root-vsftpd"
measure vsftpd "${SERVER_PORT}" /incoming/
kill "${SERVER_PID}"; wait "${SERVER_PID}" 2>/dev/null || true

if [[ -n "${FTPD:-}" ]]; then
  PORT=$(free_port)
  ROOT="${WORK}/ftpd-root"
  mkdir -p "${ROOT}/upload"
  export PORT ROOT
  eval "exec \"${FTPD}\" ${FTPD_ARGS:-}" &
  SERVER_PID=$!
  PIDS+=("${SERVER_PID}")
  wait_listening "${PORT}" || { echo "ftpd did not start listening on ${PORT}" >&2; exit 1; }
  measure ftpd "${PORT}" /upload
else
  echo "(ftpd skipped: set FTPD=path/to/ftpd and FTPD_ARGS to compare)" >&2
fi
