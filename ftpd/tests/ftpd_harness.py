"""Starts the real ftpd binary for integration tests and stops it again.

    with FtpdServer(ftpd_binary, users={"alice": ("secret", "/alice", "all")}) as server:
        ftp = ftplib.FTP()
        ftp.connect(server.host, server.port, timeout=10)

The server runs on 127.0.0.1 port 0 (the port comes from its "listening on"
line) with a fresh root under $TEST_TMPDIR; users are added with
`ftpd passwd`, the password on standard input. On exit the server gets
SIGTERM and must exit with status 0 within 10 s.
"""

import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time


class FtpdServer:
    def __init__(self, binary, users=None, extra_args=(), tls=False, admin=False):
        self.binary = os.path.abspath(binary)
        base = os.environ.get("TEST_TMPDIR") or tempfile.gettempdir()
        self.dir = tempfile.mkdtemp(prefix="ftpd.", dir=base)
        self.root = os.path.join(self.dir, "root")
        os.mkdir(self.root)
        self.users_file = os.path.join(self.dir, "users")
        self.users = users if users is not None else {"alice": ("secret", "/alice", "all")}
        self.extra_args = list(extra_args)
        self.tls = tls
        self.admin = admin
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        self.xferlog = os.path.join(self.dir, "xferlog")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None
        self.admin_port = None

    def add_user(self, name, password, home, perms):
        os.makedirs(os.path.join(self.root, home.strip("/")), exist_ok=True)
        subprocess.run(
            [self.binary, "passwd", "--users", self.users_file, name, "--root", home,
             "--perms", perms],
            input=(password + "\n").encode(), check=True, timeout=30,
            stderr=subprocess.DEVNULL)

    def home(self, user="alice"):
        return os.path.join(self.root, self.users[user][1].strip("/"))

    def start(self):
        for name, (password, home, perms) in self.users.items():
            self.add_user(name, password, home, perms)
        args = [self.binary, "--listen", "127.0.0.1:0", "--root", self.root,
                "--xferlog", self.xferlog]
        if self.users:
            args += ["--users", self.users_file]
        if self.tls:
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                 "/CN=localhost", "-days", "1", "-keyout", self.key, "-out", self.cert],
                check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            args += ["--tls-cert", self.cert, "--tls-key", self.key]
        if self.admin:
            args += ["--admin", "127.0.0.1:0"]
        args += self.extra_args
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr, bufsize=0)
        try:
            self.port = self._read_endpoint("listening on ")
            if self.admin:
                self.admin_port = self._read_endpoint("admin on ")
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise
        return self

    def _read_endpoint(self, prefix):
        deadline = time.monotonic() + 30
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("ftpd printed no '%s' line; stderr:\n%s" % (prefix, self.log()))
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                byte = self.proc.stdout.read(1)
                if not byte:
                    raise AssertionError("ftpd exited early; stderr:\n%s" % self.log())
                line += byte
        text = line.decode().strip()
        match = re.fullmatch(re.escape(prefix) + r"127\.0\.0\.1:(\d+)", text)
        if not match:
            raise AssertionError("unexpected line %r" % text)
        return int(match.group(1))

    def log(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def metrics(self):
        import urllib.request
        with urllib.request.urlopen(
                "http://127.0.0.1:%d/metrics" % self.admin_port, timeout=10) as response:
            return response.read().decode()

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("ftpd did not exit after SIGTERM; stderr:\n%s" % self.log())
            if status != 0:
                raise AssertionError("ftpd exited with %d; stderr:\n%s" % (status, self.log()))
        self.proc.stdout.close()
        self.stderr.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        finally:
            if exc_type is None:
                shutil.rmtree(self.dir, ignore_errors=True)
