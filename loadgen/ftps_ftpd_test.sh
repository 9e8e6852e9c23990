#!/bin/bash
# FTPS (RFC 4217 explicit TLS) against this project's ftpd (//ftpd with
# --tls-cert/--tls-key, which requires data connections to reuse the control
# connection's TLS session): uploads and downloads with PROT P in every data
# mode with the certificate verified against its CA, the one-line form with
# --insecure, and a wrong CA counted as TLS errors with a clear message.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/loadgen/testing/test_lib.sh"

FTPD="${TEST_SRCDIR}/${TEST_WORKSPACE}/ftpd/ftpd"
PORT=$(free_port)
make_cert server
make_cert other
mkdir -p "${TMP}/root/alice/pub"
head -c 1024 /dev/zero | tr '\0' 'z' > "${TMP}/root/alice/pub/1k.bin"
echo secret | "${FTPD}" passwd --users "${TMP}/users" alice --root /alice --perms all 2> /dev/null
"${FTPD}" --listen "127.0.0.1:${PORT}" --root "${TMP}/root" --users "${TMP}/users" --threads 1 \
  --tls-cert "${TMP}/server.pem" --tls-key "${TMP}/server.key" \
  > "${TMP}/ftpd.out" 2> "${TMP}/ftpd.err" &
PIDS+=($!)
wait_listening "${PORT}"

echo "== PROT P transfers in every data mode, certificate verified"
cat > "${TMP}/all.yaml" <<YAML
name: ftps-ftpd
targets:
  - name: ftps
    url: "ftps://alice:secret@127.0.0.1:${PORT}/"
    timeout: 5s
    tls: {ca: server.pem}
transactions:
  - name: transfer
    steps:
      - connect
      - login
      - upload: {path: "f-\${vu}-\${iteration}", size: 100KiB, mode: epsv}
      - {name: upload_pasv, upload: {path: "p-\${vu}-\${iteration}", size: 1KiB, mode: pasv}}
      - {name: upload_eprt, upload: {path: "e-\${vu}-\${iteration}", size: 1KiB, mode: eprt}}
      - {name: upload_port, upload: {path: "o-\${vu}-\${iteration}", size: 1KiB, mode: port}}
      - download: {path: "f-\${vu}-\${iteration}", expect_size: 100KiB}
      - {name: download_port, download: {path: /pub/1k.bin, expect_size: 1KiB, mode: port}}
      - mlsd: {path: /pub, mode: eprt}
      - {delete: "f-\${vu}-\${iteration}"}
      - quit
load:
  closed: [{users: 2, hold: 2s}]
thresholds:
  - error_rate <= 0%
  - count(transfer) >= 2
YAML
run_loadgen run "${TMP}/all.yaml" --threads 2 --summary-json "${TMP}/all.json" --progress off
if [[ ${RC} -ne 0 ]]; then
  cat "${TMP}/ftpd.err" >&2
  fail "ftps scenario against ftpd: exit ${RC}"
fi
for step in connect login upload upload_pasv upload_eprt upload_port download download_port mlsd delete quit; do
  check_json "${TMP}/all.json" "s['steps']['transfer/${step}']['count'] == s['transactions']['transfer']['count']"
done
check_json "${TMP}/all.json" 's["steps"]["transfer/upload"]["bytes_sent"] == 102400 * s["transactions"]["transfer"]["count"]'
check_json "${TMP}/all.json" 's["steps"]["transfer/download"]["bytes_received"] == 102400 * s["transactions"]["transfer"]["count"]'
compgen -G "${TMP}/root/alice/p-*" >/dev/null || fail "no PASV upload on the server"

echo "== one-line upload with --insecure"
run_loadgen run --target "ftps://alice:secret@127.0.0.1:${PORT}/" --transaction upload:1KiB \
  --insecure --users 4 --threads 2 --duration 1s --summary-json "${TMP}/up.json" --progress off
[[ ${RC} -eq 0 ]] || fail "one-line ftps upload: exit ${RC}"
check_json "${TMP}/up.json" 's["transactions"]["upload"]["count"] > 4 and s["transactions"]["upload"]["errors"] == 0'

echo "== a wrong CA: TLS errors at connect, the threshold fails the run"
cat > "${TMP}/wrong_ca.yaml" <<YAML
targets: [{url: "ftps://alice:secret@127.0.0.1:${PORT}/", timeout: 5s, tls: {ca: other.pem}}]
transactions: [{name: upload, steps: [connect, login, {upload: {path: x, size: 1KiB}}, quit]}]
load: {closed: [{users: 1, hold: 500ms}]}
thresholds: [error_rate < 1%]
YAML
run_loadgen run "${TMP}/wrong_ca.yaml" --threads 1 --summary-json "${TMP}/wrong_ca.json" \
  --progress off 2> "${TMP}/wrong_ca.err"
[[ ${RC} -eq 3 ]] || fail "wrong CA: exit ${RC}, want 3 (threshold failed)"
check_json "${TMP}/wrong_ca.json" 's["transactions"]["upload"]["errors_by_class"] == {"tls": s["transactions"]["upload"]["count"]} and s["transactions"]["upload"]["count"] > 0'
check_json "${TMP}/wrong_ca.json" 's["steps"]["upload/connect"]["errors_by_class"]["tls"] > 0 and s["steps"]["upload/login"]["count"] == 0'
grep -q "upload/connect: tls: AUTH TLS: TLS handshake with 127.0.0.1 failed: certificate verify failed .*: self-signed certificate" \
  "${TMP}/wrong_ca.err" || fail "wrong CA message: $(head -3 "${TMP}/wrong_ca.err")"
check_json "${TMP}/wrong_ca.json" '"certificate verify failed" in s["sample_errors"][0]'

echo "== --target replaces the URL and keeps the scenario's tls options; --insecure overrides them"
run_loadgen run "${TMP}/wrong_ca.yaml" --target "ftps://alice:secret@127.0.0.1:${PORT}/" --threads 1 \
  --summary-json "${TMP}/override.json" --progress off 2> /dev/null
[[ ${RC} -eq 3 ]] || fail "--target with the scenario's wrong CA: exit ${RC}, want 3"
check_json "${TMP}/override.json" 's["transactions"]["upload"]["errors_by_class"].get("tls", 0) > 0'
run_loadgen run "${TMP}/wrong_ca.yaml" --insecure --threads 1 --summary-json "${TMP}/insecure.json" \
  --progress off
[[ ${RC} -eq 0 ]] || fail "--insecure over a wrong CA: exit ${RC}, want 0"
check_json "${TMP}/insecure.json" 's["transactions"]["upload"]["errors"] == 0 and s["transactions"]["upload"]["count"] > 0'

echo "== the system trust store does not know the test certificate"
run_loadgen run --target "ftps://alice:secret@127.0.0.1:${PORT}/" --transaction upload:1KiB \
  --users 1 --threads 1 --duration 300ms --summary-json "${TMP}/system.json" --progress off 2> /dev/null
[[ ${RC} -eq 0 ]] || fail "system trust store: exit ${RC}, want 0 (no threshold)"
check_json "${TMP}/system.json" 's["transactions"]["upload"]["errors_by_class"].get("tls", 0) == s["transactions"]["upload"]["count"] > 0'

echo "== a CA file that cannot be read stops the run before it starts"
sed 's/other.pem/missing.pem/' "${TMP}/wrong_ca.yaml" > "${TMP}/missing_ca.yaml"
run_loadgen run "${TMP}/missing_ca.yaml" --progress off 2> "${TMP}/missing_ca.err"
[[ ${RC} -eq 1 ]] || fail "missing CA: exit ${RC}, want 1"
grep -q "cannot load TLS CA file '${TMP}/missing.pem'" "${TMP}/missing_ca.err" ||
  fail "missing CA message: $(cat "${TMP}/missing_ca.err")"
echo PASS
