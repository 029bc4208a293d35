#!/usr/bin/env python3
"""End to end: the hook authenticates storcon. EdDSA JWTs against storcon.hook_jwt_public_key_file
(with scope), a static token from storcon.hook_token_file, files re-read on reload, misconfiguration
failing closed, and no secret in the server log. Keys and tokens are made with the openssl CLI."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "a07a0000000000000000000000000001"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Keys:
    def __init__(self, d):
        self.priv = os.path.join(d, f"priv{id(self)}.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.priv], check=True)
        self.pub = subprocess.run(["openssl", "pkey", "-in", self.priv, "-pubout"], check=True,
                                  capture_output=True, text=True).stdout

    def token(self, claims, alg="EdDSA"):
        signing_input = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b64url(json.dumps(claims).encode())
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(self.priv)) as f:  # one-shot signing reads a file
            f.write(signing_input.encode())
            f.flush()
            sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", self.priv, "-rawin", "-in", f.name],
                                 check=True, capture_output=True).stdout
        return signing_input + "." + b64url(sig)


def body(node=1):
    return {"tenant_id": TENANT, "preferred_az": None, "stripe_size": None,
            "shards": [{"node_id": node, "shard_number": 0}]}


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pg_storcon_auth_keys_")
        cls.keys, cls.other = Keys(cls.tmp), Keys(cls.tmp)
        cls.sim = Simulator(args=["--seed-nodes", "3"])
        cls.port = free_port()
        cls.pg = Cluster("auth", settings={"storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port),
                                           "neon.tenant_id": f"'{TENANT}'", "storcon.hook_jwt_scope": "'compute_hook'"})
        cls.key_file = cls.pg.write_file("hook_key.pem", cls.keys.pub)
        cls.pg.append_conf({"storcon.hook_jwt_public_key_file": f"'{cls.key_file}'"})
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION pg_storcon")
        cls.url = f"http://127.0.0.1:{cls.port}"
        wait_until(lambda: http("GET", cls.url + "/healthz", timeout=2)[0] == 200, 20, what="hook")

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def put(self, token=None, header=None, node=1):
        headers = {"Authorization": header if header is not None else f"Bearer {token}"} if (token or header) else {}
        return http("PUT", self.url + "/notify-attach", body(node), headers=headers)[0]

    def test_1_jwt(self):
        now = int(time.time())
        good = self.keys.token({"scope": "compute_hook", "exp": now + 300})
        self.assertEqual(self.put(good), 200)
        self.assertEqual(self.put(self.keys.token({"scope": ["admin", "compute_hook"]}), node=2), 200)
        self.assertEqual(self.put(), 401)                                   # no header
        self.assertEqual(self.put(header="bearer " + good), 401)            # malformed
        self.assertEqual(self.put(header="Basic abc"), 401)
        self.assertEqual(self.put(self.other.token({"scope": "compute_hook"})), 403)  # another key
        self.assertEqual(self.put(self.keys.token({"scope": "admin"})), 403)          # wrong scope
        self.assertEqual(self.put(self.keys.token({"scope": "compute_hook", "exp": now - 3600})), 403)
        self.assertEqual(self.put(self.keys.token({"scope": "compute_hook"}, alg="none")), 403)
        self.assertEqual(self.put(self.keys.token({"scope": "compute_hook"}, alg="HS256")), 403)
        tampered = good.split(".")
        tampered[1] = b64url(json.dumps({"scope": "compute_hook", "exp": now + 9999}).encode())
        self.assertEqual(self.put(".".join(tampered)), 403)
        self.assertEqual(self.pg.psql("SHOW neon.pageserver_connstring"), "postgres://no_user@127.0.0.1:6402")
        # /healthz stays open; /status needs a token
        self.assertEqual(http("GET", self.url + "/healthz")[0], 200)
        self.assertEqual(http("GET", self.url + "/status")[0], 401)
        status, text = http("GET", self.url + "/status", headers={"Authorization": f"Bearer {good}"})
        self.assertEqual((status, json.loads(text)["auth"]), (200, "jwt"))

    def test_2_storcon_sends_its_token(self):
        token = self.keys.token({"scope": "compute_hook"})
        self.sim.call("POST", "/__sim/config", {"control_plane_url": self.url, "control_plane_token": token})
        status, _ = self.sim.call("POST", "/v1/tenant", {"new_tenant_id": TENANT})
        self.assertEqual(status, 201)
        out = [r for r in self.sim.requests() if r.get("direction") == "out"]
        self.assertEqual(out[-1]["status"], 200, out[-1])

    def test_3_static_token_after_reload_and_fail_closed(self):
        token_file = self.pg.write_file("hook_token", "s3cret-token-value\n")
        self.pg.psql("ALTER SYSTEM SET storcon.hook_jwt_public_key_file = ''")
        self.pg.psql(f"ALTER SYSTEM SET storcon.hook_token_file = '{token_file}'")
        self.pg.reload()
        wait_until(lambda: self.put("s3cret-token-value", node=3) == 200, 10, what="static token accepted")
        self.assertEqual(self.put("s3cret-token-valuX"), 403)
        self.assertEqual(self.put("s3cret-token-value-and-more"), 403)
        # a file that cannot be read: refused (503), never open
        self.pg.psql("ALTER SYSTEM SET storcon.hook_token_file = '/nonexistent/token'")
        self.pg.reload()
        wait_until(lambda: self.put("s3cret-token-value") == 503, 10, what="fail closed")
        self.assertEqual(http("GET", self.url + "/healthz")[0], 200)
        self.pg.psql(f"ALTER SYSTEM SET storcon.hook_token_file = '{token_file}'")
        self.pg.reload()
        wait_until(lambda: self.put("s3cret-token-value", node=1) == 200, 10, what="recovered")

    def test_4_no_secret_in_the_log_or_settings(self):
        log = self.pg.log()
        self.assertNotIn("s3cret-token-value", log)
        self.assertNotIn(self.keys.pub.splitlines()[1], log)
        self.assertIn("refused PUT /notify-attach", log)
        self.pg.psql("CREATE ROLE auth_probe")
        r = self.pg.psql("SET ROLE auth_probe; SHOW storcon.hook_token_file", check=False)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
