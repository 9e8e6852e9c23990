"""Hostile input against the real ftpd: path traversal in every path-taking
command, symlink escapes, FTP bounce, 1 MB command lines, slowloris, 1,000
failed logins, transfers cut mid-way, session limits and timeouts.

Usage: hostile_test.py FTPD_BINARY (run by Bazel through run_python.sh).
"""

import concurrent.futures
import ftplib
import io
import os
import re
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftpd_harness import FtpdServer  # noqa: E402

FTPD = None


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def read_reply(sock_file):
    """Reads one (possibly multi-line) FTP reply from a socket file."""
    line = sock_file.readline().decode(errors="replace")
    if len(line) > 3 and line[3] == "-":
        code = line[:3]
        while True:
            more = sock_file.readline().decode(errors="replace")
            if not more or (more.startswith(code + " ")):
                break
    return line


def metric(text, name, labels):
    pattern = re.escape(name) + r"\{" + re.escape(labels) + r"\} (\d+)"
    match = re.search(pattern, text)
    return int(match.group(1)) if match else None


class HostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FtpdServer(FTPD, users={
            "alice": ("secret", "/alice", "all"),
        }, admin=True, extra_args=["--prelogin-timeout", "2s", "--failed-login-delay", "200ms",
                                   "--lockout-threshold", "20", "--max-sessions-per-ip", "200",
                                   "--max-line", "512"]).start()
        # Things outside alice's home that nothing may reach.
        with open(os.path.join(cls.server.root, "secret.txt"), "w") as f:
            f.write("top secret")
        os.mkdir(os.path.join(cls.server.root, "outside"))
        with open(os.path.join(cls.server.root, "outside", "o.txt"), "w") as f:
            f.write("outside")
        home = cls.server.home()
        os.symlink("../secret.txt", os.path.join(home, "link_file"))
        os.symlink("../outside", os.path.join(home, "link_dir"))
        os.symlink("/etc", os.path.join(home, "link_abs"))
        with open(os.path.join(home, "inside.txt"), "w") as f:
            f.write("inside")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def connect(self, user="alice", password="secret", source=None):
        ftp = ftplib.FTP(source_address=(source, 0) if source else None)
        ftp.connect(self.server.host, self.server.port, timeout=30)
        if user:
            ftp.login(user, password)
        self.addCleanup(ftp.close)
        return ftp

    def assert_outside_untouched(self):
        with open(os.path.join(self.server.root, "secret.txt")) as f:
            self.assertEqual(f.read(), "top secret")
        self.assertEqual(sorted(os.listdir(self.server.root)),
                         ["alice", "outside", "secret.txt"])
        self.assertEqual(os.listdir(os.path.join(self.server.root, "outside")), ["o.txt"])
        for path in ("secret.txt", "outside/o.txt"):
            self.assertGreater(os.stat(os.path.join(self.server.root, path)).st_mtime,
                               1600000000)  # MFMT 2020 never reached it

    def test_path_traversal_every_command(self):
        ftp = self.connect()
        for path in ("../secret.txt", "../../secret.txt", "/../secret.txt", "..//../secret.txt",
                     "./../outside/o.txt", "%2e%2e/secret.txt", "..\\secret.txt",
                     "link_file", "link_dir/o.txt", "link_abs/passwd"):
            for command in ("RETR", "SIZE", "MDTM", "DELE", "RNFR", "MLST", "APPE"):
                try:
                    if command == "RETR":
                        # Only what APPE below created inside the home may come back.
                        ftp.retrbinary("RETR " + path, lambda b: self.assertEqual(b, b"x", path))
                    elif command == "APPE":
                        ftp.storbinary("APPE " + path, io.BytesIO(b"x"))
                        # It may only have created a file inside the home.
                        continue
                    else:
                        ftp.sendcmd("%s %s" % (command, path))
                except ftplib.error_perm as e:
                    self.assertRegex(str(e), r"^55\d", (command, path))
                    continue
                if command != "SIZE" or not path.startswith("link"):
                    # Anything that succeeded must have stayed inside.
                    self.assertNotIn("top secret", path)
            try:
                ftp.sendcmd("MFMT 20200101000000 " + path)  # may hit a file made above
            except ftplib.error_perm as e:
                self.assertRegex(str(e), r"^55\d", path)
            ftp.voidcmd("TYPE I")
        for path in ("..", "../..", "/..", "link_dir", "link_abs", "../outside"):
            try:
                ftp.cwd(path)
                self.assertEqual(ftp.pwd(), "/")  # ".." stops at the user's root
            except ftplib.error_perm as e:
                self.assertRegex(str(e), r"^550")
            for listing in ("NLST", "LIST", "MLSD"):
                try:
                    lines = []
                    ftp.retrlines(listing + " " + path, lines.append)
                    self.assertFalse(any("o.txt" in l or "passwd" in l for l in lines), lines)
                except ftplib.error_perm as e:
                    self.assertRegex(str(e), r"^5[05]\d")
            try:
                self.assertNotIn("o.txt", ftp.sendcmd("STAT " + path))
            except ftplib.error_perm as e:
                self.assertRegex(str(e), r"^550")
        for path in ("../evil", "link_dir/evil", "link_abs/evil", "/../evil"):
            for command in ("MKD", "RMD"):
                try:
                    ftp.sendcmd("%s %s" % (command, path))
                except ftplib.error_perm as e:
                    self.assertRegex(str(e), r"^55\d")
            try:
                ftp.storbinary("STOR " + path, io.BytesIO(b"evil"))
            except ftplib.error_perm as e:
                self.assertRegex(str(e), r"^55\d")
        ftp.sendcmd("RNFR inside.txt")
        with self.assertRaisesRegex(ftplib.error_perm, r"^55\d"):
            ftp.sendcmd("RNTO link_dir/stolen.txt")
        ftp.sendcmd("RNFR inside.txt")
        ftp.sendcmd("RNTO ../../moved.txt")  # lands in the home's root
        self.assertTrue(os.path.exists(os.path.join(self.server.home(), "moved.txt")))
        ftp.sendcmd("RNFR moved.txt")
        ftp.sendcmd("RNTO inside.txt")
        self.assert_outside_untouched()

    def test_nul_byte(self):
        ftp = self.connect()
        with self.assertRaisesRegex(ftplib.error_perm, "^500"):
            ftp.sendcmd("SIZE inside.txt\0/../secret.txt")
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))

    def test_ftp_bounce(self):
        ftp = self.connect()
        before = metric(self.server.metrics(), "ftpd_rejections_total", 'reason="bounce"')
        for command in ("PORT 127,0,0,2,39,16", "PORT 127,0,0,1,0,21", "PORT 127,0,0,1,3,255",
                        "PORT 10,0,0,1,39,16", "EPRT |1|127.0.0.2|10000|",
                        "EPRT |1|127.0.0.1|22|", "EPRT |2|::1|10000|"):
            with self.assertRaisesRegex(ftplib.error_perm, "^501"):
                ftp.sendcmd(command)
        after = metric(self.server.metrics(), "ftpd_rejections_total", 'reason="bounce"')
        self.assertEqual(after - before, 7)
        self.assertTrue(ftp.sendcmd("PORT 127,0,0,1,39,16").startswith("200"))

    def test_passive_connection_from_another_address(self):
        ftp = self.connect()
        reply = ftp.sendcmd("EPSV")
        port = int(re.search(r"\|\|\|(\d+)\|", reply).group(1))
        thief = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0),
                                         timeout=10)
        self.addCleanup(thief.close)
        real = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.addCleanup(real.close)
        ftp.putcmd("RETR inside.txt")
        self.assertTrue(ftp.getresp().startswith("150"))
        self.assertEqual(real.recv(100), b"inside")
        self.assertTrue(ftp.voidresp().startswith("226"))
        self.assertEqual(thief.recv(100), b"")  # closed without data
        text = self.server.metrics()
        self.assertGreaterEqual(
            metric(text, "ftpd_rejections_total", 'reason="data_peer_mismatch"'), 1)

    def test_megabyte_command_line(self):
        before = rss_kib(self.server.proc.pid)
        sock = socket.create_connection((self.server.host, self.server.port), timeout=30)
        self.addCleanup(sock.close)
        f = sock.makefile("rb")
        self.assertTrue(read_reply(f).startswith("220"))
        for _ in range(3):
            sock.sendall(b"USER " + b"A" * (1024 * 1024) + b"\r\n")
            self.assertEqual(read_reply(f).strip(), "500 Command line too long.")
        sock.sendall(b"NOOP\r\n")
        self.assertTrue(read_reply(f).startswith("200"))
        # Memory stays bounded: the line is never buffered.
        self.assertLess(rss_kib(self.server.proc.pid) - before, 8 * 1024)

    def test_slowloris_cut_at_prelogin_timeout(self):
        sock = socket.create_connection((self.server.host, self.server.port), timeout=30)
        self.addCleanup(sock.close)
        f = sock.makefile("rb")
        self.assertTrue(read_reply(f).startswith("220"))
        start = time.monotonic()
        sock.settimeout(0.25)
        closed_reply = b""
        for byte in b"USER alice_trickling_in_slowly\r\n" * 10:
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            try:
                data = sock.recv(1000)
                if not data:
                    break
                closed_reply += data
                if b"421" in closed_reply:
                    break
            except socket.timeout:
                pass
            if time.monotonic() - start > 10:
                break
        elapsed = time.monotonic() - start
        self.assertIn(b"421 Login timeout", closed_reply)
        self.assertLess(elapsed, 6)

    def test_thousand_failed_logins(self):
        attacker = "127.0.0.2"

        def attack(_):
            results = []
            try:
                ftp = ftplib.FTP(source_address=(attacker, 0))
                ftp.connect(self.server.host, self.server.port, timeout=60)
                for _ in range(3):
                    start = time.monotonic()
                    try:
                        ftp.login("alice", "guess")
                        results.append(("ok", 0))
                    except ftplib.error_perm as e:
                        results.append((str(e)[:3], time.monotonic() - start))
                ftp.close()
            except (EOFError, OSError, ftplib.error_temp) as e:
                results.append(("closed", str(e)))
            return results

        with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
            futures = [pool.submit(attack, i) for i in range(334)]
            # While the attack runs, a legitimate user logs in promptly.
            time.sleep(0.5)
            start = time.monotonic()
            self.connect().voidcmd("NOOP")
            self.assertLess(time.monotonic() - start, 10)
            results = [r for f in futures for r in f.result()]
        codes = [code for code, _ in results]
        self.assertNotIn("ok", codes)
        self.assertGreaterEqual(codes.count("530"), 1000)
        # Every failure was delayed.
        self.assertTrue(all(delay >= 0.19 for code, delay in results if code == "530"))
        # The attacker's address is locked out: even the right password fails.
        ftp = ftplib.FTP(source_address=(attacker, 0))
        ftp.connect(self.server.host, self.server.port, timeout=30)
        self.addCleanup(ftp.close)
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            ftp.login("alice", "secret")
        text = self.server.metrics()
        self.assertGreaterEqual(metric(text, "ftpd_rejections_total", 'reason="lockout"'), 900)
        self.assertGreaterEqual(metric(text, "ftpd_logins_total", 'result="failed"'), 1000)

    def test_cut_transfers_never_replace_a_file(self):
        home = self.server.home()
        original = os.urandom(100000)
        with open(os.path.join(home, "keep.bin"), "wb") as f:
            f.write(original)
        # 1: ABOR in the middle of the upload.
        ftp = self.connect()
        conn = ftp.transfercmd("STOR keep.bin")
        conn.sendall(b"partial" * 1000)
        reply = ftp.abort()
        self.assertEqual(reply[:3], "426")
        self.assertEqual(ftp.getresp()[:3], "226")
        conn.close()
        # 2: the client dies: both connections reset at once (data first).
        ftp2 = self.connect()
        conn2 = ftp2.transfercmd("STOR keep.bin")
        conn2.sendall(b"partial" * 1000)
        linger = struct.pack("ii", 1, 0)
        for s in (conn2, ftp2.sock):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        ftp2.close()  # closes the socket's makefile() too, so the fd really closes
        conn2.close()
        # 3: the control connection closes, then the data connection ends.
        ftp3 = self.connect()
        conn3 = ftp3.transfercmd("STOR keep.bin")
        conn3.sendall(b"partial" * 1000)
        ftp3.close()
        time.sleep(0.2)
        conn3.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            leftovers = [n for n in os.listdir(home) if n.endswith(".part")]
            if not leftovers:
                break
            time.sleep(0.05)
        self.assertEqual(leftovers, [])
        with open(os.path.join(home, "keep.bin"), "rb") as f:
            self.assertEqual(f.read(), original)
        # A complete upload does replace it.
        ftp4 = self.connect()
        ftp4.storbinary("STOR keep.bin", io.BytesIO(b"complete"))
        with open(os.path.join(home, "keep.bin"), "rb") as f:
            self.assertEqual(f.read(), b"complete")

    def test_metrics(self):
        self.connect().voidcmd("NOOP")
        text = self.server.metrics()
        for name in ("ftpd_sessions_total", "ftpd_sessions ", 'ftpd_logins_total{result="ok"}',
                     'ftpd_replies_total{class="2xx"}', "ftpd_transfer_bytes_total",
                     'ftpd_transfers_total{direction="upload",result="ok"}',
                     'ftpd_rejections_total{reason="line_too_long"}'):
            self.assertIn(name, text)


class LimitsTest(unittest.TestCase):
    def test_sessions_per_ip_idle_timeout_and_throttled_transfer(self):
        with FtpdServer(FTPD, extra_args=[
                "--max-sessions-per-ip", "2", "--idle-timeout", "1s",
                "--bandwidth-limit", "200KiB", "--failed-login-delay", "0s"]) as server:
            with open(os.path.join(server.home(), "slow.bin"), "wb") as f:
                f.write(os.urandom(500 * 1024))
            a = ftplib.FTP()
            a.connect(server.host, server.port, timeout=30)
            a.login("alice", "secret")
            b = ftplib.FTP()
            b.connect(server.host, server.port, timeout=30)
            third = socket.create_connection((server.host, server.port), timeout=30)
            self.assertTrue(third.recv(200).startswith(b"421 Too many connections"))
            third.close()
            # A transfer longer than the idle timeout is not cut, and the
            # bandwidth limit holds.
            start = time.monotonic()
            out = io.BytesIO()
            a.retrbinary("RETR slow.bin", out.write)
            elapsed = time.monotonic() - start
            self.assertEqual(len(out.getvalue()), 500 * 1024)
            self.assertGreater(elapsed, 1.5)
            # Idle afterwards: closed with 421.
            time.sleep(1.5)
            with self.assertRaises((ftplib.error_temp, EOFError, OSError)) as raised:
                a.voidcmd("NOOP")
            if isinstance(raised.exception, ftplib.error_temp):
                self.assertIn("421", str(raised.exception))
            a.close()
            b.close()

    def test_user_bandwidth_is_shared_by_the_users_sessions(self):
        size = 300 * 1024
        with FtpdServer(FTPD, extra_args=["--user-bandwidth-limit", "200KiB"]) as server:
            with open(os.path.join(server.home(), "shared.bin"), "wb") as f:
                f.write(os.urandom(size))

            def download(_):
                ftp = ftplib.FTP()
                ftp.connect(server.host, server.port, timeout=30)
                ftp.login("alice", "secret")
                out = io.BytesIO()
                ftp.retrbinary("RETR shared.bin", out.write)
                ftp.quit()
                return len(out.getvalue())

            start = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                sizes = list(pool.map(download, range(2)))
            elapsed = time.monotonic() - start
            self.assertEqual(sizes, [size, size])
            # 600 KiB at 200 KiB/s between them: about 3 s (less a 0.1 s
            # burst), where each session alone at that rate would take 1.5 s.
            self.assertGreater(elapsed, 2.5)

    def test_max_sessions_and_data_timeout(self):
        with FtpdServer(FTPD, extra_args=["--max-sessions", "1", "--data-timeout", "1s"]) as server:
            with open(os.path.join(server.home(), "f.txt"), "wb") as f:
                f.write(b"data")
            ftp = ftplib.FTP()
            ftp.connect(server.host, server.port, timeout=30)
            ftp.login("alice", "secret")
            second = socket.create_connection((server.host, server.port), timeout=30)
            self.assertTrue(second.recv(200).startswith(b"421 Too many users"))
            second.close()
            # PASV, then RETR without ever connecting: 425 after the data timeout.
            ftp.sendcmd("EPSV")
            start = time.monotonic()
            with self.assertRaisesRegex(ftplib.error_temp, "^425"):
                ftp.sendcmd("RETR f.txt")
            self.assertGreaterEqual(time.monotonic() - start, 0.9)
            self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
            ftp.quit()


if __name__ == "__main__":
    FTPD = sys.argv.pop(1)
    unittest.main(verbosity=2)
