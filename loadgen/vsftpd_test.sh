#!/bin/bash
# loadgen's FTP client against vsftpd (Debian's /usr/sbin/vsftpd) on a
# loopback port: every FTP step of a scenario in every data mode (EPSV, PASV,
# EPRT, PORT), per-user CSV data, the one-line upload form, and failed checks
# classified as such. vsftpd has no MLSD, so mlsd is not exercised here.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/loadgen/testing/test_lib.sh"

start_vsftpd </dev/null

echo "== every step, every data mode"
cat > "${TMP}/users.csv" <<CSV
user,password,tag
anonymous,a@example.com,alpha
anonymous,b@example.com,beta
CSV
cat > "${TMP}/all.yaml" <<YAML
name: vsftpd-all-steps
targets: [{name: ftp, url: "ftp://127.0.0.1:${PORT}/", timeout: 5s}]
data: users.csv
transactions:
  - name: everything
    steps:
      - connect
      - login
      - pwd
      - cwd: /upload
      - mkdir: "d-\${vu}-\${iteration}"
      - rmdir: "d-\${vu}-\${iteration}"
      - upload: {path: "f-\${tag}-\${vu}-\${iteration}", size: 10KiB, mode: epsv}
      - name: upload_pasv
        upload: {path: "p-\${vu}-\${iteration}", size: 1KiB, mode: pasv}
      - name: upload_eprt
        upload: {path: "e-\${vu}-\${iteration}", size: 1KiB, mode: eprt}
      - name: upload_port
        upload: {path: "o-\${vu}-\${iteration}", size: 1KiB, mode: port}
      - append: {path: "f-\${tag}-\${vu}-\${iteration}", size: 1KiB}
      - size: {path: "f-\${tag}-\${vu}-\${iteration}", expect: 213}
      - mdtm: "f-\${tag}-\${vu}-\${iteration}"
      - rename: {path: "f-\${tag}-\${vu}-\${iteration}", to: "g-\${vu}-\${iteration}"}
      - name: fetch
        download: {path: "g-\${vu}-\${iteration}", expect_size: 11KiB}
      - download: {path: /pub/1k.bin, expect_size: 1KiB, mode: pasv}
      - list: {mode: epsv}
      - nlst: {mode: eprt}
      - delete: "g-\${vu}-\${iteration}"
      - think: {distribution: uniform, min: 1ms, max: 5ms}
      - rendezvous: {name: together, users: 2, timeout: 2s}
      - noop
      - quit
load:
  closed: [{users: 4, ramp: 200ms, hold: 2s}]
thresholds:
  - error_rate < 0.01%
  - count(everything) > 4
YAML
run_loadgen run "${TMP}/all.yaml" --threads 2 --summary-json "${TMP}/all.json" --progress off
[[ ${RC} -eq 0 ]] || fail "all-steps scenario: exit ${RC}"
check_json "${TMP}/all.json" 's["transactions"]["everything"]["errors"] == 0 and s["transactions"]["everything"]["count"] > 4'
for step in connect login pwd cwd mkdir rmdir upload upload_pasv upload_eprt upload_port append size mdtm rename fetch download list nlst delete noop quit; do
  check_json "${TMP}/all.json" "s['steps']['everything/${step}']['count'] == s['transactions']['everything']['count']"
done
check_json "${TMP}/all.json" 's["steps"]["everything/upload"]["bytes_sent"] == 10240 * s["transactions"]["everything"]["count"]'
check_json "${TMP}/all.json" 's["steps"]["everything/fetch"]["bytes_received"] == 11264 * s["transactions"]["everything"]["count"]'
ls "${TMP}/root/upload" > "${TMP}/listing"
grep -q '^p-' "${TMP}/listing" || fail "no PASV upload on the server"
if grep -q '^f-\|^g-' "${TMP}/listing"; then fail "renamed or deleted files left behind"; fi

echo "== one-line upload form"
run_loadgen run --target "ftp://anonymous:x@127.0.0.1:${PORT}/upload" --transaction upload:1KiB \
  --users 8 --threads 2 --duration 2s --summary-json "${TMP}/up.json" --progress off
[[ ${RC} -eq 0 ]] || fail "one-line upload: exit ${RC}"
check_json "${TMP}/up.json" 's["transactions"]["upload"]["count"] > 8 and s["transactions"]["upload"]["errors"] == 0'
check_json "${TMP}/up.json" 'set(s["steps"]) == {"upload/connect", "upload/login", "upload/upload", "upload/quit"}'

echo "== failed checks and unexpected replies are classified"
cat > "${TMP}/wrong.yaml" <<YAML
targets: [{url: "ftp://anonymous:x@127.0.0.1:${PORT}/", timeout: 5s}]
transactions:
  - name: short
    steps: [connect, login, {download: {path: /pub/1k.bin, expect_size: 2KiB}}, quit]
  - name: missing
    steps: [connect, login, {size: /pub/none.bin}, quit]
load:
  closed: [{users: 2, hold: 1s}]
thresholds:
  - error_rate < 1%
YAML
run_loadgen run "${TMP}/wrong.yaml" --threads 1 --summary-json "${TMP}/wrong.json" --progress off
[[ ${RC} -eq 3 ]] || fail "wrong scenario: exit ${RC}, want 3 (threshold)"
check_json "${TMP}/wrong.json" 's["transactions"]["short"]["errors_by_class"]["check_failed"] == s["transactions"]["short"]["count"] > 0'
check_json "${TMP}/wrong.json" 's["transactions"]["missing"]["errors_by_class"]["unexpected_reply"] == s["transactions"]["missing"]["count"] > 0'
echo PASS
