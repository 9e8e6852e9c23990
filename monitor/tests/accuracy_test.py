"""Live accuracy against sysstat: with a half-busy loop (10 ms spinning,
10 ms sleeping) pinned to one CPU,
monitor's CPU busy fraction for that CPU agrees with mpstat, and the busy
process's CPU use agrees with pidstat, within 1 percentage point over the
same 5-second window (both tools started together, 1 s interval each).

usage: accuracy_test.py MONITOR_BINARY
"""

import os
import re
import subprocess
import sys
import time

import live_util

SECONDS = 5


def cpu_busy(cpu):
    return sum(cpu.get(k, 0.0) for k in ("user", "nice", "system", "irq", "softirq", "steal"))


def cpu_total(cpu):
    return cpu_busy(cpu) + cpu.get("idle", 0.0) + cpu.get("iowait", 0.0)


def timestamp(text):
    # RFC 3339 from protobuf's JSON mapping: 2026-11-28T03:17:13.123456789Z
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(\.\d+)?Z", text)
    t = time.struct_time((int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), 0, 0, 0))
    import calendar
    return calendar.timegm(t) + float(m[7] or 0)


def average_line(output, columns_wanted):
    """The 'Average:' row of a sysstat table as {column: value}."""
    header = None
    for line in output.splitlines():
        fields = line.split()
        if not fields:
            continue
        if "%idle" in fields or "%CPU" in fields:
            header = fields
            continue
        if fields[0] == "Average:" and header is not None:
            row = dict(zip(header[-len(fields) + 1:], fields[1:]))
            if all(c in row for c in columns_wanted):
                return row
    raise AssertionError("no Average line in:\n" + output)


def main():
    monitor = sys.argv[1]
    ncpu = os.cpu_count()
    target = ncpu - 1
    jsonl = os.path.join(live_util.tmpdir(), "accuracy.jsonl")
    busy = subprocess.Popen(["/usr/bin/taskset", "-c", str(target), "/usr/bin/python3", "-c",
                             "import time\n"
                             "while True:\n"
                             "    t = time.monotonic()\n"
                             "    while time.monotonic() - t < 0.01: pass\n"
                             "    time.sleep(0.01)\n"])
    try:
        time.sleep(0.5)  # let the loop settle on its CPU
        env = dict(os.environ, LC_ALL="C", S_TIME_FORMAT="ISO")
        # Start all three together: each reads /proc at start and then every
        # second, so their windows coincide within a few milliseconds.
        mon = subprocess.Popen([monitor, "--interval", "1s", "--samples", str(SECONDS + 1),
                                "--pid", str(busy.pid), "--jsonl", jsonl],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        mpstat = subprocess.Popen(["/usr/bin/mpstat", "-P", str(target), "1", str(SECONDS)],
                                  stdout=subprocess.PIPE, text=True, env=env)
        pidstat = subprocess.Popen(["/usr/bin/pidstat", "-p", str(busy.pid), "1", str(SECONDS)],
                                   stdout=subprocess.PIPE, text=True, env=env)
        mp_out, _ = mpstat.communicate(timeout=60)
        pid_out, _ = pidstat.communicate(timeout=60)
        mon.wait(timeout=60)
        assert mon.returncode == 0, mon.stderr.read()
    finally:
        busy.kill()
        busy.wait()

    lines = live_util.read_jsonl(jsonl)
    hosts = [l["host_sample"] for l in lines if "host_sample" in l]
    procs = [l["process_sample"] for l in lines if "process_sample" in l]
    assert len(hosts) == SECONDS + 1 and len(procs) == SECONDS + 1, (len(hosts), len(procs))
    name = "cpu%d" % target
    first = next(c for c in hosts[0]["cpus"] if c["cpu"] == name)
    last = next(c for c in hosts[-1]["cpus"] if c["cpu"] == name)
    monitor_busy = 100.0 * (cpu_busy(last) - cpu_busy(first)) / (cpu_total(last) - cpu_total(first))

    row = average_line(mp_out, ["%idle", "%iowait"])
    mpstat_busy = 100.0 - float(row["%idle"]) - float(row["%iowait"])

    def proc_cpu(p):
        return p.get("cpu_user_seconds", 0.0) + p.get("cpu_system_seconds", 0.0)

    elapsed = timestamp(procs[-1]["time"]) - timestamp(procs[0]["time"])
    monitor_proc = 100.0 * (proc_cpu(procs[-1]) - proc_cpu(procs[0])) / elapsed
    pid_row = average_line(pid_out, ["%CPU"])
    pidstat_proc = float(pid_row["%CPU"])

    print("cpu%d busy: monitor %.2f%%  mpstat %.2f%%" % (target, monitor_busy, mpstat_busy))
    print("busy loop: monitor %.2f%%  pidstat %.2f%%" % (monitor_proc, pidstat_proc))
    assert mpstat_busy > 30, "the busy loop did not load cpu%d: %s" % (target, mp_out)
    assert pidstat_proc > 30, "the busy loop did not run: %s" % pid_out
    assert abs(monitor_busy - mpstat_busy) <= 1.0, "CPU busy differs by more than 1 pp"
    assert abs(monitor_proc - pidstat_proc) <= 1.0, "process CPU differs by more than 1 pp"
    print("PASS")


if __name__ == "__main__":
    main()
