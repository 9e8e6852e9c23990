#!/usr/bin/env bash
# `analyzer capture` for real: records loopback traffic of this test's own
# address (127.0.0.29) into a ring of 3 files of 1 MB while 6 MB cross a TCP
# connection; exactly the 3 newest files remain, each near 1 MB and readable
# by `analyzer pcap`. At the same time a second capture with --max-size 1
# keeps one file under 1 MB and counts the packets it did not write. A
# filter that does not compile is an error.
# Needs root; runs unsandboxed.
#
#   capture_live_test.sh PCAP_MAIN
set -euo pipefail
PCAP_MAIN="$1"
PY=/usr/bin/python3
[[ "$(id -u)" -eq 0 ]] || { echo "FAIL: capturing needs root" >&2; exit 1; }
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/capture.XXXXXX")"

if "$PCAP_MAIN" capture -i lo "this is not bpf" --write "$WORK/x.pcap" --duration 1s \
  >/dev/null 2>"$WORK/bad.err"; then
  echo "FAIL: a bad filter was accepted" >&2
  exit 1
fi
grep -q "bad filter 'this is not bpf'" "$WORK/bad.err" || { cat "$WORK/bad.err" >&2; exit 1; }

"$PCAP_MAIN" capture -i lo "host 127.0.0.29" --write "$WORK/ring.pcap" --ring 3 --size 1 \
  --duration 5s >"$WORK/capture.out" 2>"$WORK/capture.err" &
CAPTURE_PID=$!
"$PCAP_MAIN" capture -i lo "host 127.0.0.29" --write "$WORK/single.pcap" --max-size 1 \
  --duration 5s >"$WORK/single.out" 2>"$WORK/single.err" &
SINGLE_PID=$!
for out in capture single; do
  for _ in $(seq 100); do
    grep -q "capturing on lo" "$WORK/$out.out" && break
    sleep 0.1
  done
  grep -q "capturing on lo" "$WORK/$out.out" || { cat "$WORK/$out.err" >&2; exit 1; }
done

"$PY" - <<'PYEOF'
import socket, threading
server = socket.socket()
server.bind(("127.0.0.29", 0))
server.listen(1)
received = []
def serve():
    conn, _ = server.accept()
    total = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        total += len(chunk)
    received.append(total)
    conn.close()
thread = threading.Thread(target=serve)
thread.start()
client = socket.create_connection(server.getsockname())
for _ in range(6 * 16):
    client.sendall(b"x" * 65536)
client.close()
thread.join()
assert received == [6 * 16 * 65536], received
PYEOF
wait "$CAPTURE_PID"
wait "$SINGLE_PID"
cat "$WORK/capture.out" "$WORK/single.out"

size="$(stat -c %s "$WORK/single.pcap")"
[[ "$size" -le 1000000 && "$size" -gt 500000 ]] ||
  { echo "FAIL: single.pcap has $size bytes, the limit is 1 MB" >&2; exit 1; }
grep -Eq "^size limit of 1 MB reached: [1-9][0-9]* packets not written$" "$WORK/single.out" ||
  { echo "FAIL: the size limit is not reported" >&2; exit 1; }
"$PCAP_MAIN" pcap "$WORK/single.pcap" --json >"$WORK/single.json"
grep -q '"frames":' "$WORK/single.json" || { echo "FAIL: single.pcap not analysed" >&2; exit 1; }

mapfile -t files < <(ls "$WORK"/ring.pcap.* | sort)
[[ "${#files[@]}" -eq 3 ]] || { echo "FAIL: ${#files[@]} ring files: ${files[*]}" >&2; exit 1; }
[[ "${files[0]}" != "$WORK/ring.pcap.000001" ]] || { echo "FAIL: the oldest file was kept" >&2; exit 1; }
for file in "${files[@]}"; do
  size="$(stat -c %s "$file")"
  # At most 1 MB plus one loopback packet (64 KiB) and its record header.
  [[ "$size" -le $((1000000 + 65536 + 200)) ]] || { echo "FAIL: $file has $size bytes" >&2; exit 1; }
  "$PCAP_MAIN" pcap "$file" --json >"$file.json"
  grep -q '"frames":' "$file.json" || { echo "FAIL: $file not analysed" >&2; exit 1; }
done
grep -q "files: ${files[0]} ${files[1]} ${files[2]}" "$WORK/capture.out" ||
  { echo "FAIL: summary does not list the files" >&2; exit 1; }
echo "ring of ${#files[@]} files OK"
