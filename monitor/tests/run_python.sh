#!/bin/sh
# Runs a test script with Debian's python3 (not whatever python3 is first on
# PATH): run_python.sh SCRIPT.py ARGS...
script="$1"
shift
# Runfiles are symlinks into the source tree: keep bytecode out of it.
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$script" "$@"
