"""Helpers shared by monitor's live tests: start the monitor binary, read
its JSON lines, and clean up child processes."""

import json
import os
import socket
import subprocess
import time


def tmpdir():
    return os.environ.get("TEST_TMPDIR", "/tmp")


def free_port():
    """A loopback port that was free a moment ago (for tools without port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_monitor(binary, args):
    """Starts monitor with --prometheus 127.0.0.1:0 plus args; returns
    (process, "HOST:PORT") once it has printed 'prometheus on'."""
    proc = subprocess.Popen([binary, "--prometheus", "127.0.0.1:0"] + args,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("prometheus on "):
        proc.kill()
        raise RuntimeError("monitor did not start: %r %r" % (line, proc.stderr.read()))
    return proc, line[len("prometheus on "):]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def stop(proc, timeout=10):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value is not None:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)
