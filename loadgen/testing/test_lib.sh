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
