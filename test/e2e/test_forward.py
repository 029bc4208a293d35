#!/usr/bin/env python3
"""End to end: storcon calls one URL, so the compute that receives a notification forwards it to
the tenant's other computes (storcon.hook_forward_to) and answers 200 only when every RUNNING one
applied it. A compute that is stopped (the connection is refused) does not hold storcon back: it
reconciles when it starts. One that answers an error, or accepts and never answers, turns the answer
into 503 within the hook's deadline (storcon retries). Forwarded notifications are never forwarded
again, even when two hooks forward to each other."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, SilentPeer, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "f0000000000000000000000000000001"


def body(*nodes):
    return {"tenant_id": TENANT, "preferred_az": None, "stripe_size": 2048 if len(nodes) > 1 else None,
            "shards": [{"node_id": n, "shard_number": i} for i, n in enumerate(nodes)]}


def conn(*nodes):
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


class ForwardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "4"])
        cls.p_port, cls.r_port = free_port(), free_port()
        common = {"storcon.url": f"'{cls.sim.url}'", "neon.tenant_id": f"'{TENANT}'", "storcon.sync_interval": "0"}
        cls.replica = Cluster("fwd_replica", settings={**common, "storcon.hook_port": str(cls.r_port)})
        cls.primary = Cluster("fwd_primary", settings={
            **common, "storcon.hook_port": str(cls.p_port),
            "storcon.hook_forward_to": f"'http://127.0.0.1:{cls.r_port}/'"})
        for c in (cls.replica, cls.primary):
            c.start()
            c.psql("CREATE EXTENSION pg_storcon")
        cls.url = f"http://127.0.0.1:{cls.p_port}"
        cls.r_url = f"http://127.0.0.1:{cls.r_port}"
        for u in (cls.url, cls.r_url):
            wait_until(lambda: http("GET", u + "/healthz", timeout=2)[0] == 200, 20, what="hook")

    @classmethod
    def tearDownClass(cls):
        cls.primary.destroy()
        cls.replica.destroy()
        cls.sim.stop()

    def put(self, b):
        status, text = http("PUT", self.url + "/notify-attach", b, timeout=20)
        return status, json.loads(text)

    def test_1_both_updated_before_200(self):
        status, reply = self.put(body(1, 2))
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["forwarded"], [{"url": f"http://127.0.0.1:{self.r_port}/", "status": 200,
                                               "outcome": "ok"}])
        # no polling: both were in effect when storcon got its 200
        self.assertEqual(self.primary.psql("SHOW neon.pageserver_connstring"), conn(1, 2))
        self.assertEqual(self.replica.psql("SHOW neon.pageserver_connstring"), conn(1, 2))

    def test_2_stopped_replica_does_not_block_storcon(self):
        self.replica.stop()
        try:
            status, reply = self.put(body(3, 4))
            self.assertEqual(status, 200, reply)
            self.assertEqual(reply["forwarded"][0]["outcome"], "not_running")
            self.assertEqual(self.primary.psql("SHOW neon.pageserver_connstring"), conn(3, 4))
        finally:
            self.replica.start()
        wait_until(lambda: http("GET", self.r_url + "/healthz", timeout=2)[0] == 200, 20, what="replica hook")
        status, reply = self.put(body(4, 3))
        self.assertEqual(status, 200, reply)
        self.assertEqual(self.replica.psql("SHOW neon.pageserver_connstring"), conn(4, 3))

    def test_5_running_replica_answering_an_error_fails_the_notification(self):
        # The replica requires a token the primary does not send: 401 from a running compute.
        token = self.replica.write_file("hook.token", "secret\n")
        self.replica.psql(f"ALTER SYSTEM SET storcon.hook_token_file = '{token}'")
        self.replica.reload()
        wait_until(lambda: http("GET", self.r_url + "/status", timeout=2)[0] == 401, 10, what="replica auth")
        try:
            status, reply = self.put(body(1, 3))
            self.assertEqual(status, 503, reply)
            self.assertIn("not every compute", reply["msg"])
            self.assertEqual(reply["forwarded"][0]["outcome"], "failed")
            self.assertEqual(reply["forwarded"][0]["status"], 401)
        finally:
            self.replica.psql("ALTER SYSTEM RESET storcon.hook_token_file")
            self.replica.reload()

    def test_6_a_compute_that_never_answers_fails_within_the_deadline(self):
        # Accepts the connection, reads, never answers: the primary answers 503 before storcon's 10 s.
        silent = SilentPeer()
        url = silent.url
        self.primary.psql(f"ALTER SYSTEM SET storcon.hook_forward_to = '{url}'")
        self.primary.reload()
        time.sleep(0.3)
        try:
            started = time.monotonic()
            status, reply = self.put(body(2, 4))
            took = time.monotonic() - started
            self.assertEqual(status, 503, reply)
            self.assertLess(took, 10.0)  # storcon gives a call 10 s (a protocol limit, not a speed test)
            self.assertEqual(reply["forwarded"][0]["outcome"], "failed")
            self.assertEqual(self.primary.psql("SHOW neon.pageserver_connstring"), conn(2, 4))
        finally:
            silent.close()
            self.primary.psql(f"ALTER SYSTEM SET storcon.hook_forward_to = 'http://127.0.0.1:{self.r_port}/'")
            self.primary.reload()

    def test_3_no_forwarding_loops(self):
        self.replica.psql(f"ALTER SYSTEM SET storcon.hook_forward_to = 'http://127.0.0.1:{self.p_port}'")
        self.replica.reload()
        try:
            before = json.loads(http("GET", self.url + "/status")[1])["requests"]["notify-attach"]["200"]
            status, reply = self.put(body(2, 1))
            self.assertEqual(status, 200, reply)
            after = json.loads(http("GET", self.url + "/status")[1])["requests"]["notify-attach"]["200"]
            self.assertEqual(after, before + 1)  # the replica did not send it back
            self.assertEqual(self.replica.psql("SHOW neon.pageserver_connstring"), conn(2, 1))
        finally:
            self.replica.psql("ALTER SYSTEM RESET storcon.hook_forward_to")
            self.replica.reload()

    def test_4_bad_forward_url_is_refused(self):
        r = self.primary.psql("ALTER SYSTEM SET storcon.hook_forward_to = 'replica:3000'", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("must start with http://", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
