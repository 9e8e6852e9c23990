#!/usr/bin/python3
"""Opens rendered report pages in headless Chromium and checks what the page
script drew: every section without errors, hostile strings kept as text,
absent sections reported as absent, and live mode polling its URL.

Usage (from Bazel): report_browser_test.py RENDER_REPORT TESTDATA_JSON

Chromium is Debian's /usr/bin/chromium, which ./bazelw installs; a missing
browser fails the test rather than skipping it.
"""

import functools
import html.parser
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import unittest

RENDER = None
TESTDATA = None
TMP = os.environ.get("TEST_TMPDIR", "/tmp")
OUTPUTS = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", TMP)
BROWSER_TIMEOUT_S = 120

# Every chart the testdata draws, by the id of its card (data-chart).
ALL_CHARTS = [
    "tps", "latency", "errors", "cpu", "process-cpu", "memory", "network", "tcp-rates",
    "tcp-states", "process", "overlay", "spectrum", "usl", "wire-latency",
]
SERVER_SERIES = [
    "cpu_busy", "cpu_user", "cpu_system", "cpu_softirq", "cpu_iowait", "load1", "mem_used_bytes",
    "net_rx_bytes_per_s", "net_tx_bytes_per_s", "tcp_active_opens_per_s",
    "tcp_passive_opens_per_s", "tcp_retrans_per_s", "tcp_curr_estab", "tcp_time_wait",
    "listen_overflows_per_s", "process_cpu", "process_rss_bytes", "process_threads",
    "process_fds", "process_ctx_switches_per_s",
]
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "param", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []  # Nodes and strings

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find_all(self, predicate):
        return [n for n in self.walk() if predicate(n)]

    def by_id(self, element_id):
        found = self.find_all(lambda n: n.attrs.get("id") == element_id)
        return found[0] if found else None


class TreeBuilder(html.parser.HTMLParser):
    """Chromium's --dump-dom output as a tree of Nodes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID_TAGS:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(dom):
    builder = TreeBuilder()
    builder.feed(dom)
    return builder.root


def chromium_binary():
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
    if not path:
        raise AssertionError("chromium is not installed (./bazelw installs Debian's chromium); "
                             "this test needs it and does not skip")
    return path


_profiles = 0


def run_chromium(url, *extra):
    """Runs headless Chromium on `url` with `extra` flags; returns stdout."""
    global _profiles
    _profiles += 1
    profile = os.path.join(TMP, "chromium-profile-%d" % _profiles)
    args = [
        chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--user-data-dir=" + profile, "--hide-scrollbars", "--window-size=1440,900",
    ] + list(extra) + [url]
    env = dict(os.environ, HOME=TMP)
    result = subprocess.run(args, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, env=env)
    if result.returncode != 0:
        raise AssertionError("chromium exited with %d on %s:\n%s" % (result.returncode, url, result.stderr[-4000:]))
    return result.stdout


def render(doc, name, *flags):
    """Writes `doc` as JSON and renders it with render_report; returns the HTML path."""
    json_path = os.path.join(TMP, name + ".json")
    html_path = os.path.join(TMP, name + ".html")
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    subprocess.run([RENDER, "--in", json_path, "--out", html_path] + list(flags), check=True,
                   timeout=60)
    return html_path


def load_testdata():
    with open(TESTDATA, encoding="utf-8") as f:
        return json.load(f)


class ReportPageTest(unittest.TestCase):

    def dump(self, html_path, *flags):
        dom = run_chromium("file://" + html_path, "--dump-dom", *flags)
        tree = parse(dom)
        return dom, tree

    def assert_rendered_ok(self, tree):
        body = tree.find_all(lambda n: n.tag == "body")[0]
        errors = tree.by_id("errors")
        self.assertIsNotNone(errors, "the page lost its #errors element")
        self.assertEqual(body.attrs.get("data-rendered"), "ok",
                         "page script did not finish cleanly; #errors says: %r" % errors.text())
        self.assertIn("hidden", errors.attrs)
        self.assertEqual(errors.text().strip(), "")

    def drawn_charts(self, tree):
        """Ids of chart cards that hold a drawn uPlot (a .uplot with a canvas)."""
        drawn = []
        for card in tree.find_all(lambda n: "data-chart" in n.attrs):
            plots = card.find_all(lambda n: "uplot" in n.classes())
            if plots and plots[0].find_all(lambda n: n.tag == "canvas"):
                drawn.append(card.attrs["data-chart"])
        return drawn

    def test_full_report_draws_every_section(self):
        doc = load_testdata()
        page = render(doc, "full")
        dom, tree = self.dump(page)

        self.assert_rendered_ok(tree)
        self.assertEqual(sorted(self.drawn_charts(tree)), sorted(ALL_CHARTS))
        self.assertGreaterEqual(dom.count('class="uplot'), 12)
        self.assertEqual(tree.by_id("run-title").text(), doc["run"]["name"])
        self.assertEqual(tree.by_id("run-id").text(), doc["run"]["id"])
        verdict = tree.by_id("verdict").text()
        self.assertIn(doc["verdict"]["summary"], verdict)
        for evidence in doc["verdict"]["evidence"]:
            self.assertIn(evidence, verdict)
        numbers = tree.by_id("key-numbers").text()
        self.assertIn("8,955", numbers)  # max TPS (stage 4)
        self.assertIn("7,177", numbers)  # max TPS under the SLO, and the knee
        self.assertIn("21.4", numbers)  # USL N*
        self.assertIn("valid", numbers)
        # Tables: one row per stage, transaction + steps, finding, check, correlation.
        def rows(table_id):
            table = tree.by_id(table_id)
            self.assertIsNotNone(table, "no table #" + table_id)
            return table.find_all(lambda n: n.tag == "tr" and n.parent.tag == "tbody")
        self.assertEqual(len(rows("stages")), len(doc["stages"]))
        self.assertEqual(len(rows("transactions")),
                         sum(1 + len(t["steps"]) for t in doc["transactions"]))
        self.assertEqual(len(rows("findings")), len(doc["findings"]))
        self.assertEqual(len(rows("checks")), len(doc["checks"]))
        correlations = rows("correlations")
        self.assertEqual(len(correlations), len(doc["correlations"]))
        # Sorted by |r|: the first row is the strongest correlation.
        self.assertIn("0.99", correlations[0].text())
        self.assertIsNone(tree.by_id("no-server-metrics"))
        # The network section: one row per loadgen step with a wire
        # counterpart, one per FTP command, and the TCP health numbers.
        network = doc["network"]
        self.assertIsNotNone(tree.by_id("network-section"))
        self.assertEqual(len(rows("wire-vs-client")), len(network["client_vs_wire"]))
        self.assertEqual(len(rows("wire-commands")), len(network["commands"]))
        self.assertIn("STOR", rows("wire-commands")[-1].text())
        health = tree.by_id("tcp-health").text()
        self.assertIn("180,695", health)  # packets captured
        self.assertIsNone(tree.by_id("capture-cut"))

        shot = os.path.join(OUTPUTS, "report.png")
        run_chromium("file://" + page, "--screenshot=" + shot, "--window-size=1440,6000")
        with open(shot, "rb") as f:
            header = f.read(24)
        self.assertEqual(header[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(int.from_bytes(header[16:20], "big"), 1440)

    def test_hostile_strings_stay_text(self):
        doc = load_testdata()
        name = "</script><script>document.body.dataset.pwned = 1</script><script>alert(1)</script>"
        doc["run"]["name"] = name
        doc["run"]["id"] = "<img src=x onerror=\"document.body.dataset.pwned=2\">"
        doc["verdict"]["summary"] = "\u2028<b>bold?</b>\u2029 & done"
        doc["findings"][0]["message"] = "<iframe src=\"javascript:alert(2)\"></iframe>"
        dom, tree = self.dump(render(doc, "hostile"))

        self.assert_rendered_ok(tree)
        body = tree.find_all(lambda n: n.tag == "body")[0]
        self.assertNotIn("data-pwned", body.attrs)
        self.assertEqual(tree.by_id("run-title").text(), name)
        self.assertEqual(tree.by_id("run-id").text(), doc["run"]["id"])
        self.assertIn(doc["verdict"]["summary"], tree.by_id("verdict").text())
        self.assertEqual(len(tree.find_all(lambda n: n.tag == "script")), 4)
        for tag in ("img", "iframe", "b"):
            self.assertEqual(tree.find_all(lambda n, t=tag: n.tag == t), [], "a <%s> was injected" % tag)

    def test_run_without_server_metrics_says_so(self):
        doc = load_testdata()
        for key in SERVER_SERIES:
            del doc["series"][key]
        doc["correlations"] = []
        for stage in doc["stages"]:
            stage["server_cpu"] = None
            stage["process_cpu"] = None
        _, tree = self.dump(render(doc, "no-monitor"))

        self.assert_rendered_ok(tree)
        notice = tree.by_id("no-server-metrics")
        self.assertIsNotNone(notice)
        self.assertIn("No server metrics in this run", notice.text())
        self.assertEqual(sorted(self.drawn_charts(tree)),
                         sorted(["tps", "latency", "errors", "overlay", "spectrum", "usl",
                                 "wire-latency"]))

    def test_network_section_only_with_a_capture(self):
        doc = load_testdata()
        doc["network"]["capture"]["cut"] = True
        doc["network"]["capture"]["not_written"] = 1234
        _, tree = self.dump(render(doc, "capture-cut"))
        self.assert_rendered_ok(tree)
        self.assertIn("1,234 later packets were not written", tree.by_id("capture-cut").text())

        del doc["network"]
        _, tree = self.dump(render(doc, "no-capture"))
        self.assert_rendered_ok(tree)
        self.assertIsNone(tree.by_id("network-section"))
        self.assertNotIn("wire-latency", self.drawn_charts(tree))

    def test_sparse_documents_render_without_errors(self):
        doc = load_testdata()
        sparse = {
            "schema": "tpslab.report/1",
            "run": {"id": "20261128-000000-x", "state": "failed"},
            "verdict": {"bottleneck": "undetermined", "run_valid": False, "summary": "", "evidence": []},
            "knee": {"found": False, "stage": None, "load": None, "tps": None, "p99_ms": None},
            "slo": {"p99_ms": 50.0, "max_tps": None, "at_load": None, "stage": None},
            "usl": {"ok": False, "message": "fewer than 3 stages", "curve": []},
            "stages": [doc["stages"][0]],
            "series": {"t_s": [0, 1, 2, 3], "tps": [None, 10, None, 12], "users": [1, 1, 1, 1],
                       "p99_ms": [None, None, None, None], "cpu_busy": [None, 0.5, None, None]},
        }
        for name, sample in (("empty", {}), ("null", None), ("sparse", sparse)):
            with self.subTest(name):
                _, tree = self.dump(render(sample, name))
                self.assert_rendered_ok(tree)

    def test_charts_zoom_and_pick_together(self):
        # A script appended to the page drives the charts the way a user does
        # (zoom, legend click, overlay pick, cursor), then records what it saw.
        probe = r"""
<script>
document.addEventListener("DOMContentLoaded", async () => {
  const out = {};
  // uPlot applies scale changes in a microtask; let them land.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  try {
    const api = window.tpslabReport;
    const tps = api.chart("tps"), cpu = api.chart("cpu");
    const range = (id) => [api.chart(id).scales.x.min, api.chart(id).scales.x.max];
    tps.setScale("x", {min: 10, max: 20});
    await settle();
    out.cpu = range("cpu");
    out.overlay = range("overlay");
    out.usl = range("usl");
    const pick = document.getElementById("overlay-b");
    pick.value = "cpu_busy";
    pick.dispatchEvent(new Event("change"));
    await settle();
    out.overlay_series = api.chart("overlay").series.map((s) => s.label);
    out.overlay_after_pick = range("overlay");
    out.caption = document.querySelector('[data-chart="overlay"] .caption').textContent;
    tps.setSeries(2, {show: false});
    await settle();
    api.render(JSON.parse(document.getElementById("tpslab-report").textContent));
    await settle();
    out.cpu_after_redraw = range("cpu");
    out.users_shown_after_redraw = api.chart("tps").series[2].show;
    out.overlay_after_redraw = api.chart("overlay").series.map((s) => s.label);
    cpu.setScale("x", {min: 0, max: 59});
    await settle();
    // Hovering one time chart moves the cursor of the others to the same time.
    tps.setCursor({left: tps.over.clientWidth / 2, top: 20}, true, true);
    await settle();
    out.cursor = [api.chart("tps").cursor.idx, api.chart("cpu").cursor.idx];
    out.tps_after_reset = range("tps");
    out.rendered = document.body.dataset.rendered;
  } catch (e) {
    out.error = String((e && e.stack) || e);
  }
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""
        page = render(load_testdata(), "probe")
        with open(page, encoding="utf-8") as f:
            text = f.read()
        with open(page, "w", encoding="utf-8") as f:
            f.write(text.replace("</body>", probe + "</body>"))
        # The virtual time budget lets the probe's timers run before the dump.
        _, tree = self.dump(page, "--virtual-time-budget=3000")

        probe_output = tree.by_id("probe")
        self.assertIsNotNone(probe_output, "the probe script did not finish")
        out = json.loads(probe_output.text())
        self.assertNotIn("error", out, out.get("error"))
        self.assertEqual(out["rendered"], "ok")
        self.assertEqual(out["cpu"], [10, 20], "zooming one time chart zooms the others")
        self.assertEqual(out["overlay"], [10, 20])
        self.assertNotEqual(out["usl"], [10, 20], "the USL chart has no time axis")
        self.assertEqual(out["overlay_series"], ["time", "TPS", "CPU busy"])
        self.assertEqual(out["overlay_after_pick"], [10, 20], "a newly picked overlay joins the zoom")
        self.assertIn("r = 0.97", out["caption"])
        self.assertEqual(out["cpu_after_redraw"], [10, 20], "a live redraw keeps the zoom")
        self.assertFalse(out["users_shown_after_redraw"], "a live redraw keeps hidden series")
        self.assertEqual(out["overlay_after_redraw"], ["time", "TPS", "CPU busy"])
        self.assertEqual(out["tps_after_reset"], [0, 59])
        self.assertIsNotNone(out["cursor"][0])
        self.assertEqual(out["cursor"][0], out["cursor"][1], "cursors are synced")

    def test_live_page_polls_its_url(self):
        served = load_testdata()
        served["run"]["name"] = "live update from the server"
        served["run"]["state"] = "running"
        site = os.path.join(TMP, "site")
        os.makedirs(site, exist_ok=True)
        with open(os.path.join(site, "report.json"), "w", encoding="utf-8") as f:
            json.dump(served, f)
        page = render({}, "live", "--live", "--report-url", "report.json")
        shutil.copy(page, os.path.join(site, "live.html"))

        requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                 functools.partial(Handler, directory=site))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = "http://127.0.0.1:%d/live.html" % server.server_address[1]
            dom = run_chromium(url, "--dump-dom", "--virtual-time-budget=4000")
        finally:
            server.shutdown()
            server.server_close()
        tree = parse(dom)

        self.assert_rendered_ok(tree)
        self.assertEqual(tree.by_id("run-title").text(), "live update from the server")
        status = tree.by_id("live-status")
        self.assertIsNotNone(status)
        self.assertNotIn("hidden", status.attrs)
        self.assertRegex(status.text(), r"^live, updated \d+s ago$")
        polls = [p for p in requests if p.startswith("/report.json")]
        self.assertGreaterEqual(len(polls), 2, "the page fetched report.json %d times" % len(polls))
        self.assertIn("tps", self.drawn_charts(tree))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: report_browser_test.py RENDER_REPORT TESTDATA_JSON")
    RENDER = os.path.abspath(sys.argv[1])
    TESTDATA = os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
