#!/usr/bin/env bash
# `analyzer pcap --fields` against tshark doing the same FTP field
# extraction, on a synthetic capture of at least one million packets
# (analyzer/pcap:make_capture). Not a test: it prints numbers.
#
#   benchmarks/pcap_vs_tshark.sh                  # 1M packets, 3 runs each
#   PACKETS=2000000 RUNS=1 benchmarks/pcap_vs_tshark.sh
#   CONCURRENT=100000 benchmarks/pcap_vs_tshark.sh  # + memory with 100k open flows
#
# Reports wall time, packets per second and peak RSS of each tool (best of
# RUNS), the speed ratio, and whether both printed the same lines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKETS="${PACKETS:-1000000}"
RUNS="${RUNS:-3}"
CONCURRENT="${CONCURRENT:-100000}"
WORK="$(mktemp -d /dev/shm/tpslab-pcap-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

./bazelw build -c opt //analyzer/pcap:make_capture //analyzer/pcap:pcap_main >&2
BIN=bazel-out/k8-opt/bin/analyzer/pcap
FIELDS=frame.number,tcp.stream,ftp.request.command,ftp.request.arg,ftp.response.code,ftp.response.arg
TSHARK_FIELDS=()
for field in ${FIELDS//,/ }; do TSHARK_FIELDS+=(-e "$field"); done

"$BIN/make_capture" --out "$WORK/ftp.pcap" --packets "$PACKETS" >&2
FRAMES="$(HOME="$WORK" /usr/bin/capinfos -c -M "$WORK/ftp.pcap" 2>/dev/null | awk '/Number of packets/ {print $NF}')"
echo "capture: $FRAMES packets, $(du -h "$WORK/ftp.pcap" | cut -f1)"

# Runs "$@" RUNS times; sets BEST_S (wall seconds) and PEAK_KB (max RSS).
measure() {
  BEST_S=""
  PEAK_KB=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>/dev/null
    read -r seconds kb <"$WORK/time"
    if [[ -z "$BEST_S" ]] || awk -v a="$seconds" -v b="$BEST_S" 'BEGIN { exit !(a < b) }'; then
      BEST_S="$seconds"
    fi
    if (( kb > PEAK_KB )); then PEAK_KB="$kb"; fi
  done
}

measure "$BIN/pcap_main" pcap "$WORK/ftp.pcap" --fields "$FIELDS"
OURS_S="$BEST_S"; OURS_KB="$PEAK_KB"; cp "$WORK/out" "$WORK/ours.txt"
measure env HOME="$WORK" /usr/bin/tshark -r "$WORK/ftp.pcap" -d tcp.port==2121,ftp -Y ftp -T fields \
  "${TSHARK_FIELDS[@]}"
TSHARK_S="$BEST_S"; TSHARK_KB="$PEAK_KB"; cp "$WORK/out" "$WORK/tshark.txt"

if cmp -s "$WORK/ours.txt" "$WORK/tshark.txt"; then SAME="identical"; else SAME="DIFFERENT"; fi
awk -v n="$FRAMES" -v o="$OURS_S" -v t="$TSHARK_S" -v ok="$OURS_KB" -v tk="$TSHARK_KB" \
  -v lines="$(wc -l <"$WORK/ours.txt")" -v same="$SAME" 'BEGIN {
  printf "%-22s %10s %14s %12s\n", "tool", "seconds", "packets/s", "peak RSS"
  printf "%-22s %10.2f %14.0f %9.0f MiB\n", "analyzer pcap --fields", o, n / o, ok / 1024
  printf "%-22s %10.2f %14.0f %9.0f MiB\n", "tshark -T fields", t, n / t, tk / 1024
  printf "speed ratio (tshark time / ours): %.1fx; %d FTP lines, outputs %s\n", t / o, lines, same
}'

if [[ "$CONCURRENT" -gt 0 ]]; then
  "$BIN/make_capture" --out "$WORK/concurrent.pcap" --concurrent "$CONCURRENT" >&2
  RUNS=1 measure "$BIN/pcap_main" pcap "$WORK/concurrent.pcap" --json
  echo "$CONCURRENT concurrent connections: ${BEST_S}s, peak RSS $((PEAK_KB / 1024)) MiB" \
    "(the full JSON report of all of them included)"
  RUNS=1 measure "$BIN/pcap_main" pcap "$WORK/concurrent.pcap" --fields frame.number
  echo "$CONCURRENT concurrent connections, --fields: ${BEST_S}s, peak RSS $((PEAK_KB / 1024)) MiB"
fi
