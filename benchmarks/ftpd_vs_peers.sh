#!/usr/bin/env bash
# ftpd beside peer FTP servers on loopback, measured by one client (loadgen).
# Not a test: it prints numbers. For each server, transaction and concurrency
# it reports transactions/s and the server's CPU time per transaction (all
# its processes and threads, user + system, including reaped children), and
# ratios against ftpd measured in the same run.
#
#   benchmarks/ftpd_vs_peers.sh                 # 10 s per cell, all peers found
#   DURATION=5s USERS="1 8" SERVERS="ftpd vsftpd" benchmarks/ftpd_vs_peers.sh
#   FTPD_BIN=... LOADGEN_BIN=... benchmarks/ftpd_vs_peers.sh   # prebuilt binaries
#
# Transactions (each a fresh connection, anonymous login on every server so
# no server pays for password hashing):
#   upload:   connect, login, EPSV, STOR 1 KiB (a new name each time), QUIT
#   download: connect, login, EPSV, RETR 1 KiB, QUIT
#   login:    connect, login, NOOP, QUIT
# Peers: vsftpd and pyftpdlib (installed by ./bazelw). Files live on tmpfs
# (/dev/shm): a disk-backed directory halves small-file rates.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION="${DURATION:-10s}"
USERS="${USERS:-1 8 64}"
TRANSACTIONS="${TRANSACTIONS:-upload download login}"
SERVERS="${SERVERS:-ftpd vsftpd pyftpdlib}"
WORK="$(mktemp -d /dev/shm/tpslab-peers.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z "${FTPD_BIN:-}" || -z "${LOADGEN_BIN:-}" ]]; then
  ./bazelw build -c opt //ftpd //loadgen >&2
fi
cp "${FTPD_BIN:-bazel-out/k8-opt/bin/ftpd/ftpd}" "${LOADGEN_BIN:-bazel-out/k8-opt/bin/loadgen/loadgen}" "$WORK/"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Seconds of CPU (user + system, own and reaped children) of process $1.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"
}

# Starts server $1 serving $2 (a directory with pub/file-1k and incoming/),
# sets SERVER_PID and SERVER_PORT.
start_server() {
  local name="$1" root="$2"
  SERVER_PORT="$(free_port)"
  case "$name" in
    ftpd)
      "$WORK/ftpd" --listen "127.0.0.1:$SERVER_PORT" --root "$root" --anonymous --anonymous-root / \
        --anonymous-upload-dir /incoming --anonymous-upload-readable \
        --max-sessions 100000 --max-sessions-per-ip 100000 --lockout-threshold 0 \
        --log-level warn >"$WORK/ftpd.out" 2>"$WORK/ftpd.err" &
      SERVER_PID=$!
      ;;
    vsftpd)
      chown -R ftp:ftp "$root/incoming"
      chmod 555 "$root"
      cat >"$WORK/vsftpd.conf" <<EOF
listen=YES
listen_address=127.0.0.1
listen_port=$SERVER_PORT
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$root
write_enable=YES
anon_upload_enable=YES
anon_other_write_enable=YES
anon_umask=022
local_enable=NO
max_clients=0
max_per_ip=0
pasv_enable=YES
pasv_address=127.0.0.1
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
use_localtime=NO
secure_chroot_dir=/var/run/vsftpd/empty
EOF
      mkdir -p /var/run/vsftpd/empty
      /usr/sbin/vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.err" 2>&1 &
      SERVER_PID=$!
      ;;
    pyftpdlib)
      /usr/bin/python3 - "$root" "$SERVER_PORT" >"$WORK/pyftpdlib.err" 2>&1 <<'EOF' &
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
logging.basicConfig(level=logging.WARNING)
authorizer = DummyAuthorizer()
authorizer.add_anonymous(sys.argv[1], perm="elradfmw")
FTPHandler.authorizer = authorizer
FTPHandler.use_sendfile = True
server = FTPServer(("127.0.0.1", int(sys.argv[2])), FTPHandler)
server.max_cons = 0
server.max_cons_per_ip = 0
server.serve_forever()
EOF
      SERVER_PID=$!
      ;;
    *)
      echo "unknown server $name" >&2
      exit 2
      ;;
  esac
  PIDS+=("$SERVER_PID")
  for _ in $(seq 100); do
    if bash -c "exec 3<>/dev/tcp/127.0.0.1/$SERVER_PORT" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "$name did not start listening on $SERVER_PORT" >&2
  cat "$WORK/$name".* >&2 || true
  exit 1
}

# Runs one load cell; prints "tps cpu_ms_per_txn errors".
measure() {
  local transaction="$1" users="$2" spec
  case "$transaction" in
    upload) spec="upload:1KiB" ;;
    download) spec="download:/pub/file-1k" ;;
    login) spec="noop" ;;
  esac
  local path=/
  [[ "$transaction" == upload ]] && path=/incoming/
  local before after
  before="$(cpu_seconds "$SERVER_PID")"
  "$WORK/loadgen" run --target "ftp://anonymous:bench@127.0.0.1:$SERVER_PORT$path" \
    --transaction "$spec" --users "$users" --duration "$DURATION" --progress off \
    --summary-json "$WORK/summary.json" >/dev/null 2>"$WORK/loadgen.err" || true
  sleep 0.5  # Let the last sessions end and be reaped.
  after="$(cpu_seconds "$SERVER_PID")"
  /usr/bin/python3 - "$WORK/summary.json" "$before" "$after" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
count, tps, errors = s["all"]["count"], s["all"]["tps"], s["all"]["errors"]
cpu = float(sys.argv[3]) - float(sys.argv[2])
print(f"{tps:.0f} {1000 * cpu / max(count, 1):.3f} {errors}")
EOF
}

declare -A RESULT
for server in $SERVERS; do
  root="$WORK/root-$server"
  mkdir -p "$root/pub" "$root/incoming"
  head -c 1024 /dev/urandom >"$root/pub/file-1k"
  start_server "$server" "$root"
  for transaction in $TRANSACTIONS; do
    for users in $USERS; do
      RESULT["$server,$transaction,$users"]="$(measure "$transaction" "$users")"
      echo "$server $transaction users=$users: ${RESULT["$server,$transaction,$users"]}" >&2
      find "$root/incoming" -type f -delete
    done
  done
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
done

echo
echo "machine: $(nproc) cores, $(uname -r); duration per cell: $DURATION; client: loadgen (--threads = cores)"
printf '%-10s %-9s %5s %9s %12s %7s %11s %12s\n' server txn users 'txn/s' 'cpu ms/txn' errors 'ftpd/peer' 'peer/ftpd'
printf '%-10s %-9s %5s %9s %12s %7s %11s %12s\n' '' '' '' '' '' '' 'txn/s' 'cpu/txn'
for transaction in $TRANSACTIONS; do
  for users in $USERS; do
    read -r ftpd_tps ftpd_cpu _ <<<"${RESULT["ftpd,$transaction,$users"]:-0 0 0}"
    for server in $SERVERS; do
      read -r tps cpu errors <<<"${RESULT["$server,$transaction,$users"]}"
      ratio_tps=$(awk -v a="$ftpd_tps" -v b="$tps" 'BEGIN { printf (b > 0 ? "%.2f" : "-"), a / b }')
      ratio_cpu=$(awk -v a="$cpu" -v b="$ftpd_cpu" 'BEGIN { printf (b > 0 ? "%.1f" : "-"), a / b }')
      printf '%-10s %-9s %5s %9s %12s %7s %11s %12s\n' "$server" "$transaction" "$users" "$tps" \
        "$cpu" "$errors" "$ratio_tps" "$ratio_cpu"
    done
  done
done
