#!/usr/bin/env bash
# Overhead of `monitor` (issue 5): CPU used over DURATION seconds (default
# 60) sampling every second with 10 watched processes, while its /metrics
# is scraped every second, as a percentage of one core (goal: <= 0.5%).
# Beside it, the same measurement for prometheus-node-exporter (installed
# with apt-get if missing and possible; skipped with a note otherwise), and
# the ratio of the two.
#
#   ./bazelw build //monitor && benchmarks/monitor_overhead.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-60}"
monitor="bazel-bin/monitor/monitor"
[ -x "$monitor" ] || { echo "build it first: ./bazelw build //monitor" >&2; exit 1; }
hz=$(getconf CLK_TCK)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# utime+stime of PID in ticks.
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# Measures PID's CPU over $duration s while URL is scraped every second;
# prints the share of one core in percent.
measure() {
  local pid="$1" url="$2" before after
  sleep 2  # past start-up
  before=$(cpu_ticks "$pid")
  local end=$((SECONDS + duration))
  while [ "$SECONDS" -lt "$end" ]; do
    curl -s -o /dev/null "$url" || true
    sleep 1
  done
  after=$(cpu_ticks "$pid")
  awk -v b="$before" -v a="$after" -v hz="$hz" -v d="$duration" \
    'BEGIN { printf "%.3f", 100 * (a - b) / hz / d }'
}

watch_args=()
for i in $(seq 10); do
  sleep 100000 &
  pids+=($!)
  watch_args+=(--pid "$!")
done

"$monitor" --interval 1s "${watch_args[@]}" --prometheus 127.0.0.1:0 --log-level warn \
  >"$tmp/monitor.out" 2>"$tmp/monitor.err" &
monitor_pid=$!
pids+=("$monitor_pid")
for _ in $(seq 50); do grep -qs "prometheus on" "$tmp/monitor.out" && break; sleep 0.1; done
address=$(sed -n 's/^prometheus on //p' "$tmp/monitor.out" 2>/dev/null || true)
monitor_pct=$(measure "$monitor_pid" "http://$address/metrics")
pass_us=$(curl -s "http://$address/metrics" |
  awk '/^monitor_self_sample_duration_seconds /{ printf "%.0f", $2 * 1e6; exit }')
echo "monitor: ${monitor_pct}% of one core over ${duration}s (1 s interval, 10 processes, /metrics scraped every 1 s); last sampling pass ${pass_us} us"

exporter=""
for candidate in /usr/bin/prometheus-node-exporter /usr/sbin/prometheus-node-exporter; do
  [ -x "$candidate" ] && exporter="$candidate"
done
if [ -z "$exporter" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q prometheus-node-exporter >"$tmp/apt.log" 2>&1 || true
  [ -x /usr/bin/prometheus-node-exporter ] && exporter=/usr/bin/prometheus-node-exporter
fi
if [ -z "$exporter" ]; then
  echo "node_exporter: not installed and apt-get could not install prometheus-node-exporter (offline?); no ratio"
  exit 0
fi
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$exporter" --web.listen-address="127.0.0.1:$port" >"$tmp/ne.log" 2>&1 &
exporter_pid=$!
pids+=("$exporter_pid")
sleep 1
exporter_pct=$(measure "$exporter_pid" "http://127.0.0.1:$port/metrics")
echo "node_exporter: ${exporter_pct}% of one core over ${duration}s (scraped every 1 s)"
awk -v m="$monitor_pct" -v n="$exporter_pct" \
  'BEGIN { if (n > 0) printf "ratio monitor/node_exporter: %.2f\n", m / n }'
