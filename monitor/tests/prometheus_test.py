"""A real Prometheus server (Debian's /usr/bin/prometheus) scrapes monitor's
/metrics on loopback; PromQL queries through its HTTP API return what the
monitor watched: the thread count of a process with a known number of
threads, node_load1 close to /proc/loadavg, and up == 1.

usage: prometheus_test.py MONITOR_BINARY
"""

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import live_util

PROMETHEUS = "/usr/bin/prometheus"


def query(port, promql):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": promql}))
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except OSError:
        return None
    if body.get("status") != "success" or not body["data"]["result"]:
        return None
    return float(body["data"]["result"][0]["value"][1])


def main():
    monitor = sys.argv[1]
    tmp = live_util.tmpdir()
    # A process with exactly 5 threads (main + 4 sleepers).
    threads = subprocess.Popen([
        "/usr/bin/python3", "-c",
        "import threading, time\n"
        "for _ in range(4): threading.Thread(target=time.sleep, args=(120,), daemon=True).start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"], stdout=subprocess.PIPE, text=True)
    assert threads.stdout.readline().strip() == "ready"
    mon, address = live_util.start_monitor(
        monitor, ["--interval", "200ms", "--pid", str(threads.pid)])
    prom = None
    try:
        port = live_util.free_port()
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: monitor\n    static_configs:\n"
                    "      - targets: ['%s']\n" % address)
        prom = subprocess.Popen([
            PROMETHEUS, "--config.file=" + config,
            "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
            "--web.listen-address=127.0.0.1:%d" % port,
            "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prom.log"), "w"))
        selector = 'tpslab_process_threads{selector="pid:%d"}' % threads.pid
        value = live_util.wait_for(lambda: query(port, selector), 60, selector)
        assert value == 5, "threads %r, want 5" % value
        assert live_util.wait_for(lambda: query(port, 'up{job="monitor"}'), 30, "up") == 1
        load = live_util.wait_for(lambda: query(port, "node_load1"), 30, "node_load1")
        with open("/proc/loadavg") as f:
            actual = float(f.read().split()[0])
        assert abs(load - actual) < 1.0, "node_load1 %r vs /proc/loadavg %r" % (load, actual)
        cpus = live_util.wait_for(
            lambda: query(port, 'count(node_cpu_seconds_total{mode="idle"})'), 30, "cpus")
        assert cpus == os.cpu_count(), "%r CPUs, want %r" % (cpus, os.cpu_count())
        print("PASS: prometheus saw threads=%g node_load1=%g (loadavg %g) cpus=%g" %
              (value, load, actual, cpus))
    finally:
        if prom is not None:
            live_util.stop(prom)
        live_util.stop(mon)
        threads.kill()
        threads.wait()


if __name__ == "__main__":
    main()
