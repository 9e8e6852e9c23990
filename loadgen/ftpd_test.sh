#!/bin/bash
# loadgen's FTP client against this project's ftpd (//ftpd) on a loopback
# port: every FTP step in every data mode (EPSV, PASV, EPRT, PORT), MLSD
# included, with a virtual user from ftpd's users file.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/loadgen/testing/test_lib.sh"

FTPD="${TEST_SRCDIR}/${TEST_WORKSPACE}/ftpd/ftpd"
PORT=$(free_port)
mkdir -p "${TMP}/root/alice/pub"
head -c 1024 /dev/zero | tr '\0' 'z' > "${TMP}/root/alice/pub/1k.bin"
echo secret | "${FTPD}" passwd --users "${TMP}/users" alice --root /alice --perms all 2> /dev/null
"${FTPD}" --listen "127.0.0.1:${PORT}" --root "${TMP}/root" --users "${TMP}/users" --threads 1 \
  > "${TMP}/ftpd.out" 2> "${TMP}/ftpd.err" &
PIDS+=($!)
wait_listening "${PORT}"

cat > "${TMP}/all.yaml" <<YAML
name: ftpd-all-steps
targets: [{name: ftp, url: "ftp://alice:secret@127.0.0.1:${PORT}/", timeout: 5s}]
transactions:
  - name: everything
    steps:
      - connect
      - login
      - pwd
      - mkdir: "d-\${vu}-\${iteration}"
      - cwd: "d-\${vu}-\${iteration}"
      - cwd: ..
      - rmdir: "d-\${vu}-\${iteration}"
      - upload: {path: "f-\${vu}-\${iteration}", size: 10KiB, mode: epsv}
      - name: upload_pasv
        upload: {path: "p-\${vu}-\${iteration}", size: 1KiB, mode: pasv}
      - name: upload_eprt
        upload: {path: "e-\${vu}-\${iteration}", size: 1KiB, mode: eprt}
      - name: upload_port
        upload: {path: "o-\${vu}-\${iteration}", size: 1KiB, mode: port}
      - append: {path: "f-\${vu}-\${iteration}", size: 1KiB}
      - size: {path: "f-\${vu}-\${iteration}", expect: 213}
      - mdtm: "f-\${vu}-\${iteration}"
      - rename: {path: "f-\${vu}-\${iteration}", to: "g-\${vu}-\${iteration}"}
      - name: fetch
        download: {path: "g-\${vu}-\${iteration}", expect_size: 11KiB}
      - download: {path: /pub/1k.bin, expect_size: 1KiB, mode: pasv}
      - list: {path: /pub, mode: epsv}
      - nlst: {path: /pub, mode: eprt}
      - mlsd: {path: /pub, mode: pasv}
      - delete: "g-\${vu}-\${iteration}"
      - {delete: "p-\${vu}-\${iteration}", name: delete_p}
      - {delete: "e-\${vu}-\${iteration}", name: delete_e}
      - {delete: "o-\${vu}-\${iteration}", name: delete_o}
      - noop
      - quit
load:
  closed: [{users: 4, ramp: 200ms, hold: 2s}]
thresholds:
  - error_rate <= 0%
  - count(everything) > 4
YAML
run_loadgen run "${TMP}/all.yaml" --threads 2 --summary-json "${TMP}/all.json" --progress off
if [[ ${RC} -ne 0 ]]; then
  cat "${TMP}/ftpd.err" >&2
  fail "all-steps scenario against ftpd: exit ${RC}"
fi
check_json "${TMP}/all.json" 's["transactions"]["everything"]["errors"] == 0 and s["transactions"]["everything"]["count"] > 4'
for step in connect login pwd mkdir cwd cwd_2 rmdir upload upload_pasv upload_eprt upload_port append size mdtm rename fetch download list nlst mlsd delete noop quit; do
  check_json "${TMP}/all.json" "s['steps']['everything/${step}']['count'] == s['transactions']['everything']['count']"
done
check_json "${TMP}/all.json" 's["steps"]["everything/fetch"]["bytes_received"] == 11264 * s["transactions"]["everything"]["count"]'

echo "== one-line upload form"
run_loadgen run --target "ftp://alice:secret@127.0.0.1:${PORT}/" --transaction upload:1KiB \
  --users 8 --threads 2 --duration 2s --summary-json "${TMP}/up.json" --progress off
[[ ${RC} -eq 0 ]] || fail "one-line upload: exit ${RC}"
check_json "${TMP}/up.json" 's["transactions"]["upload"]["count"] > 8 and s["transactions"]["upload"]["errors"] == 0'
echo PASS
