#!/bin/bash
# loadgen's FTP upload transaction (connect, login, EPSV, STOR 1 KiB, QUIT)
# against vsftpd on loopback (and against ftpd when FTPD names its binary and
# FTPD_ARGS how to start it on $PORT with an anonymous-upload root in $ROOT),
# at 1, 8 and 64 users: prints TPS, p50, p99 and loadgen's CPU per
# transaction. Not a test: numbers depend on the machine. Run as root
# (vsftpd switches to the 'ftp' user).
#
#   ./bazelw build //loadgen && benchmarks/loadgen_ftp_upload.sh [DURATION] [THREADS]
set -euo pipefail

DURATION="${1:-10s}"
THREADS="${2:-2}"
ROOT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
LOADGEN="${LOADGEN:-${ROOT_DIR}/bazel-out/k8-opt/bin/loadgen/loadgen}"
PY=/usr/bin/python3
[[ -x "${LOADGEN}" ]] || { echo "no loadgen at ${LOADGEN}; run ./bazelw build //loadgen" >&2; exit 1; }

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [[ -n "${SERVER_PID}" ]] && kill "${SERVER_PID}" 2>/dev/null && wait "${SERVER_PID}" 2>/dev/null
  rm -rf "${WORK}"
}
trap cleanup EXIT

free_port() {
  "${PY}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs the upload transaction at 1, 8 and 64 users against 127.0.0.1:$2.
measure() {
  local name="$1" port="$2"
  for users in 1 8 64; do
    "${LOADGEN}" run --target "ftp://anonymous:x@127.0.0.1:${port}/upload" \
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

PORT=$(free_port)
mkdir -p "${WORK}/empty" "${WORK}/root/upload"
chmod 755 "${WORK}/empty" "${WORK}/root"
chown ftp "${WORK}/root/upload"
cat > "${WORK}/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=${PORT}
background=NO
anonymous_enable=YES
anon_root=${WORK}/root
no_anon_password=YES
write_enable=YES
anon_upload_enable=YES
anon_other_write_enable=YES
local_enable=NO
pasv_enable=YES
pasv_min_port=$(( (PORT % 20000) + 30000 ))
pasv_max_port=$(( (PORT % 20000) + 32000 ))
connect_from_port_20=NO
secure_chroot_dir=${WORK}/empty
seccomp_sandbox=NO
xferlog_enable=NO
max_clients=0
max_per_ip=0
CONF
/usr/sbin/vsftpd "${WORK}/vsftpd.conf" &
SERVER_PID=$!
sleep 0.5
measure vsftpd "${PORT}"
kill "${SERVER_PID}"; wait "${SERVER_PID}" 2>/dev/null || true; SERVER_PID=""

if [[ -n "${FTPD:-}" ]]; then
  PORT=$(free_port)
  ROOT="${WORK}/ftpd-root"
  mkdir -p "${ROOT}/upload"
  export PORT ROOT
  eval "exec \"${FTPD}\" ${FTPD_ARGS:-}" &
  SERVER_PID=$!
  sleep 0.5
  measure ftpd "${PORT}"
else
  echo "(ftpd skipped: set FTPD=path/to/ftpd and FTPD_ARGS to compare)" >&2
fi
