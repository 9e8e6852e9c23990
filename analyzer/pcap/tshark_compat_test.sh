#!/usr/bin/env bash
# `analyzer pcap --fields` against tshark on hand-made edge-case captures
# (write_test_captures: every link type, IPv4 and IPv6, VLAN tags,
# reordering, retransmission, overlap, loss, odd line layouts, AUTH TLS,
# port reuse, snap length, truncated file, unknown link type): the output
# must be the same, line for line.
#
#   tshark_compat_test.sh PCAP_MAIN WRITE_TEST_CAPTURES
set -euo pipefail
PCAP_MAIN="$1"
WRITE_TEST_CAPTURES="$2"
TSHARK="${TSHARK:-/usr/bin/tshark}"
if [[ ! -x "$TSHARK" ]]; then
  echo "FAIL: $TSHARK not found (apt-get install tshark)" >&2
  exit 1
fi
DIR="${TEST_TMPDIR:-$(mktemp -d)}/captures"
mkdir -p "$DIR"
"$WRITE_TEST_CAPTURES" "$DIR"

FIELDS=frame.number,frame.time_epoch,frame.time_relative,frame.len,ip.src,ip.dst,ipv6.src,ipv6.dst
FIELDS+=,tcp.srcport,tcp.dstport,tcp.stream,tcp.len,ftp.request,ftp.response
FIELDS+=,ftp.request.command,ftp.request.arg,ftp.response.code,ftp.response.arg
TSHARK_FIELDS=()
for field in ${FIELDS//,/ }; do TSHARK_FIELDS+=(-e "$field"); done

failures=0
checked=0
for capture in "$DIR"/*.pcap; do
  name="$(basename "$capture")"
  "$PCAP_MAIN" pcap "$capture" --fields "$FIELDS" >"$capture.ours" 2>"$capture.warnings"
  HOME="$DIR" "$TSHARK" -r "$capture" -d tcp.port==2121,ftp -Y ftp -T fields "${TSHARK_FIELDS[@]}" \
    >"$capture.tshark" 2>/dev/null || true
  if ! diff -u "$capture.tshark" "$capture.ours" >"$capture.diff"; then
    echo "FAIL: $name differs from tshark (- tshark, + ours):" >&2
    head -40 "$capture.diff" >&2
    failures=$((failures + 1))
  fi
  checked=$((checked + 1))
done

# Bad input is reported, not fatal.
grep -q "capture ends early: .*truncated" "$DIR/truncated.pcap.warnings" ||
  { echo "FAIL: no truncation warning" >&2; failures=$((failures + 1)); }
grep -q "link type 147 is not supported" "$DIR/unknown_link.pcap.warnings" ||
  { echo "FAIL: no unknown link type warning" >&2; failures=$((failures + 1)); }
grep -q "cut by the snap length" "$DIR/snaplen.pcap.warnings" ||
  { echo "FAIL: no snap length warning" >&2; failures=$((failures + 1)); }
# A non-empty sample, so that two empty outputs cannot pass by accident.
[[ "$(wc -l <"$DIR/lines.pcap.ours")" -ge 20 ]] ||
  { echo "FAIL: lines.pcap gave too few lines" >&2; failures=$((failures + 1)); }

echo "$checked captures compared with tshark, $failures failures"
[[ "$failures" -eq 0 ]]
