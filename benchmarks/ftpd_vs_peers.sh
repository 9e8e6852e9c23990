#!/usr/bin/env bash
# ftpd beside peer FTP servers on loopback, measured by one client (loadgen).
# Not a test: it prints numbers. For each server, transaction and concurrency
# it reports transactions/s, the server's CPU time per transaction (all its
# processes and threads, user + system, including reaped children), the CPU
# that other processes on the machine took meanwhile, and ratios against
# ftpd measured in the same run.
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
# Peers: vsftpd and pyftpdlib (installed by ./bazelw); pure-ftpd and proftpd
# are not installed: their Debian packages are fetched with `apt-get
# download` and unpacked (dpkg -x) under $PEER_DIR, and run from there
# (skipped with a message when that fails). Files live on tmpfs (/dev/shm):
# a disk-backed directory halves small-file rates.
#
# Every download leaves a TIME_WAIT socket on the server's passive port for
# 60 s, and these slow down later binds of every server (the kernel's port-0
# search walks them), so before each server the script waits (up to
# SETTLE_SECONDS, default 65) until fewer than 1000 TIME_WAIT sockets remain:
# each server starts from the same state. Columns: "other%" is the CPU that
# processes other than the server and loadgen used during the cell, in % of
# all cores (user + system time from /proc/stat); "tw" the TIME_WAIT sockets
# on the machine at the end of the cell.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION="${DURATION:-10s}"
USERS="${USERS:-1 8 64}"
TRANSACTIONS="${TRANSACTIONS:-upload download login}"
SERVERS="${SERVERS:-ftpd vsftpd pyftpdlib pure-ftpd proftpd}"
SETTLE_SECONDS="${SETTLE_SECONDS:-65}"
PEER_DIR="${PEER_DIR:-/dev/shm/tpslab-peer-debs}"
WORK="$(mktemp -d /dev/shm/tpslab-peers.XXXXXX)"
chmod 755 "$WORK" # servers that switch to the ftp user must reach the roots inside
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

# Seconds of user + nice + system CPU of the whole machine since boot.
machine_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print ($2 + $3 + $4) / hz }' /proc/stat
}

# TIME_WAIT sockets on the machine.
time_wait_count() {
  awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1) }' /proc/net/sockstat
}

# Waits (at most SETTLE_SECONDS) until fewer than 1000 TIME_WAIT sockets
# remain, so that no server inherits the previous one's.
settle_time_wait() {
  local waited=0
  while (($(time_wait_count) >= 1000 && waited < SETTLE_SECONDS)); do
    sleep 1
    waited=$((waited + 1))
  done
  echo "(waited $waited s for TIME_WAIT sockets to expire: $(time_wait_count) left)" >&2
}

# Unpacks Debian packages $2... into $PEER_DIR/root (fetching them with
# `apt-get download` unless already there) so that binary $1 runs from there.
# Returns non-zero, with a message, when it cannot.
unpack_peer() {
  local binary="$1"
  shift
  [[ -x "$PEER_DIR/root/$binary" ]] && return 0
  mkdir -p "$PEER_DIR/debs" "$PEER_DIR/root"
  chmod 777 "$PEER_DIR/debs" # apt's _apt user downloads into it
  if ! (cd "$PEER_DIR/debs" && apt-get download "$@" >"$PEER_DIR/apt.log" 2>&1); then
    echo "cannot fetch $*: $(tail -1 "$PEER_DIR/apt.log")" >&2
    return 1
  fi
  for deb in "$PEER_DIR"/debs/*.deb; do dpkg -x "$deb" "$PEER_DIR/root"; done
  [[ -x "$PEER_DIR/root/$binary" ]] || {
    echo "no $binary in $*" >&2
    return 1
  }
}

# Makes peer $1 runnable; false (with a message) when it cannot be.
prepare_peer() {
  case "$1" in
    pure-ftpd)
      unpack_peer usr/sbin/pure-ftpd pure-ftpd || return 1
      # pure-ftpd serves anonymous users the ftp account's home; it runs in
      # a mount namespace of its own where that directory is the root.
      local home
      home="$(getent passwd ftp | cut -d: -f6)"
      [[ -n "$home" && -d "$home" ]] || {
        echo "user ftp has no home directory" >&2
        return 1
      }
      unshare -m true 2>/dev/null || {
        echo "unshare -m is not allowed here" >&2
        return 1
      }
      ;;
    proftpd)
      unpack_peer usr/sbin/proftpd proftpd-core libhiredis0.14 libmemcached11 \
        libmemcachedutil2 libhashkit2 libpcre2-posix3 || return 1
      LD_LIBRARY_PATH="$PEER_DIR/root/usr/lib/x86_64-linux-gnu" \
        "$PEER_DIR/root/usr/sbin/proftpd" --version >/dev/null 2>"$PEER_DIR/proftpd.err" || {
        echo "proftpd does not run from $PEER_DIR: $(head -1 "$PEER_DIR/proftpd.err")" >&2
        return 1
      }
      ;;
  esac
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
    pure-ftpd)
      chown -R ftp:ftp "$root/incoming"
      chmod 555 "$root"
      # -e anonymous only, -A chroot, -H no DNS lookups, -c/-C client limits.
      unshare -m sh -c "mount --bind '$root' '$(getent passwd ftp | cut -d: -f6)' && exec \
        '$PEER_DIR/root/usr/sbin/pure-ftpd' -S 127.0.0.1,$SERVER_PORT -e -A -H -c 10000 -C 10000" \
        >"$WORK/pure-ftpd.err" 2>&1 &
      SERVER_PID=$!
      ;;
    proftpd)
      chown -R ftp:ftp "$root/incoming"
      chmod 555 "$root"
      cat >"$WORK/proftpd.conf" <<EOF
ServerType standalone
DefaultAddress 127.0.0.1
Port $SERVER_PORT
SocketBindTight on
User nobody
Group nogroup
ScoreboardFile $WORK/proftpd.scoreboard
PidFile $WORK/proftpd.pid
SystemLog $WORK/proftpd.log
TransferLog none
WtmpLog off
UseReverseDNS off
DelayEngine off
MaxInstances none
UseFtpUsers off
AuthPAM off
Umask 022
<Anonymous $root>
  User ftp
  Group ftp
  UserAlias anonymous ftp
  RequireValidShell off
  <Directory incoming>
    <Limit STOR>
      AllowAll
    </Limit>
  </Directory>
</Anonymous>
EOF
      LD_LIBRARY_PATH="$PEER_DIR/root/usr/lib/x86_64-linux-gnu" \
        "$PEER_DIR/root/usr/sbin/proftpd" -n -q -c "$WORK/proftpd.conf" >"$WORK/proftpd.err" 2>&1 &
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

# Runs one load cell; prints "tps cpu_ms_per_txn errors other_percent time_wait".
measure() {
  local transaction="$1" users="$2" spec
  case "$transaction" in
    upload) spec="upload:1KiB" ;;
    download) spec="download:/pub/file-1k" ;;
    login) spec="noop" ;;
  esac
  local path=/
  [[ "$transaction" == upload ]] && path=/incoming/
  local before after machine_before machine_after start end
  before="$(cpu_seconds "$SERVER_PID")"
  machine_before="$(machine_cpu_seconds)"
  start="$(date +%s.%N)"
  "$WORK/loadgen" run --target "ftp://anonymous:bench@127.0.0.1:$SERVER_PORT$path" \
    --transaction "$spec" --users "$users" --duration "$DURATION" --progress off \
    --summary-json "$WORK/summary.json" >/dev/null 2>"$WORK/loadgen.err" || true
  sleep 0.5 # Let the last sessions end and be reaped.
  after="$(cpu_seconds "$SERVER_PID")"
  machine_after="$(machine_cpu_seconds)"
  end="$(date +%s.%N)"
  /usr/bin/python3 - "$WORK/summary.json" "$before" "$after" "$machine_before" "$machine_after" \
    "$start" "$end" "$(nproc)" "$(time_wait_count)" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
count, tps, errors = s["all"]["count"], s["all"]["tps"], s["all"]["errors"]
before, after, m_before, m_after, start, end, cores = map(float, sys.argv[2:9])
cpu = after - before
other = (m_after - m_before) - cpu - s["generator"]["cpu_seconds"]
other_percent = max(0.0, 100 * other / ((end - start) * cores))
print(f"{tps:.0f} {1000 * cpu / max(count, 1):.3f} {errors} {other_percent:.0f} {sys.argv[9]}")
EOF
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
RUN_SERVERS=""
for server in $SERVERS; do
  if [[ "$server" == pure-ftpd || "$server" == proftpd ]] && ! prepare_peer "$server"; then
    echo "skipping $server" >&2
    continue
  fi
  RUN_SERVERS+="$server "
done

declare -A RESULT
for server in $RUN_SERVERS; do
  settle_time_wait
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
echo "load average (1/5/15 min) before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
columns='%-10s %-9s %5s %9s %12s %7s %7s %7s %11s %12s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$columns" server txn users 'txn/s' 'cpu ms/txn' errors 'other%' tw 'ftpd/peer' 'peer/ftpd'
# shellcheck disable=SC2059
printf "$columns" '' '' '' '' '' '' '' '' 'txn/s' 'cpu/txn'
for transaction in $TRANSACTIONS; do
  for users in $USERS; do
    read -r ftpd_tps ftpd_cpu _ <<<"${RESULT["ftpd,$transaction,$users"]:-0 0 0}"
    for server in $RUN_SERVERS; do
      read -r tps cpu errors other tw <<<"${RESULT["$server,$transaction,$users"]}"
      ratio_tps=$(awk -v a="$ftpd_tps" -v b="$tps" 'BEGIN { printf (b > 0 ? "%.2f" : "-"), a / b }')
      ratio_cpu=$(awk -v a="$cpu" -v b="$ftpd_cpu" 'BEGIN { printf (b > 0 ? "%.1f" : "-"), a / b }')
      # shellcheck disable=SC2059
      printf "$columns" "$server" "$transaction" "$users" "$tps" "$cpu" "$errors" "$other" "$tw" \
        "$ratio_tps" "$ratio_cpu"
    done
  done
done
