#!/usr/bin/env bash
# Real captures: dumpcap records loopback while Python ftplib talks to
# tpslab's ftpd, pyftpdlib and vsftpd, in passive and active mode; `analyzer pcap
# --fields` must print what tshark prints for the same file, and the
# report must show the sessions and their completed transfers.
#
# Needs root (capturing), dumpcap, tshark, python3-pyftpdlib and vsftpd.
# Servers and clients use their own loopback addresses (127.0.0.23-28),
# so the capture filter holds only this test's traffic; servers start
# before the capture so that readiness probes (a greeting and no command:
# not recognised as FTP by content) stay out of it.
#
#   live_capture_test.sh PCAP_MAIN FTPD
set -euo pipefail
PCAP_MAIN="$1"
FTPD="$2"
PY=/usr/bin/python3
for tool in /usr/bin/dumpcap /usr/bin/tshark /usr/sbin/vsftpd; do
  [[ -x "$tool" ]] || { echo "FAIL: $tool not installed" >&2; exit 1; }
done
[[ "$(id -u)" -eq 0 ]] || { echo "FAIL: capturing needs root" >&2; exit 1; }
# Under /dev/shm: vsftpd's unprivileged process must reach the files.
WORK="$(mktemp -d /dev/shm/tpslab-pcap-live.XXXXXX)"
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  "$PY" -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

# Files served by both servers.
mkdir -p "$WORK/root/pub" "$WORK/root/incoming"
head -c 300000 /dev/urandom >"$WORK/root/pub/big.bin"
echo hello >"$WORK/root/pub/small.txt"
chmod -R a+rX "$WORK/root"
chmod 777 "$WORK/root/incoming"

cat >"$WORK/client.py" <<'PYEOF'
import ftplib, io, sys
host, port, client_ip, user, upload_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
for passive in (True, False):
    ftp = ftplib.FTP(source_address=(client_ip, 0), timeout=10)
    ftp.connect(host, port)
    ftp.login(user, "test@example.com")
    ftp.set_pasv(passive)
    ftp.cwd("/pub")
    ftp.pwd()
    ftp.retrlines("LIST")
    data = bytearray()
    ftp.retrbinary("RETR big.bin", data.extend)
    assert len(data) == 300000, len(data)
    ftp.cwd(upload_dir)
    ftp.storbinary("STOR up-%s.bin" % ("pasv" if passive else "port"), io.BytesIO(b"u" * 70000))
    try:
        ftp.retrbinary("RETR missing.bin", data.extend)
    except ftplib.error_perm:
        pass
    ftp.sendcmd("NOOP")
    ftp.quit()
PYEOF

start_capture() {  # name server_ip client_ip
  CAPTURE="$WORK/$1.pcapng"
  /usr/bin/dumpcap -i lo -f "host $2 or host $3" -w "$CAPTURE" >"$WORK/$1.dumpcap" 2>&1 &
  DUMPCAP_PID=$!
  PIDS+=("$DUMPCAP_PID")
  for _ in $(seq 100); do
    if grep -q "Capturing on" "$WORK/$1.dumpcap"; then
      # dumpcap says so a little before its socket sees packets: a session
      # whose greeting is missed is (rightly) not found by content.
      sleep 1
      return 0
    fi
    sleep 0.1
  done
  echo "FAIL: dumpcap did not start:" >&2
  cat "$WORK/$1.dumpcap" >&2
  exit 1
}

stop_capture() {
  sleep 0.5  # Let the last packets reach the ring buffer.
  kill -INT "$DUMPCAP_PID"
  wait "$DUMPCAP_PID" 2>/dev/null || true
}

wait_port() {
  for _ in $(seq 100); do
    "$PY" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' "$1" "$2" \
      2>/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL: nothing listens on $1:$2" >&2
  exit 1
}

failures=0
compare() {  # name port
  local name="$1" port="$2"
  local fields=frame.number,tcp.stream,ftp.request.command,ftp.request.arg,ftp.response.code,ftp.response.arg
  "$PCAP_MAIN" pcap "$CAPTURE" --fields "$fields" >"$WORK/$name.ours"
  HOME="$WORK" /usr/bin/tshark -r "$CAPTURE" -d "tcp.port==$port,ftp" -Y ftp -T fields \
    -e frame.number -e tcp.stream -e ftp.request.command -e ftp.request.arg \
    -e ftp.response.code -e ftp.response.arg >"$WORK/$name.tshark" 2>/dev/null
  if ! diff -u "$WORK/$name.tshark" "$WORK/$name.ours" >"$WORK/$name.diff"; then
    echo "FAIL: $name: --fields differs from tshark (- tshark, + ours):" >&2
    head -40 "$WORK/$name.diff" >&2
    failures=$((failures + 1))
  fi
  local lines
  lines="$(wc -l <"$WORK/$name.ours")"
  cp "$WORK/$name".* "${TEST_UNDECLARED_OUTPUTS_DIR:-$WORK}/" 2>/dev/null || true
  [[ "$lines" -ge 40 ]] || { echo "FAIL: $name: only $lines FTP lines" >&2; failures=$((failures + 1)); }
  "$PCAP_MAIN" pcap "$CAPTURE" --json >"$WORK/$name.json"
  if ! "$PY" - "$WORK/$name.json" <<'PYEOF'
import json, sys
report = json.load(open(sys.argv[1]))
sessions = report["ftp_sessions"]
assert len(sessions) == 2, "sessions: %d" % len(sessions)
for session, mode in zip(sessions, ("passive", "active")):
    done = [t for t in session["transfers"] if t["outcome"] == "complete"]
    assert len(done) == 3, (mode, session["transfers"])
    assert all(t["mode"] == mode and t["data_stream"] is not None for t in done), done
    sizes = sorted(t["bytes"] for t in done)
    assert sizes[1:] == [70000, 300000], sizes
    assert session["user"] in ("anonymous", "ftp"), session["user"]
    assert session["response_time"]["count"] >= 10, session["response_time"]
    failed = [t for t in session["transfers"] if t["outcome"] == "failed"]
    assert len(failed) == 1 and failed[0]["final_code"] == 550, session["transfers"]
assert report["warnings"] == [], report["warnings"]
PYEOF
  then
    echo "FAIL: $name: report check failed" >&2
    failures=$((failures + 1))
  fi
  echo "$name: $lines FTP lines compared"
}

# --- tpslab ftpd ---
"$FTPD" --listen 127.0.0.27:0 --root "$WORK/root" --anonymous --anonymous-root / \
  --anonymous-upload-dir /incoming --anonymous-upload-readable --log-level warn \
  >"$WORK/ftpd.out" 2>"$WORK/ftpd.log" &
PIDS+=($!)
for _ in $(seq 100); do
  PORT="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/ftpd.out" 2>/dev/null || true)"
  [[ -n "$PORT" ]] && break
  sleep 0.1
done
[[ -n "$PORT" ]] || { echo "FAIL: ftpd did not start:" >&2; cat "$WORK/ftpd.log" >&2; exit 1; }
start_capture ftpd 127.0.0.27 127.0.0.28
"$PY" "$WORK/client.py" 127.0.0.27 "$PORT" 127.0.0.28 anonymous /incoming
stop_capture
compare ftpd "$PORT"

# --- pyftpdlib ---
PORT="$(free_port 127.0.0.23)"
"$PY" -m pyftpdlib -i 127.0.0.23 -p "$PORT" -d "$WORK/root" -w >"$WORK/pyftpdlib.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.23 "$PORT"  # Before capturing: its probe is no session.
start_capture pyftpdlib 127.0.0.23 127.0.0.24
"$PY" "$WORK/client.py" 127.0.0.23 "$PORT" 127.0.0.24 anonymous /incoming
stop_capture
compare pyftpdlib "$PORT"

# --- vsftpd ---
PORT="$(free_port 127.0.0.25)"
mkdir -p "$WORK/empty"
chown -R ftp:ftp "$WORK/root/incoming" 2>/dev/null || true
chmod 555 "$WORK/root"
cat >"$WORK/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.25
listen_port=$PORT
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$WORK/root
write_enable=YES
anon_upload_enable=YES
anon_umask=022
local_enable=NO
pasv_enable=YES
pasv_address=127.0.0.25
port_enable=YES
connect_from_port_20=NO
anon_other_write_enable=YES
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=$WORK/empty
xferlog_enable=NO
CONF
/usr/sbin/vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.25 "$PORT"
start_capture vsftpd 127.0.0.25 127.0.0.26
"$PY" "$WORK/client.py" 127.0.0.25 "$PORT" 127.0.0.26 anonymous /incoming
stop_capture
compare vsftpd "$PORT"

[[ "$failures" -eq 0 ]]
