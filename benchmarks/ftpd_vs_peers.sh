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
# The work directory, server start-up, CPU accounting and TIME_WAIT helpers
# shared with ftpd_bulk_idle.sh and loadgen_ftp_upload.sh.
source "benchmarks/ftpd_peers_lib.sh"
setup_work peers

if [[ -z "${FTPD_BIN:-}" || -z "${LOADGEN_BIN:-}" ]]; then
  ./bazelw build -c opt //ftpd //loadgen >&2
fi
cp "${FTPD_BIN:-bazel-out/k8-opt/bin/ftpd/ftpd}" "${LOADGEN_BIN:-bazel-out/k8-opt/bin/loadgen/loadgen}" "$WORK/"

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
