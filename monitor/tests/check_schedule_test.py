"""Per-check schedules with real plugins: the monitor binary, configured by a
--config file, runs check_dummy every 100 ms beside a script that hangs
until its 2 s timeout kills it. The fast check keeps running meanwhile, the
hung check's overlapping slots are counted in
monitor_self_check_skipped_total, and SIGTERM while a plugin with a 60 s
timeout hangs ends the monitor (and the plugin's process group) long before
that timeout. A bad [interval=] is a usage error naming the check.

No timing assertions beyond generous ordering and count bounds.

usage: check_schedule_test.py MONITOR_BINARY
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

import live_util

DUMMY = "/usr/lib/nagios/plugins/check_dummy"


def write_hang_script(tmp):
    """A plugin that records its pid and hangs."""
    path = os.path.join(tmp, "hang.sh")
    pid_file = os.path.join(tmp, "hang.pid")
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho $$ > '%s'\necho 'starting'\nsleep 100\n" % pid_file)
    os.chmod(path, 0o755)
    return path, pid_file


def check_results(path):
    """The check results in the JSON lines file so far, in order (a line
    still being written is left for the next call)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [line for line in f.read().split("\n")[:-1] if line.strip()]
    objects = [json.loads(line) for line in lines]
    return [o["check_result"] for o in objects if "check_result" in o]


def metric(address, name, check):
    """The value of NAME{check="CHECK"} in the monitor's /metrics, or None."""
    with urllib.request.urlopen("http://%s/metrics" % address, timeout=5) as response:
        body = response.read().decode()
    prefix = '%s{check="%s"} ' % (name, check)
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purpose.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def fast_check_runs_while_another_hangs(monitor, tmp, hang):
    jsonl = os.path.join(tmp, "schedule.jsonl")
    config = os.path.join(tmp, "schedule.toml")
    with open(config, "w") as f:
        f.write('interval = "200ms"\n'
                'check = ["fast[interval=100ms]=check_dummy 0 quick",\n'
                '         "hang[interval=100ms, timeout=2s]=%s"]\n'
                'jsonl = "%s"\n' % (hang, jsonl))
    mon, address = live_util.start_monitor(monitor, ["--config", config])
    try:
        live_util.wait_for(
            lambda: True if any(r["name"] == "hang" for r in check_results(jsonl)) else None,
            60, "the hung check's timeout result")
        results = check_results(jsonl)
        first_hang = next(i for i, r in enumerate(results) if r["name"] == "hang")
        assert "CHECK TIMEOUT" in results[first_hang]["output"], results[first_hang]
        fast_before = [r for r in results[:first_hang] if r["name"] == "fast"]
        assert len(fast_before) >= 3, \
            "fast check ran %d times while the other hung for 2 s" % len(fast_before)
        assert all(r["state"] == "CHECK_STATE_OK" for r in fast_before), fast_before[:3]
        skipped = live_util.wait_for(
            lambda: metric(address, "monitor_self_check_skipped_total", "hang") or None,
            30, "monitor_self_check_skipped_total{check=\"hang\"}")
        assert skipped >= 3, "hang skipped %r slots while hanging 2 s" % skipped
        fast_skipped = metric(address, "monitor_self_check_skipped_total", "fast")
        fast_runs = metric(address, "monitor_self_check_runs_total", "fast")
        assert fast_skipped is not None and fast_runs >= 3, (fast_skipped, fast_runs)
    finally:
        live_util.stop(mon)
    return len(fast_before), skipped, fast_runs, fast_skipped


def sigterm_kills_a_hung_plugin(monitor, tmp, hang, pid_file):
    if os.path.exists(pid_file):
        os.unlink(pid_file)
    mon, _ = live_util.start_monitor(
        monitor, ["--interval", "200ms", "--check", "slow[timeout=60s]=%s" % hang])
    try:
        live_util.wait_for(lambda: True if os.path.exists(pid_file) and
                           open(pid_file).read().strip() else None, 30, "the plugin to start")
        plugin = int(open(pid_file).read())
        assert alive(plugin)
        start = time.monotonic()
        mon.terminate()
        # Far below the plugin's 60 s timeout: the stop kills it.
        mon.wait(20)
        stop_seconds = time.monotonic() - start
        assert mon.returncode == 0, (mon.returncode, mon.stderr.read())
        assert not alive(plugin), "plugin %d survived the monitor" % plugin
    finally:
        live_util.stop(mon)
    return stop_seconds


def bad_interval_is_a_usage_error(monitor):
    run = subprocess.run([monitor, "--check", "x[interval=5ms]=check_dummy 0", "--samples", "1"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "check 'x': interval must be at least 100ms, got 5ms" in run.stderr, run.stderr


def main():
    monitor = sys.argv[1]
    if not os.access(DUMMY, os.X_OK):
        raise SystemExit("missing %s (Debian package monitoring-plugins-basic)" % DUMMY)
    tmp = live_util.tmpdir()
    hang, pid_file = write_hang_script(tmp)
    fast, skipped, fast_runs, fast_skipped = fast_check_runs_while_another_hangs(monitor, tmp, hang)
    stop_seconds = sigterm_kills_a_hung_plugin(monitor, tmp, hang, pid_file)
    bad_interval_is_a_usage_error(monitor)
    print("PASS: fast check ran %d times while the other hung 2 s (hang skipped %g slots; "
          "fast runs %g, skipped %g); SIGTERM with a 60 s plugin hanging: exit in %.2f s" %
          (fast, skipped, fast_runs, fast_skipped, stop_seconds))


if __name__ == "__main__":
    main()
