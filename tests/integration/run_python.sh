#!/bin/sh
# Runs a Python test script with Debian's interpreter (not whatever python3
# comes first on PATH): run_python.sh SCRIPT [ARGS...]
exec /usr/bin/python3 "$@"
