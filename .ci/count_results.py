#!/usr/bin/python3
"""Counts test results from Bazel build event JSON files (one per suite).

Prints per-suite failures, then the closing line "N passed, N failed".
A test target counts once per suite: PASSED and FLAKY pass, anything else
(FAILED, TIMEOUT, NO_STATUS, INCOMPLETE, ...) fails. A suite whose Bazel run
failed without reporting any failed test (e.g. a build error) adds one
failure, so a broken build can never read as green.
"""
import json
import pathlib
import sys


def main(events_dir: str) -> int:
    passed = failed = 0
    for path in sorted(pathlib.Path(events_dir).glob("*.json")):
        suite = path.stem
        suite_failed = 0
        for line in path.read_text().splitlines():
            event = json.loads(line)
            summary = event.get("testSummary")
            if summary is None:
                continue
            label = event["id"]["testSummary"]["label"]
            status = summary.get("overallStatus", "NO_STATUS")
            if status in ("PASSED", "FLAKY"):
                passed += 1
            else:
                suite_failed += 1
                print(f"{suite}: {label} {status}")
        rc_file = path.with_suffix(".rc")
        if rc_file.exists() and suite_failed == 0:
            print(f"{suite}: bazel exited {rc_file.read_text().strip()} (build failure)")
            suite_failed = 1
        failed += suite_failed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
