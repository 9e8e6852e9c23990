# Helpers for loadgen's shell tests: free loopback ports, bounded waits for
# a server to listen, JSON checks with Debian's python3, and cleanup of the
# servers a test started (by PID).
set -euo pipefail

LOADGEN="${TEST_SRCDIR}/${TEST_WORKSPACE}/loadgen/loadgen"
PY=/usr/bin/python3
TMP="${TEST_TMPDIR}"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [[ -n "${pid}" ]] && kill "${pid}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [[ -n "${pid}" ]] && wait "${pid}" 2>/dev/null || true
  done
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
  "${PY}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for 127.0.0.1:$1 to accept connections.
wait_listening() {
  "${PY}" - "$1" <<'PYEOF'
import socket, sys, time
deadline = time.time() + 10
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("nothing listens on port %s" % sys.argv[1])
PYEOF
}

# Runs a Python expression over the JSON file $1 with `s` bound to it; fails
# the test with the expression when it is false.
check_json() {
  "${PY}" - "$1" "$2" <<'PYEOF' || fail "check on $1: $2"
import json, sys
s = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
if not ok:
    print(json.dumps(s, indent=1)[:4000], file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF
}

# Runs loadgen with a time limit; sets RC to its exit status.
run_loadgen() {
  set +e
  timeout 120 "${LOADGEN}" "$@"
  RC=$?
  set -e
}

# Writes a self-signed certificate ${TMP}/$1.pem and its key ${TMP}/$1.key
# for CN 127.0.0.1, valid one day, with the subjectAltName $2 (default
# "IP:127.0.0.1": OpenSSL checks an IP address only against IP SANs).
make_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
    -addext "subjectAltName=${2:-IP:127.0.0.1}" -days 1 \
    -keyout "${TMP}/$1.key" -out "${TMP}/$1.pem" 2> "${TMP}/$1.openssl.err" ||
    fail "openssl req for $1: $(cat "${TMP}/$1.openssl.err")"
}

# Starts an anonymous vsftpd on 127.0.0.1:$PORT (set here) serving
# $TMP/root (pub/1k.bin readable, upload/ writable and overwritable), with
# a wide passive range: vsftpd fails a PASV/EPSV with "500 OOPS:
# vsf_sysutil_bind" when the random ports it tries are all taken (TIME_WAIT
# after many uploads). Extra vsftpd.conf lines come on stdin.
start_vsftpd() {
  PORT=$(free_port)
  local pasv=$(( (PORT % 20000) + 10000 ))
  mkdir -p "${TMP}/empty" "${TMP}/root/upload" "${TMP}/root/pub"
  chmod 755 "${TMP}/empty" "${TMP}/root"
  chown ftp "${TMP}/root/upload"
  head -c 1024 /dev/zero | tr '\0' 'y' > "${TMP}/root/pub/1k.bin"
  cat > "${TMP}/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=${PORT}
background=NO
anonymous_enable=YES
anon_root=${TMP}/root
no_anon_password=YES
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_umask=022
local_enable=NO
pasv_enable=YES
pasv_min_port=${pasv}
pasv_max_port=$(( pasv + 5000 ))
port_enable=YES
connect_from_port_20=NO
secure_chroot_dir=${TMP}/empty
seccomp_sandbox=NO
xferlog_enable=NO
max_clients=0
max_per_ip=0
dirmessage_enable=NO
CONF
  cat >> "${TMP}/vsftpd.conf"
  /usr/sbin/vsftpd "${TMP}/vsftpd.conf" &
  PIDS+=($!)
  wait_listening "${PORT}"
}
