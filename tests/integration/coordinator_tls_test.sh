#!/usr/bin/env bash
# Cross-component: the coordinator's gRPC over TLS. monitor, given the CA
# that signed the coordinator's certificate, streams samples that are
# stored; a monitor that does not trust the certificate (or speaks
# plaintext) gets nothing stored and says so; half a key pair is refused.
#   $1 = analyzer binary, $2 = monitor binary
source "$(dirname "$0")/lib.sh"
analyzer="$(realpath "$1")"
monitor="$(realpath "$2")"

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
  fail "serve accepted --tls-cert without --tls-key"
fi
grep -q -- "--tls-cert and --tls-key go together" half.err ||
  fail "no usage error naming the options" half.err

start_analyzer 127.0.0.1:0 --token s3cret --tls-cert server.pem --tls-key server.key
grep -q "over TLS" analyzer.err || fail "no TLS in the startup log" analyzer.err
# Agents dial the name in the certificate.
grpc_address="127.0.0.1:${grpc_address##*:}"

"$monitor" --coordinator "$grpc_address" --token s3cret --coordinator-ca ca.pem \
  --interval 100ms --samples 4 --pid $$ --log-level warn >/dev/null 2>monitor-tls.err
stored=$(sql 'SELECT COUNT(*) FROM host_samples')
echo "over TLS: $stored host samples stored"
[[ "$stored" == 4 ]] || fail "expected 4" monitor-tls.err

# Wrong CA and plaintext: refused, nothing more stored, a warning.
for mode in other-ca plaintext; do
  args=(--coordinator "$grpc_address" --token s3cret --interval 100ms --samples 2 --pid $$)
  [[ "$mode" == other-ca ]] && args+=(--coordinator-ca other.pem)
  "$monitor" "${args[@]}" >/dev/null 2>"monitor-$mode.err" || true
  grep -q "not acknowledged" "monitor-$mode.err" || fail "$mode: no warning" "monitor-$mode.err"
done
[[ "$(sql 'SELECT COUNT(*) FROM host_samples')" == 4 ]] || fail "untrusted samples were stored"
echo PASS
