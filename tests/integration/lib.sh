# Helpers for the cross-component shell tests (sourced, not run): a work
# directory, cleanup of the processes a test started, waiting for a
# component's "PREFIX HOST:PORT" line, starting ftpd and the analyzer
# coordinator, a free port for servers that need one named, and one-value
# SQL queries on the coordinator's database.
#
#   source "$(dirname "$0")/lib.sh"
#   analyzer="$1"                          # the binaries the helpers start
#   ftpd="$2"
#   start_ftpd                             # sets ftp_address, ftpd_pid
#   start_analyzer 127.0.0.1:0 --token t   # sets grpc_address, http_address, analyzer_pid
#   ... "$loadgen" run --coordinator "$grpc_address" ...
#   stop_analyzer                          # SIGTERM; fails the test unless it exits 0
#   [[ "$(sql 'SELECT COUNT(*) FROM host_samples')" == 5 ]] || fail "..."
#
# Sourcing sets `work` ($TEST_TMPDIR, or a fresh directory outside Bazel),
# `db` ($work/runs.db, what start_analyzer serves), `pids` (processes to kill
# at exit: helpers add theirs, tests may add more) and an EXIT trap that
# kills and reaps them.
# shellcheck shell=bash
# The caller sets analyzer and ftpd; the addresses set here are its to use.
# shellcheck disable=SC2154,SC2034
set -euo pipefail

work="${TEST_TMPDIR:-$(mktemp -d)}"
db="$work/runs.db"
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Prints the message and the files named after it (logs), then fails the test.
#   fail MESSAGE [FILE...]
fail() {
  echo "FAIL: $1" >&2
  shift
  local file
  for file in "$@"; do
    echo "--- $file" >&2
    cat "$file" >&2 || true
  done
  exit 1
}

# Removes PID from `pids` (once the test has reaped it itself).
forget_pid() {
  local pid kept=()
  for pid in "${pids[@]}"; do [[ "$pid" == "$1" ]] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# Prints a TCP port on 127.0.0.1 that was free a moment ago, for servers
# that cannot listen on port 0 and say which port they got.
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Waits up to 10 s for a line "PREFIX HOST:PORT" in FILE and prints
# HOST:PORT; fails (printing FILE's .err sibling, if any) when none comes.
#   address_from FILE PREFIX
address_from() {
  local address
  for _ in $(seq 200); do
    address="$(sed -n "s/^$2 //p" "$1" 2>/dev/null || true)"
    if [[ -n "$address" ]]; then
      echo "$address"
      return 0
    fi
    sleep 0.05
  done
  echo "no '$2' line in $1" >&2
  cat "${1%.out}.err" >&2 2>/dev/null || true
  return 1
}

# Starts $ftpd on a free loopback port with anonymous logins whose upload
# directory is /incoming ($work/root/incoming); extra ftpd flags follow
# (e.g. --admin 127.0.0.1:0). Sets ftpd_pid and ftp_address; its stdout is
# $work/ftpd.out.
#   start_ftpd [FLAG...]
start_ftpd() {
  mkdir -p "$work/root/incoming"
  : >"$work/ftpd.out"
  "$ftpd" --listen 127.0.0.1:0 --root "$work/root" --anonymous --anonymous-root / \
    --anonymous-upload-dir /incoming --log-level warn "$@" \
    >"$work/ftpd.out" 2>"$work/ftpd.err" &
  ftpd_pid=$!
  pids+=("$ftpd_pid")
  ftp_address="$(address_from "$work/ftpd.out" "listening on")"
}

# Starts `$analyzer serve` on gRPC address GRPC (127.0.0.1:0 for a free port;
# a previous grpc_address to restart in place), HTTP on a free port, storing
# into $db; extra serve flags follow. Sets analyzer_pid, grpc_address and
# http_address. stdout is $work/analyzer.out (this start's only); stderr is
# appended to $work/analyzer.err across restarts.
#   start_analyzer GRPC [FLAG...]
start_analyzer() {
  local grpc="$1"
  shift
  : >"$work/analyzer.out"  # No stale address from an earlier start.
  "$analyzer" serve --grpc "$grpc" --http 127.0.0.1:0 --db "$db" "$@" \
    >"$work/analyzer.out" 2>>"$work/analyzer.err" &
  analyzer_pid=$!
  pids+=("$analyzer_pid")
  grpc_address="$(address_from "$work/analyzer.out" "grpc on")"
  http_address="$(address_from "$work/analyzer.out" "http on")"
}

# Stops the analyzer started last with SIGTERM; fails the test unless it
# exits 0.
stop_analyzer() {
  kill -TERM "$analyzer_pid"
  local status=0
  wait "$analyzer_pid" || status=$?
  forget_pid "$analyzer_pid"
  [[ "$status" == 0 ]] || fail "analyzer exited with $status" "$work/analyzer.err"
}

# Prints the first column of the first row of QUERY on $db (Debian's python3
# with its sqlite3 module; no sqlite3 command line needed).
#   sql QUERY
sql() {
  /usr/bin/python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$db" "$1"
}
