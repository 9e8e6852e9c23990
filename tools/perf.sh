#!/usr/bin/env bash
# The main job, `./bazelw run //:perf [-- OPTIONS]`: `analyzer run` with the
# ftpd, loadgen and monitor binaries built beside it. Results go to
# ./results/<run-id>/ under the directory the command was run from.
set -euo pipefail

runfiles="${RUNFILES_DIR:-$0.runfiles}"
bin="$runfiles/tpslab"
if [[ ! -x "$bin/analyzer/analyzer" ]]; then
  echo "perf: cannot find the analyzer binary under $bin (run me with ./bazelw run //:perf)" >&2
  exit 1
fi
exec "$bin/analyzer/analyzer" run \
  --ftpd "$bin/ftpd/ftpd" \
  --loadgen "$bin/loadgen/loadgen" \
  --monitor "$bin/monitor/monitor" \
  "$@"
