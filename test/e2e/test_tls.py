#!/usr/bin/env python3
"""End to end: TLS both ways. The hook serves HTTPS (storcon.hook_tls_cert_file / _key_file) and
storcon (the simulator over HTTPS) reaches it with its CA; calls to an https:// storcon are verified
against storcon.ca_file. A throw-away CA and certificates are made with the openssl CLI."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, wait_until  # noqa: E402

TENANT = "7150000000000000000000000000000a"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=pg_storcon test CA", cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "1", "-extfile", "san.ext", cwd=d)
    return {n: os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key")}


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pg_storcon_tls_")
        cls.pki = make_pki(cls.tmp)
        cls.sim = Simulator(args=["--seed-nodes", "2", "--tls-cert", cls.pki["server.pem"],
                                  "--tls-key", cls.pki["server.key"], "--control-plane-ca-file", cls.pki["ca.pem"]])
        cls.sim_url = f"https://127.0.0.1:{cls.sim.port}"
        cls.port = free_port()
        cls.pg = Cluster("tls", settings={"storcon.hook_port": str(cls.port), "neon.tenant_id": f"'{TENANT}'",
                                          "storcon.sync_interval": "0"})
        with open(cls.pki["server.key"]) as f:
            key = cls.pg.write_file("hook.key", f.read())
        with open(cls.pki["server.pem"]) as f:
            cert = cls.pg.write_file("hook.pem", f.read(), mode=0o644)
        with open(cls.pki["ca.pem"]) as f:
            ca = cls.pg.write_file("ca.pem", f.read(), mode=0o644)
        cls.pg.append_conf({"storcon.url": f"'{cls.sim_url}'", "storcon.ca_file": f"'{ca}'",
                            "storcon.hook_tls_cert_file": f"'{cert}'", "storcon.hook_tls_key_file": f"'{key}'"})
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION pg_storcon")
        cls.ctx = ssl.create_default_context(cafile=cls.pki["ca.pem"])
        cls.hook = f"https://127.0.0.1:{cls.port}"
        wait_until(lambda: cls.get("/healthz")[0] == 200, 20, what="https hook")

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def get(cls, path):
        with urllib.request.urlopen(cls.hook + path, context=cls.ctx, timeout=5) as r:
            return r.status, r.read().decode()

    def test_1_sql_calls_verify_storcon(self):
        self.assertEqual(self.pg.psql("SELECT nodes FROM storcon.sync_catalog()"), "2")
        r = self.pg.psql("SET storcon.ca_file = ''; SELECT * FROM storcon.sync_catalog()", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("certificate", r.stderr)

    def test_2_hook_serves_https_only(self):
        status, text = self.get("/healthz")
        self.assertEqual((status, json.loads(text)["status"]), (200, "ok"))
        with self.assertRaises(Exception):
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5).read()

    def test_3_storcon_notifies_the_https_hook(self):
        self.sim.call("POST", "/__sim/config", {"control_plane_url": self.hook})
        status, _ = self.sim.call("POST", "/v1/tenant", {"new_tenant_id": TENANT})
        self.assertEqual(status, 201)
        out = [r for r in self.sim.requests() if r.get("direction") == "out"]
        self.assertEqual(out[-1]["status"], 200, out[-1])
        self.pg.poll("SELECT current_setting('neon.pageserver_connstring') <> ''", "t")

    def test_4_reconcile_with_an_https_hook(self):
        # storcon.reconcile() reaches the worker through shared memory, whatever the hook serves:
        # a drifted connstring is put back to storcon's placement (created by test_3).
        want = self.pg.psql("SHOW neon.pageserver_connstring")
        self.assertNotEqual(want, "")
        self.pg.psql("ALTER SYSTEM SET neon.pageserver_connstring = 'postgres://no_user@127.0.0.1:1'")
        self.pg.reload()
        self.pg.poll("SHOW neon.pageserver_connstring", "postgres://no_user@127.0.0.1:1")
        rows = self.pg.psql("SELECT setting || '|' || new_value FROM storcon.reconcile()")
        self.assertEqual(rows, f"neon.pageserver_connstring|{want}")
        self.pg.poll("SHOW neon.pageserver_connstring", want)


if __name__ == "__main__":
    unittest.main(verbosity=2)
