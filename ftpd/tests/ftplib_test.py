"""Drives the real ftpd with Python's ftplib: every command of the server.

Usage: ftplib_test.py FTPD_BINARY (run by Bazel through run_python.sh).
"""

import ftplib
import io
import os
import random
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftpd_harness import FtpdServer  # noqa: E402

FTPD = None


class FtplibTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FtpdServer(FTPD, users={
            "alice": ("secret", "/alice", "all"),
            "reader": ("readpw", "/alice", "read"),
        }, tls=True, extra_args=["--failed-login-delay", "10ms"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def connect(self, user="alice", password="secret"):
        ftp = ftplib.FTP()
        ftp.connect(self.server.host, self.server.port, timeout=20)
        ftp.login(user, password)
        self.addCleanup(ftp.close)
        return ftp

    def put(self, ftp, name, data):
        return ftp.storbinary("STOR " + name, io.BytesIO(data))

    def get(self, ftp, name):
        out = io.BytesIO()
        ftp.retrbinary("RETR " + name, out.write)
        return out.getvalue()

    def test_greeting_syst_noop_help_feat_site(self):
        ftp = self.connect()
        self.assertTrue(ftp.getwelcome().startswith("220"))
        self.assertEqual(ftp.sendcmd("SYST"), "215 UNIX Type: L8")
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        self.assertTrue(ftp.sendcmd("HELP").startswith("214"))
        feat = ftp.sendcmd("FEAT")
        for feature in ("EPSV", "MLST type*;", "REST STREAM", "SIZE", "MDTM", "UTF8", "AUTH TLS"):
            self.assertIn(feature, feat)
        self.assertEqual(ftp.sendcmd("OPTS UTF8 ON")[:3], "200")
        self.assertTrue(ftp.sendcmd("SITE HELP").startswith("214"))
        with self.assertRaisesRegex(ftplib.error_perm, "^504"):
            ftp.sendcmd("SITE CHMOD 777 x")
        with self.assertRaisesRegex(ftplib.error_perm, "^500"):
            ftp.sendcmd("BOGUS")
        self.assertEqual(ftp.sendcmd("MODE S")[:3], "200")
        self.assertEqual(ftp.sendcmd("STRU F")[:3], "200")
        with self.assertRaisesRegex(ftplib.error_perm, "^504"):
            ftp.sendcmd("MODE B")
        self.assertEqual(ftp.sendcmd("ALLO 100")[:3], "202")
        self.assertEqual(ftp.sendcmd("ACCT x")[:3], "202")

    def test_login_errors(self):
        ftp = ftplib.FTP()
        ftp.connect(self.server.host, self.server.port, timeout=20)
        self.addCleanup(ftp.close)
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            ftp.sendcmd("PWD")
        with self.assertRaisesRegex(ftplib.error_perm, "^503"):
            ftp.sendcmd("PASS x")
        with self.assertRaisesRegex(ftplib.error_perm, "^530 Login incorrect"):
            ftp.login("alice", "wrong")
        with self.assertRaisesRegex(ftplib.error_perm, "^530 Login incorrect"):
            ftp.login("nosuchuser", "x")
        # Anonymous access is off by default.
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            ftp.login("anonymous", "a@b")

    def test_directories(self):
        ftp = self.connect()
        self.assertEqual(ftp.pwd(), "/")
        self.assertEqual(ftp.mkd("dir1"), "/dir1")
        ftp.cwd("dir1")
        self.assertEqual(ftp.pwd(), "/dir1")
        self.assertEqual(ftp.sendcmd("XPWD"), '257 "/dir1" is the current directory.')
        ftp.sendcmd("CDUP")
        self.assertEqual(ftp.pwd(), "/")
        ftp.sendcmd("XMKD dir2")
        ftp.sendcmd("XCWD dir2")
        ftp.sendcmd("XCUP")
        ftp.sendcmd("XRMD dir2")
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            ftp.cwd("nonexistent")
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            ftp.mkd("dir1")
        self.assertEqual(ftp.mkd('with "quote"'), '/with "quote"')
        ftp.rmd('with "quote"')
        ftp.rmd("dir1")

    def test_store_retrieve_list(self):
        ftp = self.connect()
        data = os.urandom(300000)
        self.assertTrue(self.put(ftp, "big.bin", data).startswith("226"))
        self.assertEqual(self.get(ftp, "big.bin"), data)
        self.assertEqual(ftp.size("big.bin"), len(data))
        self.assertIn("big.bin", ftp.nlst())
        lines = []
        ftp.retrlines("LIST", lines.append)
        self.assertTrue(any(line.startswith("-rw") and line.endswith(" big.bin") for line in lines),
                        lines)
        lines = []
        ftp.retrlines("LIST -la big.bin", lines.append)
        self.assertEqual(len(lines), 1)
        facts = dict(ftp.mlsd())
        self.assertEqual(facts["big.bin"]["type"], "file")
        self.assertEqual(facts["big.bin"]["size"], str(len(data)))
        self.assertIn("unique", facts["big.bin"])
        mlst = ftp.sendcmd("MLST big.bin")
        self.assertTrue(mlst.startswith("250-"), mlst)
        self.assertIn("size=%d;" % len(data), mlst)
        self.assertIn(" /big.bin", mlst)
        mdtm = ftp.sendcmd("MDTM big.bin")
        self.assertRegex(mdtm, r"^213 \d{14}$")
        self.assertEqual(ftp.sendcmd("MFMT 20200102030405 big.bin"),
                         "213 Modify=20200102030405; big.bin")
        self.assertEqual(ftp.sendcmd("MDTM big.bin"), "213 20200102030405")
        ftp.delete("big.bin")
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            ftp.size("big.bin")

    def test_ascii_mode(self):
        ftp = self.connect()
        ftp.storlines("STOR text.txt", io.BytesIO(b"line1\nline2\n"))
        with open(os.path.join(self.server.home(), "text.txt"), "rb") as f:
            self.assertEqual(f.read(), b"line1\nline2\n")
        lines = []
        ftp.retrlines("RETR text.txt", lines.append)
        self.assertEqual(lines, ["line1", "line2"])
        ftp.voidcmd("TYPE A")
        with self.assertRaisesRegex(ftplib.error_perm, "^550 SIZE not allowed in ASCII mode"):
            ftp.sendcmd("SIZE text.txt")
        ftp.voidcmd("TYPE I")
        self.assertEqual(ftp.size("text.txt"), 12)

    def test_rest_append_stou_rename(self):
        ftp = self.connect()
        data = bytes(range(256)) * 100
        self.put(ftp, "r.bin", data)
        out = io.BytesIO()
        ftp.retrbinary("RETR r.bin", out.write, rest=1000)
        self.assertEqual(out.getvalue(), data[1000:])
        # REST + STOR writes at the offset (RFC 3659 REST STREAM).
        ftp.storbinary("STOR r.bin", io.BytesIO(b"XYZ"), rest=10)
        expected = data[:10] + b"XYZ" + data[13:]
        self.assertEqual(self.get(ftp, "r.bin"), expected)
        ftp.storbinary("APPE r.bin", io.BytesIO(b"tail"))
        self.assertEqual(self.get(ftp, "r.bin"), expected + b"tail")
        conn, _ = ftp.ntransfercmd("STOU")
        conn.sendall(b"unique data")
        conn.close()
        reply = ftp.voidresp()
        self.assertTrue(reply.startswith("226"), reply)
        name = reply.split("stored as ")[1].rstrip(".")
        self.assertEqual(self.get(ftp, name), b"unique data")
        self.assertTrue(ftp.rename("r.bin", "s.bin").startswith("250"))
        self.assertEqual(self.get(ftp, "s.bin"), expected + b"tail")
        with self.assertRaisesRegex(ftplib.error_perm, "^503"):
            ftp.sendcmd("RNTO x")
        with self.assertRaisesRegex(ftplib.error_perm, "^554"):
            ftp.retrbinary("RETR s.bin", lambda b: None, rest=10 ** 9)

    def test_passive_and_active_modes(self):
        ftp = self.connect()
        self.put(ftp, "m.bin", b"m" * 5000)
        for passive in (True, False):
            ftp.set_pasv(passive)
            self.assertEqual(self.get(ftp, "m.bin"), b"m" * 5000)
        ftp.set_pasv(True)
        self.assertTrue(ftp.sendcmd("PASV").startswith("227 Entering Passive Mode (127,0,0,1,"))
        self.assertRegex(ftp.sendcmd("EPSV"), r"^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)$")
        # EPRT (ftplib uses it on IPv6 only) by hand.
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        port = listener.getsockname()[1]
        self.assertTrue(ftp.sendcmd("EPRT |1|127.0.0.1|%d|" % port).startswith("200"))
        ftp.putcmd("RETR m.bin")
        conn, _ = listener.accept()
        self.assertTrue(ftp.getresp().startswith("150"))
        received = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        conn.close()
        self.assertTrue(ftp.voidresp().startswith("226"))
        self.assertEqual(received, b"m" * 5000)
        with self.assertRaisesRegex(ftplib.error_perm, "^522"):
            ftp.sendcmd("EPRT |3|x|1|")
        self.assertTrue(ftp.sendcmd("EPSV ALL").startswith("200"))
        with self.assertRaisesRegex(ftplib.error_perm, "^501"):
            ftp.sendcmd("PASV")
        with self.assertRaisesRegex(ftplib.error_perm, "^501"):
            ftp.sendcmd("PORT 127,0,0,1,200,10")
        ftp.af = socket.AF_INET6  # makes ftplib use EPSV instead of PASV
        self.assertEqual(self.get(ftp, "m.bin"), b"m" * 5000)

    def test_abort_during_transfer(self):
        ftp = self.connect()
        size = 64 * 1024 * 1024
        with open(os.path.join(self.server.home(), "huge.bin"), "wb") as f:
            f.truncate(size)
        conn = ftp.transfercmd("RETR huge.bin")
        conn.recv(4096)
        # STAT during the transfer reports progress on the control connection.
        status = ftp.sendcmd("STAT")
        self.assertTrue(status.startswith("213 Transfer in progress"), status)
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        reply = ftp.abort()
        self.assertEqual(reply[:3], "426")
        self.assertEqual(ftp.getresp()[:3], "226")
        conn.close()
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        # ABOR with nothing running.
        self.assertEqual(ftp.abort()[:3], "225")

    def test_stat_with_path_and_rein(self):
        ftp = self.connect()
        self.put(ftp, "st.txt", b"abc")
        status = ftp.sendcmd("STAT")
        self.assertTrue(status.startswith("211-"), status)
        self.assertIn("Logged in as alice", status)
        listing = ftp.sendcmd("STAT st.txt")
        self.assertTrue(listing.startswith("213-"), listing)
        self.assertIn(" st.txt", listing)
        self.assertTrue(ftp.sendcmd("REIN").startswith("220"))
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            ftp.sendcmd("PWD")
        ftp.login("alice", "secret")
        self.assertEqual(ftp.pwd(), "/")

    def test_permissions(self):
        writer = self.connect()
        self.put(writer, "ro.txt", b"read me")
        ftp = self.connect("reader", "readpw")
        self.assertEqual(self.get(ftp, "ro.txt"), b"read me")
        for command in ("STOR ro2.txt", "APPE ro.txt"):
            with self.assertRaisesRegex(ftplib.error_perm, "^550 Permission denied"):
                ftp.storbinary(command, io.BytesIO(b"x"))
        for command in ("DELE ro.txt", "MKD d", "RMD d", "RNFR ro.txt",
                        "MFMT 20200101000000 ro.txt"):
            with self.assertRaisesRegex(ftplib.error_perm, "^550"):
                ftp.sendcmd(command)
        self.assertEqual(self.get(ftp, "ro.txt"), b"read me")

    def test_ftps(self):
        class ReusingFTP_TLS(ftplib.FTP_TLS):
            """FTP_TLS that resumes the control session on data connections,
            as curl and lftp do (Python's own FTP_TLS does not)."""

            def ntransfercmd(self, cmd, rest=None):
                conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
                if self._prot_p:
                    conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                                    session=self.sock.session)
                return conn, size

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ftp = ReusingFTP_TLS(context=context)
        ftp.connect(self.server.host, self.server.port, timeout=20)
        self.addCleanup(ftp.close)
        ftp.auth()
        ftp.login("alice", "secret")
        ftp.prot_p()
        self.put(ftp, "tls.bin", b"secret data" * 1000)
        self.assertEqual(self.get(ftp, "tls.bin"), b"secret data" * 1000)
        self.assertIn("tls.bin", ftp.nlst())
        ftp.prot_c()
        self.assertEqual(self.get(ftp, "tls.bin"), b"secret data" * 1000)
        ftp.prot_p()

        # Python's own FTP_TLS does not reuse the session: refused (522).
        plain = ftplib.FTP_TLS(context=context)
        plain.connect(self.server.host, self.server.port, timeout=20)
        self.addCleanup(plain.close)
        plain.login("alice", "secret")
        plain.prot_p()
        with self.assertRaises((ftplib.error_perm, ssl.SSLError, OSError)) as raised:
            self.get(plain, "tls.bin")
        if isinstance(raised.exception, ftplib.error_perm):
            self.assertTrue(str(raised.exception).startswith("522"), raised.exception)

    def test_xferlog(self):
        ftp = self.connect()
        self.put(ftp, "logged.bin", b"12345")
        self.get(ftp, "logged.bin")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(self.server.xferlog) as f:
                lines = [l for l in f.read().splitlines() if " /logged.bin " in l]
            if len(lines) >= 2:
                break
            time.sleep(0.05)
        self.assertRegex(lines[0], r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \d+ 127\.0\.0\.1 5 "
                                   r"/logged\.bin b _ i r alice ftp 0 \* c$")
        self.assertIn(" b _ o r alice ftp 0 * c", lines[1])


class AnonymousTest(unittest.TestCase):
    def test_read_only_with_upload_area(self):
        server = FtpdServer(FTPD, users={}, extra_args=[
            "--anonymous", "--anonymous-root", "/pub", "--anonymous-upload-dir", "/incoming"])
        os.makedirs(os.path.join(server.root, "pub", "incoming"))
        with open(os.path.join(server.root, "pub", "readme.txt"), "wb") as f:
            f.write(b"public")
        with server:
            ftp = ftplib.FTP()
            ftp.connect(server.host, server.port, timeout=20)
            self.addCleanup(ftp.close)
            # Without a users file only anonymous logins work.
            with self.assertRaisesRegex(ftplib.error_perm, "^530"):
                ftp.login("alice", "secret")
            ftp.login("anonymous", "me@example.com")
            out = io.BytesIO()
            ftp.retrbinary("RETR readme.txt", out.write)
            self.assertEqual(out.getvalue(), b"public")
            for command in ("STOR new.txt", "APPE readme.txt", "STOR readme.txt"):
                with self.assertRaisesRegex(ftplib.error_perm, "^550"):
                    ftp.storbinary(command, io.BytesIO(b"x"))
            for command in ("DELE readme.txt", "MKD d", "RNFR readme.txt"):
                with self.assertRaisesRegex(ftplib.error_perm, "^550"):
                    ftp.sendcmd(command)
            ftp.storbinary("STOR incoming/drop.txt", io.BytesIO(b"dropped"))
            with open(os.path.join(server.root, "pub", "incoming", "drop.txt"), "rb") as f:
                self.assertEqual(f.read(), b"dropped")
            # Uploads never replace one another, nor are they served back.
            with self.assertRaisesRegex(ftplib.error_perm, "^550"):
                ftp.storbinary("STOR incoming/drop.txt", io.BytesIO(b"overwrite"))
            # The refused upload left nothing behind (no temporary file).
            self.assertEqual(os.listdir(os.path.join(server.root, "pub", "incoming")),
                             ["drop.txt"])
            with self.assertRaisesRegex(ftplib.error_perm, "^550"):
                ftp.retrbinary("RETR incoming/drop.txt", lambda b: None)
            ftp.quit()


def free_port_run(count):
    """`count` consecutive ports on 127.0.0.1 that can be listened on now.

    Below the kernel's ephemeral range: outgoing connections of the tests and
    load generators sharing this machine (and their TIME_WAIT sockets) take
    ephemeral ports at random, and would break the expected rotation.
    """
    rng = random.Random()
    for _ in range(100):
        first = rng.randrange(10000, 30000 - count)
        held = []
        try:
            for port in range(first, first + count):
                held.append(socket.create_server(("127.0.0.1", port)))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise AssertionError("found no %d consecutive free ports in 10000-30000" % count)


def epsv_port(ftp):
    reply = ftp.sendcmd("EPSV")
    return int(reply.split("|")[3])


class PassivePortsTest(unittest.TestCase):
    """--passive-ports: passive listeners take the range's ports in turn."""

    def test_ports_rotate_through_the_range(self):
        first = free_port_run(3)
        args = ["--passive-ports", "%d-%d" % (first, first + 2)]
        with FtpdServer(FTPD, extra_args=args) as server:
            ftp = ftplib.FTP()
            ftp.connect(server.host, server.port, timeout=20)
            ftp.login("alice", "secret")
            ftp.storbinary("STOR f.bin", io.BytesIO(b"f" * 1024))
            ports = [epsv_port(ftp) for _ in range(6)]
            for port in ports:
                self.assertIn(port, range(first, first + 3))
            for before, after in zip(ports, ports[1:]):
                self.assertEqual(after, first + (before - first + 1) % 3, ports)
            # 30 downloads over 3 ports: the server closes each data connection
            # first, so every port is taken again while its last connection is
            # still in TIME_WAIT.
            for _ in range(30):
                out = io.BytesIO()
                ftp.retrbinary("RETR f.bin", out.write)
                self.assertEqual(out.getvalue(), b"f" * 1024)
            ftp.quit()

    def test_default_is_the_kernel_ephemeral_range(self):
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        with FtpdServer(FTPD) as server:
            ftp = ftplib.FTP()
            ftp.connect(server.host, server.port, timeout=20)
            ftp.login("alice", "secret")
            for _ in range(3):
                self.assertIn(epsv_port(ftp), range(low, high + 1))
            ftp.quit()

    def test_bad_range_is_a_usage_error(self):
        base = os.environ.get("TEST_TMPDIR") or "/tmp"
        for bad in ("80-90", "50000", "50001-50000", "1024-70000"):
            result = subprocess.run(
                [FTPD, "--listen", "127.0.0.1:0", "--root", base, "--passive-ports", bad],
                capture_output=True, timeout=30)
            self.assertEqual(result.returncode, 2, bad)
            self.assertIn(("--passive-ports: expected MIN-MAX with 1024 <= MIN <= MAX <= 65535, "
                           "got '%s'" % bad).encode(), result.stderr)


if __name__ == "__main__":
    FTPD = sys.argv.pop(1)
    unittest.main(verbosity=2)
