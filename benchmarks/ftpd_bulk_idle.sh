#!/usr/bin/env bash
# ftpd's bulk and idle figures, beside its peers where the question applies.
# Not a test: it prints numbers.
#
#   bulk: one RETR of a 512 MiB file (tmpfs), read by a client that only
#         counts bytes (recv_into a 4 MiB buffer), RUNS times per server on
#         loopback: MiB/s (best and median) and the server's CPU seconds per
#         GiB; ratio of ftpd's best rate to each peer's.
#   idle: SESSIONS logged-in sessions held open on ftpd at once: the growth of
#         ftpd's resident memory per session (VmRSS, after a warm-up session),
#         then a NOOP on every session, all of which must answer 200.
#
#   benchmarks/ftpd_bulk_idle.sh                       # both, all peers found
#   MODES=idle SESSIONS=20000 benchmarks/ftpd_bulk_idle.sh
#   MODES=bulk RUNS=5 SERVERS="ftpd vsftpd" benchmarks/ftpd_bulk_idle.sh
#   FTPD_BIN=... benchmarks/ftpd_bulk_idle.sh           # a prebuilt ftpd
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MODES="${MODES:-bulk idle}"
SERVERS="${SERVERS:-ftpd vsftpd pyftpdlib pure-ftpd proftpd}"
RUNS="${RUNS:-3}"
SIZE_MIB="${SIZE_MIB:-512}"
SESSIONS="${SESSIONS:-10000}"
PEER_DIR="${PEER_DIR:-/dev/shm/tpslab-peer-debs}"
PY=/usr/bin/python3
# The work directory and the helpers shared with ftpd_vs_peers.sh.
source "benchmarks/ftpd_peers_lib.sh"
setup_work bulk

if [[ -z "${FTPD_BIN:-}" ]]; then
  ./bazelw build -c opt //ftpd >&2
fi
cp "${FTPD_BIN:-bazel-out/k8-opt/bin/ftpd/ftpd}" "$WORK/"

# Every server's root holds the same file (hard links on one tmpfs).
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$WORK/big.bin"
make_root() {
  local root="$WORK/root-$1"
  mkdir -p "$root/pub" "$root/incoming"
  head -c 1024 /dev/urandom >"$root/pub/file-1k"
  ln "$WORK/big.bin" "$root/pub/big.bin"
  chmod a+r "$WORK/big.bin"
  echo "$root"
}

# Reads /pub/big.bin from 127.0.0.1:$1 once; prints "seconds bytes".
read_big() {
  "$PY" - "$1" <<'EOF'
import ftplib, sys, time
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=60)
ftp.login("anonymous", "bench@example.com")
ftp.voidcmd("TYPE I")
buffer = bytearray(4 << 20)
view = memoryview(buffer)
start = time.monotonic()
data = ftp.transfercmd("RETR pub/big.bin")
total = 0
while True:
    n = data.recv_into(view)
    if n == 0:
        break
    total += n
data.close()
ftp.voidresp()
print(time.monotonic() - start, total)
ftp.quit()
EOF
}

declare -A BULK
bulk() {
  local server
  for server in $SERVERS; do
    if [[ "$server" == pure-ftpd || "$server" == proftpd ]] && ! prepare_peer "$server"; then
      echo "skipping $server" >&2
      continue
    fi
    start_server "$server" "$(make_root "$server")"
    local rates=() cpu_before cpu_after run seconds bytes
    cpu_before="$(cpu_seconds "$SERVER_PID")"
    for run in $(seq "$RUNS"); do
      read -r seconds bytes <<<"$(read_big "$SERVER_PORT")"
      [[ "$bytes" -eq $((SIZE_MIB * 1024 * 1024)) ]] || {
        echo "$server: read $bytes bytes, expected $((SIZE_MIB * 1024 * 1024))" >&2
        exit 1
      }
      rates+=("$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "%.0f", b / 1048576 / s }')")
      echo "$server RETR $SIZE_MIB MiB run $run: ${rates[-1]} MiB/s" >&2
    done
    sleep 0.3 # Let a forking server reap the session.
    cpu_after="$(cpu_seconds "$SERVER_PID")"
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    local sorted
    sorted="$(printf '%s\n' "${rates[@]}" | sort -n | tr '\n' ' ')"
    read -r -a sorted_rates <<<"$sorted"
    BULK[$server]="${sorted_rates[-1]} ${sorted_rates[$((${#sorted_rates[@]} / 2))]} $(awk \
      -v a="$cpu_before" -v b="$cpu_after" -v runs="$RUNS" -v mib="$SIZE_MIB" \
      'BEGIN { printf "%.3f", (b - a) / (runs * mib / 1024) }')"
  done
  echo
  echo "RETR of one $SIZE_MIB MiB file on loopback, $RUNS runs per server (tmpfs; reader: recv_into 4 MiB)"
  local columns='%-10s %12s %14s %16s %14s\n'
  # shellcheck disable=SC2059 # the format is ours
  printf "$columns" server 'best MiB/s' 'median MiB/s' 'cpu s per GiB' 'ftpd/peer best'
  local ftpd_best
  read -r ftpd_best _ <<<"${BULK[ftpd]:-0 0 0}"
  for server in $SERVERS; do
    [[ -n "${BULK[$server]:-}" ]] || continue
    read -r best median cpu <<<"${BULK[$server]}"
    # shellcheck disable=SC2059
    printf "$columns" "$server" "$best" "$median" "$cpu" \
      "$(awk -v a="$ftpd_best" -v b="$best" 'BEGIN { printf "%.2f", a / b }')"
  done
}

idle() {
  # An idle session holds one descriptor here and one in ftpd (its
  # connection; sessions of one home share its directory); ftpd raises its
  # soft limit to the hard one.
  local wanted=$((SESSIONS + 1024))
  if (($(ulimit -Hn) < wanted)); then
    ulimit -Hn "$wanted" || { echo "need an open files limit of $wanted (ulimit -Hn)" >&2; exit 1; }
  fi
  ulimit -n "$wanted"
  local root
  root="$(make_root ftpd-idle)"
  SERVER_PORT="$(free_port)"
  "$WORK/ftpd" --listen "127.0.0.1:$SERVER_PORT" --root "$root" --anonymous --anonymous-root / \
    --max-sessions "$((SESSIONS + 100))" --max-sessions-per-ip "$((SESSIONS + 100))" \
    --log-level warn >"$WORK/ftpd-idle.out" 2>"$WORK/ftpd-idle.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_listening "$SERVER_PORT" || {
    echo "ftpd did not start listening on $SERVER_PORT" >&2
    cat "$WORK/ftpd-idle.err" >&2
    exit 1
  }
  "$PY" - "$SERVER_PORT" "$SERVER_PID" "$SESSIONS" <<'EOF'
import socket, sys, time
port, pid, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def rss_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def reply(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("ftpd closed a session")
        data += chunk
    return data

def login():
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    assert reply(sock).startswith(b"220")
    sock.sendall(b"USER anonymous\r\n")
    assert reply(sock).startswith(b"331")
    sock.sendall(b"PASS idle@example.com\r\n")
    answer = reply(sock)
    assert answer.startswith(b"230"), answer
    return sock

# One session first: thread stacks, caches and pools touched once are not
# per-session costs.
warm = login()
warm.sendall(b"NOOP\r\n")
reply(warm)
time.sleep(0.5)
before = rss_kib()
start = time.monotonic()
sessions = []
for i in range(count):
    try:
        sessions.append(login())
    except Exception as e:
        raise SystemExit("session %d of %d: %r" % (i + 1, count, e))
opened = time.monotonic() - start
time.sleep(1.0)
during = rss_kib()
ok = 0
start = time.monotonic()
for sock in sessions:
    sock.sendall(b"NOOP\r\n")
for sock in sessions:
    if reply(sock).startswith(b"200"):
        ok += 1
nooped = time.monotonic() - start
print()
print("%d idle logged-in sessions on ftpd (opened in %.1f s)" % (count, opened))
print("ftpd VmRSS: %d KiB before, %d KiB with the sessions open: %.2f KiB per session"
      % (before, during, (during - before) / count))
print("NOOP answered 200 on %d of %d sessions (all sent, then all read, in %.2f s)"
      % (ok, count, nooped))
for sock in sessions:
    sock.close()
if ok != count:
    raise SystemExit(1)
EOF
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in $MODES; do
  case "$mode" in
    bulk) bulk ;;
    idle) idle ;;
    *)
      echo "unknown mode $mode (bulk, idle)" >&2
      exit 2
      ;;
  esac
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
