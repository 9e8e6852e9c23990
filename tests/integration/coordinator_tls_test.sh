#!/usr/bin/env bash
# Cross-component: the coordinator's gRPC over TLS. monitor, given the CA
# that signed the coordinator's certificate, streams samples that are
# stored; a monitor that does not trust the certificate (or speaks
# plaintext) gets nothing stored and says so; half a key pair is refused.
#   $1 = analyzer binary, $2 = monitor binary
set -euo pipefail
analyzer="$(realpath "$1")"
monitor="$(realpath "$2")"
work="${TEST_TMPDIR:-$(mktemp -d)}"
db="$work/runs.db"
coordinator_pid=""
trap '[[ -n "$coordinator_pid" ]] && kill "$coordinator_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

# A CA, and a certificate for 127.0.0.1 signed by it; a second, unrelated CA.
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=tpslab-test-ca \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr \
  2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
  -extfile san.ext -out server.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other-ca \
  -keyout other.key -out other.pem 2>/dev/null

# Half a key pair is a usage error that names the options.
if "$analyzer" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 --db "$db" --tls-cert server.pem \
  >half.out 2>half.err; then
  echo "serve accepted --tls-cert without --tls-key"; exit 1
fi
grep -q -- "--tls-cert and --tls-key go together" half.err || { cat half.err; exit 1; }

"$analyzer" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 --db "$db" --token s3cret \
  --tls-cert server.pem --tls-key server.key >analyzer.out 2>analyzer.err &
coordinator_pid=$!
grpc_address=""
for _ in $(seq 200); do
  grpc_address="$(sed -n 's/^grpc on //p' analyzer.out 2>/dev/null || true)"
  [[ -n "$grpc_address" ]] && break
  sleep 0.05
done
[[ -n "$grpc_address" ]] || { echo "analyzer did not start"; cat analyzer.err; exit 1; }
grep -q "over TLS" analyzer.err || { echo "no TLS in the startup log"; cat analyzer.err; exit 1; }
# Agents dial the name in the certificate.
grpc_address="127.0.0.1:${grpc_address##*:}"

count() { /usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$db" "$1"; }

"$monitor" --coordinator "$grpc_address" --token s3cret --coordinator-ca ca.pem \
  --interval 100ms --samples 4 --pid $$ --log-level warn >/dev/null 2>monitor-tls.err
stored=$(count 'SELECT COUNT(*) FROM host_samples')
echo "over TLS: $stored host samples stored"
[[ "$stored" == 4 ]] || { echo "expected 4"; cat monitor-tls.err; exit 1; }

# Wrong CA and plaintext: refused, nothing more stored, a warning.
for mode in other-ca plaintext; do
  args=(--coordinator "$grpc_address" --token s3cret --interval 100ms --samples 2 --pid $$)
  [[ "$mode" == other-ca ]] && args+=(--coordinator-ca other.pem)
  "$monitor" "${args[@]}" >/dev/null 2>"monitor-$mode.err" || true
  grep -q "not acknowledged" "monitor-$mode.err" ||
    { echo "$mode: no warning"; cat "monitor-$mode.err"; exit 1; }
done
[[ "$(count 'SELECT COUNT(*) FROM host_samples')" == 4 ]] ||
  { echo "untrusted samples were stored"; exit 1; }
echo PASS
