"""`analyzer run`, the one-command perf run, with the real binaries.

Runs short ladders (1 s stages) and checks what a user relies on: the exit
status, the results folder and its files, the numbers in summary.json, that
no child outlives the run, and the teardown on Ctrl-C and when a child dies.

Usage: perf_run_test.py ANALYZER FTPD LOADGEN MONITOR
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ANALYZER, FTPD, LOADGEN, MONITOR = (os.path.abspath(p) for p in sys.argv[1:5])
TMP = os.environ.get("TEST_TMPDIR", tempfile.gettempdir())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive: it only waits for its parent (gone) to reap it.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


class PerfRun:
    """One `analyzer run` in the background, its output in files."""

    def __init__(self, name, *extra):
        self.results = os.path.join(TMP, name)
        self.out_path = os.path.join(TMP, name + ".out")
        self.err_path = os.path.join(TMP, name + ".err")
        argv = [ANALYZER, "run", "--ftpd", FTPD, "--loadgen", LOADGEN, "--monitor", MONITOR,
                "--results", self.results, "--interval", "500ms", "--loadgen-threads", "1",
                "--ftpd-threads", "1", *extra]
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.process = subprocess.Popen(argv, stdout=out, stderr=err,
                                            stdin=subprocess.DEVNULL)

    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def wait_for(self, pattern, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            match = re.search(pattern, self.stdout())
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the output:\n{self.stdout()}\n{self.stderr()}")

    def finish(self, seconds=180):
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"analyzer run did not end:\n{self.stdout()}\n{self.stderr()}")

    def folder(self):
        lines = self.stdout().strip().splitlines()
        self_check = lines[-1] if lines else ""
        assert self_check.startswith("results: "), f"last line is {self_check!r}"
        return self_check[len("results: "):]

    def summary(self):
        with open(os.path.join(self.folder(), "summary.json")) as f:
            return json.load(f)


def non_null(values):
    return [v for v in values if v is not None]


def without_timing(network):
    """A network section without the one figure that depends on the clock."""
    network = dict(network, capture=dict(network["capture"]))
    del network["capture"]["analysis_s"]
    return network


class CompletedRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.perf = PerfRun("completed", "--stage", "2s", "--max-users", "2", "--name", "ci")
        cls.status = cls.perf.finish()

    def test_exit_status_and_last_line(self):
        self.assertEqual(self.status, 0, self.perf.stdout() + self.perf.stderr())
        folder = self.perf.folder()
        self.assertTrue(folder.startswith(self.perf.results + "/"), folder)
        self.assertRegex(os.path.basename(folder), r"^\d{8}-\d{6}-ftpd$")

    def test_files(self):
        folder = self.perf.folder()
        for name in ("report.html", "summary.json", "timeseries.csv", "run.db", "scenario.yaml",
                     "logs/ftpd.log", "logs/monitor.log", "loadgen/upload.hlog",
                     "loadgen/download.hlog"):
            path = os.path.join(folder, name)
            self.assertTrue(os.path.isfile(path), path)
            self.assertGreater(os.path.getsize(path), 0, path)
        with open(os.path.join(folder, "report.html")) as f:
            html = f.read()
        self.assertIn("tpslab.report/1", html)
        self.assertNotRegex(html, r"(src|href)=\"https?://")
        with open(os.path.join(folder, "timeseries.csv")) as f:
            header = f.readline().strip().split(",")
            rows = f.readlines()
        self.assertEqual(header[0], "t_s")
        self.assertIn("tps", header)
        self.assertIn("cpu_busy", header)
        self.assertGreaterEqual(len(rows), 2)

    def test_summary_numbers(self):
        summary = self.perf.summary()
        self.assertEqual(summary["schema"], "tpslab.report/1")
        self.assertEqual(summary["run"]["state"], "completed")
        self.assertEqual(summary["run"]["name"], "ci")
        self.assertEqual(summary["run"]["server"], "ftpd")
        self.assertNotIn(":perf:", summary["run"]["target"] or "")  # no password
        stages = summary["stages"]
        self.assertEqual([round(s["load"]) for s in stages], [1, 2])
        for stage in stages:
            self.assertGreater(stage["tps"], 0)
            self.assertEqual(stage["errors"], 0)
        names = sorted(t["name"] for t in summary["transactions"])
        self.assertEqual(names, ["download", "upload"])
        total = sum(t["count"] for t in summary["transactions"])
        with open(os.path.join(self.perf.folder(), "loadgen", "summary.json")) as f:
            loadgen = json.load(f)
        # What the coordinator stored is what loadgen counted itself.
        self.assertEqual(total, loadgen["all"]["count"])
        series = summary["series"]
        self.assertTrue(non_null(series["cpu_busy"]), "no host CPU samples joined")
        self.assertTrue(non_null(series["process_cpu"]), "no ftpd process samples joined")
        self.assertGreater(max(non_null(series["process_cpu"])), 0)
        self.assertIn(summary["verdict"]["bottleneck"],
                      ["client", "not-saturated", "cpu", "disk", "network", "lock-or-queue",
                       "undetermined"])
        checks = {c["name"]: c["state"] for c in summary["checks"]}
        self.assertEqual(checks.get("ftp"), "OK", summary["checks"])

    def test_children_are_gone(self):
        ftpd_pid = int(re.search(r"ftpd \(pid (\d+)\)", self.perf.stdout()).group(1))
        root = re.search(r"root (\S+)", self.perf.stdout()).group(1)
        self.assertTrue(wait_gone(ftpd_pid), "ftpd outlived the run")
        self.assertFalse(os.path.exists(root), "temporary root left behind")

    def test_report_and_compare_commands(self):
        folder = self.perf.folder()
        report = subprocess.run([ANALYZER, "report", folder], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(report.returncode, 0, report.stderr)
        self.assertIn("results: " + folder, report.stdout)
        # Not captured: no network section, a note saying why, no error.
        self.assertNotIn("network", self.perf.summary())
        self.assertIn("network: no section: the run has no capture.pcap", report.stdout)
        self.assertEqual(report.stderr, "")
        same = subprocess.run([ANALYZER, "compare", folder, folder], capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(same.returncode, 0, same.stdout + same.stderr)
        # A candidate 30% slower in every stage and transaction regresses.
        slower = self.perf.summary()
        for item in slower["stages"] + slower["transactions"]:
            item["tps"] *= 0.7
        slow_path = os.path.join(TMP, "slower.json")
        with open(slow_path, "w") as f:
            json.dump(slower, f)
        regressed = subprocess.run([ANALYZER, "compare", folder, slow_path, "--json"],
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(regressed.returncode, 3, regressed.stdout + regressed.stderr)
        self.assertTrue(json.loads(regressed.stdout)["regressed"])
        bad = subprocess.run([ANALYZER, "compare", folder, "/nonexistent/summary.json"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("/nonexistent/summary.json", bad.stderr)


class CaptureRunTest(unittest.TestCase):
    """`--capture`: capture.pcap and the report's network section."""

    MAX_USERS = 2

    @classmethod
    def setUpClass(cls):
        cls.perf = PerfRun("capture", "--stage", "2s", "--max-users", str(cls.MAX_USERS),
                           "--capture")
        cls.status = cls.perf.finish()

    def test_capture_file_and_log(self):
        self.assertEqual(self.status, 0, self.perf.stdout() + self.perf.stderr())
        folder = self.perf.folder()
        capture = os.path.join(folder, "capture.pcap")
        self.assertTrue(os.path.isfile(capture), capture)
        self.assertGreater(os.path.getsize(capture), 24)  # More than the pcap file header.
        with open(os.path.join(folder, "logs", "capture.log")) as f:
            log = f.read()
        self.assertIn("capturing on lo", log)
        self.assertRegex(log, r"\d+ packets written, 0 dropped by the kernel")
        self.assertRegex(self.perf.stdout(), r"network: \d+ packets captured")

    def test_network_section(self):
        summary = self.perf.summary()
        network = summary["network"]
        capture = network["capture"]
        self.assertEqual(capture["file"], "capture.pcap")
        self.assertFalse(capture["cut"])
        self.assertGreater(capture["bytes"], 0)
        self.assertRegex(capture["filter"], r"^tcp port \d+ or tcp portrange \d+-\d+$")
        self.assertEqual(network["packets"], capture["packets_written"])
        commands = {c["command"]: c for c in network["commands"]}
        for verb in ("USER", "PASS", "EPSV", "STOR", "RETR", "QUIT"):
            self.assertIn(verb, commands)
            self.assertGreater(commands[verb]["count"], 0, verb)
            self.assertEqual(commands[verb]["errors"], 0, verb)
            self.assertGreaterEqual(commands[verb]["p99_ms"], commands[verb]["p50_ms"], verb)
        # loadgen counts an upload when its STOR completes; the capture runs
        # from before loadgen starts until after it ends, so the counts agree
        # unless the kernel dropped packets or loadgen cut transactions short
        # at the end (at most one in flight per user).
        steps = {s["name"]: s for t in summary["transactions"] for s in t["steps"]}
        uploads = steps["upload/upload"]["count"]
        downloads = steps["download/download"]["count"]
        self.assertGreater(uploads, 0)
        self.assertEqual(capture["kernel_drops"], 0)
        self.assertLessEqual(abs(commands["STOR"]["count"] - uploads), self.MAX_USERS)
        self.assertLessEqual(abs(commands["RETR"]["count"] - downloads), self.MAX_USERS)
        # Every 1 KiB transfer's bytes, from sequence numbers despite the
        # 200-byte snap length.
        transfers = network["transfers"]
        self.assertEqual(transfers["by_command"]["STOR"], commands["STOR"]["count"])
        self.assertEqual(transfers["complete"], transfers["count"])
        self.assertEqual(transfers["bytes"], 1024 * transfers["count"])
        self.assertGreater(network["handshake"]["count"], 0)
        for counter in ("retransmissions", "duplicate_acks", "zero_windows"):
            self.assertIn(counter, network["tcp"])
        wires = {row["step"]: row["wire"] for row in network["client_vs_wire"]}
        self.assertEqual(wires, {"upload/connect": "connect", "upload/login": "login",
                                 "upload/upload": "stor", "upload/quit": "quit",
                                 "download/connect": "connect", "download/login": "login",
                                 "download/download": "retr", "download/quit": "quit"})
        with open(os.path.join(self.perf.folder(), "report.html")) as f:
            html = f.read()
        self.assertIn('"client_vs_wire"', html)
        self.assertIn("Network (on the wire)", html)

    def test_report_command_rebuilds_the_network_section(self):
        self.assertEqual(self.status, 0, self.perf.stdout() + self.perf.stderr())
        folder = self.perf.folder()
        original = self.perf.summary()["network"]
        with open(os.path.join(folder, "capture.json")) as f:
            settings = json.load(f)
        self.assertEqual(settings["filter"], original["capture"]["filter"])
        self.assertEqual(settings["snaplen"], 200)
        self.assertEqual(settings["max_mb"], 512)
        # On a copy (named like the run, as results/<run-id>), so that the
        # other tests read the files the run wrote.
        copy = os.path.join(TMP, "capture-report", os.path.basename(folder))
        shutil.rmtree(os.path.dirname(copy), ignore_errors=True)
        shutil.copytree(folder, copy)

        def report():
            done = subprocess.run([ANALYZER, "report", copy], capture_output=True, text=True,
                                  timeout=120)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertEqual(done.stderr, "")
            self.assertRegex(done.stdout, r"network: \d+ packets captured")
            with open(os.path.join(copy, "summary.json")) as f:
                return json.load(f), done.stdout

        rebuilt, stdout = report()
        self.assertIn("results: " + copy, stdout)
        self.assertEqual(without_timing(rebuilt["network"]), without_timing(original))
        with open(os.path.join(copy, "report.html")) as f:
            self.assertIn("Network (on the wire)", f.read())
        # A run recorded before capture.json: its previous summary says how
        # it captured.
        os.remove(os.path.join(copy, "capture.json"))
        rebuilt, _ = report()
        self.assertEqual(without_timing(rebuilt["network"]), without_timing(original))
        # Without the capture, no section and no error.
        os.remove(os.path.join(copy, "capture.pcap"))
        done = subprocess.run([ANALYZER, "report", copy], capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("network: no section: the run has no capture.pcap", done.stdout)
        with open(os.path.join(copy, "summary.json")) as f:
            self.assertNotIn("network", json.load(f))


class TeardownTest(unittest.TestCase):
    def test_live_dashboard_then_ctrl_c_reports_the_partial_run(self):
        run = PerfRun("interrupted", "--stage", "4s", "--max-users", "4")
        dashboard = run.wait_for(r"dashboard: (http://\S+)").group(1)
        ftpd_pid = int(run.wait_for(r"ftpd \(pid (\d+)\)").group(1))
        time.sleep(3)
        # The live dashboard, mid-run, in a real browser: the page's script
        # drew it from the coordinator's /api/runs/<id>/report.
        dom = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--virtual-time-budget=5000", "--dump-dom", dashboard],
            capture_output=True, text=True, timeout=120).stdout
        self.assertIn('data-rendered="ok"', dom, dom[-2000:])
        self.assertIn("live", dom)
        run.process.send_signal(signal.SIGINT)
        self.assertEqual(run.finish(), 130, run.stdout() + run.stderr())
        self.assertEqual(run.summary()["run"]["state"], "aborted")
        kinds = [f["kind"] for f in run.summary()["findings"]]
        self.assertIn("run-aborted", kinds)
        self.assertTrue(wait_gone(ftpd_pid), "ftpd outlived the interrupted run")

    def test_server_death_fails_the_run_and_says_why(self):
        run = PerfRun("server-died", "--stage", "4s", "--max-users", "4")
        ftpd_pid = int(run.wait_for(r"ftpd \(pid (\d+)\)").group(1))
        time.sleep(3)
        os.kill(ftpd_pid, signal.SIGKILL)
        self.assertEqual(run.finish(), 1, run.stdout() + run.stderr())
        self.assertIn("ftpd (pid %d) died during the run (killed by SIGKILL)" % ftpd_pid,
                      run.stderr())
        summary = run.summary()
        self.assertEqual(summary["run"]["state"], "failed")
        failed = [f for f in summary["findings"] if f["kind"] == "run-failed"]
        self.assertEqual(len(failed), 1, summary["findings"])
        self.assertIn("ftpd", failed[0]["message"])

    def test_too_short_stage_is_refused(self):
        done = subprocess.run([ANALYZER, "run", "--stage", "1s"], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--stage 1s: each stage must last at least 2s", done.stderr)

    def test_missing_binary_is_a_clear_error_before_anything_starts(self):
        results = os.path.join(TMP, "missing")
        done = subprocess.run([ANALYZER, "run", "--ftpd", "/nonexistent/ftpd", "--loadgen",
                               LOADGEN, "--monitor", MONITOR, "--results", results],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 1)
        self.assertIn("/nonexistent/ftpd", done.stderr)
        self.assertFalse(os.path.exists(results))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
