"""Drives the real ftpd with the command-line clients from Debian's archive:
curl, lftp and wget.

Usage: clients_test.py FTPD_BINARY (run by Bazel through run_python.sh).
"""

import filecmp
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftpd_harness import FtpdServer  # noqa: E402

FTPD = None


def run(args, **kwargs):
    """Runs a client; fails the test with its output if it fails."""
    result = subprocess.run(args, capture_output=True, timeout=120, **kwargs)
    if result.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s" % (
            args, result.returncode, result.stdout.decode(errors="replace"),
            result.stderr.decode(errors="replace")))
    return result.stdout


class ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FtpdServer(FTPD, tls=True).start()
        cls.url = "ftp://alice:secret@127.0.0.1:%d" % cls.server.port
        cls.home = cls.server.home()
        cls.work = os.path.join(cls.server.dir, "work")
        os.mkdir(cls.work)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def local(self, name, data=None):
        path = os.path.join(self.work, name)
        if data is not None:
            with open(path, "wb") as f:
                f.write(data)
        return path

    def read_home(self, name):
        with open(os.path.join(self.home, name), "rb") as f:
            return f.read()

    def test_curl(self):
        data = os.urandom(200000)
        src = self.local("curl_up.bin", data)
        run(["curl", "-sS", "-T", src, self.url + "/curl/up.bin", "--ftp-create-dirs"])
        self.assertEqual(self.read_home("curl/up.bin"), data)
        for mode in ([], ["--disable-epsv"], ["-P", "127.0.0.1"], ["-P", "127.0.0.1",
                                                                   "--disable-eprt"]):
            self.assertEqual(run(["curl", "-sS"] + mode + [self.url + "/curl/up.bin"]), data, mode)
        listing = run(["curl", "-sS", self.url + "/curl/"]).decode()
        self.assertRegex(listing, r"-rw-r--r-- +1 ftp +ftp +200000 .* up\.bin\r?\n")
        self.assertEqual(run(["curl", "-sS", "-l", self.url + "/curl/"]).decode().split(),
                         ["up.bin"])
        run(["curl", "-sS", "-o", "/dev/null", "-Q", "RNFR curl/up.bin", "-Q",
             "RNTO curl/renamed.bin", self.url + "/"])
        self.assertEqual(self.read_home("curl/renamed.bin"), data)
        run(["curl", "-sS", "-o", "/dev/null", "-Q", "MKD curl/newdir", self.url + "/"])
        self.assertTrue(os.path.isdir(os.path.join(self.home, "curl/newdir")))
        run(["curl", "-sS", "-o", "/dev/null", "-Q", "DELE curl/renamed.bin", "-Q",
             "RMD curl/newdir", self.url + "/"])
        self.assertEqual(os.listdir(os.path.join(self.home, "curl")), [])
        # A missing file is an error (RETR 550 -> curl exit 78).
        result = subprocess.run(["curl", "-sS", self.url + "/curl/missing"], capture_output=True,
                                timeout=60)
        self.assertEqual(result.returncode, 78, result.stderr)

    def test_curl_ftps(self):
        data = os.urandom(100000)
        src = self.local("tls_up.bin", data)
        run(["curl", "-sS", "--ssl-reqd", "-k", "-T", src, self.url + "/tls_up.bin"])
        self.assertEqual(self.read_home("tls_up.bin"), data)
        self.assertEqual(run(["curl", "-sS", "--ssl-reqd", "-k", self.url + "/tls_up.bin"]), data)
        self.assertIn(b"tls_up.bin", run(["curl", "-sS", "--ssl-reqd", "-k", self.url + "/"]))

    def test_wget(self):
        data = os.urandom(50000)
        with open(os.path.join(self.home, "wget.bin"), "wb") as f:
            f.write(data)
        out = self.local("wget.out")
        run(["wget", "-q", "-O", out, self.url + "/wget.bin"])
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data)

    def test_lftp_mirror_both_ways(self):
        tree = self.local("tree")
        for d in ("a", "a/b", "c"):
            os.makedirs(os.path.join(tree, d))
        for i, name in enumerate(("f1", "a/f2", "a/b/f3", "c/f4", "a/b/f5")):
            with open(os.path.join(tree, name), "wb") as f:
                f.write(os.urandom(1000 * (i + 1) * 37))
        commands = ("set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 20; "
                    "mirror -R --parallel=4 %s /mirror; mirror --parallel=4 /mirror %s; bye"
                    % (tree, self.local("back")))
        run(["lftp", "-u", "alice,secret", "-p", str(self.server.port), "-e", commands,
             "127.0.0.1"])
        for root in (os.path.join(self.home, "mirror"), self.local("back")):
            comparison = filecmp.dircmp(tree, root)
            self.assertEqual(self._differences(comparison), [], root)

    def test_lftp_parallel_get(self):
        names = []
        for i in range(8):
            name = "par%d.bin" % i
            with open(os.path.join(self.home, name), "wb") as f:
                f.write(os.urandom(300000))
            names.append(name)
        target = self.local("par")
        os.mkdir(target)
        commands = ("set ftp:ssl-allow no; set net:max-retries 1; set cmd:parallel 4; "
                    "lcd %s; mget -P 4 %s; bye" % (target, " ".join(names)))
        run(["lftp", "-u", "alice,secret", "-p", str(self.server.port), "-e", commands,
             "127.0.0.1"])
        for name in names:
            self.assertTrue(filecmp.cmp(os.path.join(self.home, name),
                                        os.path.join(target, name), shallow=False), name)

    def _differences(self, comparison):
        problems = comparison.left_only + comparison.right_only + comparison.funny_files
        _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right,
                                               comparison.common_files, shallow=False)
        problems += mismatch + errors
        for sub in comparison.subdirs.values():
            problems += self._differences(sub)
        return problems


if __name__ == "__main__":
    FTPD = sys.argv.pop(1)
    unittest.main(verbosity=2)
