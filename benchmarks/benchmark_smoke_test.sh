#!/usr/bin/env bash
# Runs a Google Benchmark binary for a minimal time: it must start, run every
# benchmark once and exit 0. Times are not checked (benchmarks report, tests
# assert).
set -euo pipefail
bench="$1"
"$bench" --benchmark_min_time=0.001 --benchmark_format=console
