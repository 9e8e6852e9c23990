#!/bin/bash
# FTPS against vsftpd (Debian's /usr/sbin/vsftpd, run as root) with
# ssl_enable=YES, forced TLS for logins and data, and require_ssl_reuse=YES:
# every data connection must resume the control connection's TLS session,
# which loadgen's does in every data mode.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/loadgen/testing/test_lib.sh"

make_cert server
start_vsftpd <<CONF
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=YES
ssl_tlsv1=NO
ssl_sslv2=NO
ssl_sslv3=NO
rsa_cert_file=${TMP}/server.pem
rsa_private_key_file=${TMP}/server.key
CONF

echo "== PROT P transfers in every data mode, certificate verified"
cat > "${TMP}/all.yaml" <<YAML
targets:
  - {url: "ftps://anonymous:x@127.0.0.1:${PORT}/", timeout: 5s, tls: {ca: server.pem}}
transactions:
  - name: transfer
    steps:
      - connect
      - login
      - cwd: /upload
      - upload: {path: "f-\${vu}-\${iteration}", size: 100KiB, mode: epsv}
      - {name: upload_pasv, upload: {path: "p-\${vu}-\${iteration}", size: 1KiB, mode: pasv}}
      - {name: upload_eprt, upload: {path: "e-\${vu}-\${iteration}", size: 1KiB, mode: eprt}}
      - {name: upload_port, upload: {path: "o-\${vu}-\${iteration}", size: 1KiB, mode: port}}
      - download: {path: "f-\${vu}-\${iteration}", expect_size: 100KiB}
      - {name: download_pasv, download: {path: /pub/1k.bin, expect_size: 1KiB, mode: pasv}}
      - {name: download_port, download: {path: /pub/1k.bin, expect_size: 1KiB, mode: port}}
      - list: {path: /pub, mode: epsv}
      - quit
load:
  closed: [{users: 2, hold: 2s}]
thresholds:
  - error_rate <= 0%
  - count(transfer) >= 2
YAML
run_loadgen run "${TMP}/all.yaml" --threads 2 --summary-json "${TMP}/all.json" --progress off
[[ ${RC} -eq 0 ]] || fail "ftps scenario against vsftpd: exit ${RC}"
for step in connect login cwd upload upload_pasv upload_eprt upload_port download download_pasv download_port list quit; do
  check_json "${TMP}/all.json" "s['steps']['transfer/${step}']['count'] == s['transactions']['transfer']['count']"
done
check_json "${TMP}/all.json" 's["steps"]["transfer/download"]["bytes_received"] == 102400 * s["transactions"]["transfer"]["count"]'
compgen -G "${TMP}/root/upload/o-*" >/dev/null || fail "no PORT upload on the server"

echo "== plain FTP is refused (force_anon_logins_ssl), as an unexpected reply"
cat > "${TMP}/plain.yaml" <<YAML
targets: [{url: "ftp://anonymous:x@127.0.0.1:${PORT}/", timeout: 5s}]
transactions: [{name: plain, steps: [connect, login, quit]}]
load: {closed: [{users: 1, hold: 300ms}]}
YAML
run_loadgen run "${TMP}/plain.yaml" --threads 1 --summary-json "${TMP}/plain.json" --progress off 2> /dev/null
check_json "${TMP}/plain.json" 's["steps"]["plain/login"]["errors_by_class"]["unexpected_reply"] == s["steps"]["plain/login"]["count"] > 0'
echo PASS
