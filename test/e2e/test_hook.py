#!/usr/bin/env python3
"""End to end: storcon's notify-attach into a real postmaster through the pg_storcon hook worker,
with the neon stand-in recording the shard map the postmaster would route with."""
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "1f359dd625e519a1a4e8d7509690f6fc"
OTHER = "00000000000000000000000000000001"


def body(nodes, stripe=2048, tenant=TENANT):
    return {"tenant_id": tenant, "preferred_az": "az-1",
            "stripe_size": stripe if len(nodes) > 1 else None,
            "shards": [{"node_id": n, "shard_number": i} for i, n in enumerate(nodes)]}


def conn(*nodes):
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


class HookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "4"])
        cls.port = free_port()
        cls.pg = Cluster("hook", settings={
            "storcon.url": f"'{cls.sim.url}'",
            "storcon.hook_port": str(cls.port),
            "storcon.hook_apply_timeout": "'3s'",
            "neon.tenant_id": f"'{TENANT}'",
        })
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION neon_stub; CREATE EXTENSION pg_storcon")
        cls.url = f"http://127.0.0.1:{cls.port}"

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()

    def put(self, b, path="/notify-attach", **kw):
        status, text = http("PUT", self.url + path, b, **kw)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def wait_hook(self):
        wait_until(lambda: http("GET", self.url + "/healthz", timeout=2)[0] == 200, 30, what="hook up")

    def show(self, name):
        return self.pg.psql(f"SHOW {name}")

    def shard_map(self):
        row = self.pg.psql("SELECT num_shards, stripe_size, connstring FROM neon_stub_shard_map()")
        n, stripe, cs = row.split("|", 2)
        return int(n), int(stripe), cs

    def test_01_unsharded_attach(self):
        status, reply = self.put(body([1]))
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["status"], "applied")
        self.assertEqual(reply["pageserver_connstring"], conn(1))
        self.assertIsNone(reply["stripe_size"])
        # in effect for a brand-new session, and in the postmaster's shard map
        self.assertEqual(self.show("neon.pageserver_connstring"), conn(1))
        self.assertEqual(self.shard_map()[0], 1)
        self.assertIn(f"neon.pageserver_connstring = '{conn(1)}'".encode(), self.pg.auto_conf())

    def test_02_four_shards_stripe_before_connstring(self):
        status, reply = self.put(body([1, 2, 3, 4], stripe=2048))
        self.assertEqual(status, 200, reply)
        self.assertEqual(self.shard_map(), (4, 2048, conn(1, 2, 3, 4)))
        text = self.pg.auto_conf().decode()
        self.assertLess(text.index("neon.stripe_size = '2048'"), text.index("neon.pageserver_connstring"))

    def test_03_split_2_to_4_with_new_stripe(self):
        self.assertEqual(self.put(body([1, 2], stripe=2048))[0], 200)
        self.assertEqual(self.shard_map(), (2, 2048, conn(1, 2)))
        status, reply = self.put(body([1, 2, 1, 2], stripe=8192))
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["stripe_size"], 8192)
        # The postmaster built the 4-shard map with the NEW stripe size: no record ever paired the
        # new map with the old stripe.
        self.assertEqual(self.shard_map(), (4, 8192, conn(1, 2, 1, 2)))
        history = self.pg.psql("SELECT num_shards || ':' || stripe_size FROM neon_stub_shard_map_history() "
                               f"WHERE connstring = '{conn(1, 2, 1, 2)}'").split()
        self.assertEqual(history, ["4:8192"])
        self.assertEqual(self.show("neon.stripe_size"), "64MB")  # 8192 pages of 8 KiB

    def test_04_single_shard_migration(self):
        self.assertEqual(self.put(body([1, 2, 3, 4]))[0], 200)
        self.assertEqual(self.put(body([1, 2, 4, 4]))[0], 200)
        self.assertEqual(self.shard_map(), (4, 2048, conn(1, 2, 4, 4)))

    def test_05_same_body_again_is_a_noop(self):
        self.assertEqual(self.put(body([2, 3]))[0], 200)
        before = self.pg.auto_conf()
        mtime = os.stat(self.pg.path("postgresql.auto.conf")).st_mtime_ns
        status, reply = self.put(body([2, 3]))
        self.assertEqual((status, reply["status"]), (200, "unchanged"))
        self.assertEqual(self.pg.auto_conf(), before)
        self.assertEqual(os.stat(self.pg.path("postgresql.auto.conf")).st_mtime_ns, mtime)

    def test_06_unknown_node_resolved_by_refresh(self):
        status, _ = self.sim.call("POST", "/control/v1/node", {
            "node_id": 9, "listen_pg_addr": "127.0.0.9", "listen_pg_port": 6409,
            "listen_http_addr": "127.0.0.9", "listen_http_port": 9809, "availability_zone_id": "az-1"})
        self.assertEqual(status, 200)
        self.sim.clear_requests()
        status, reply = self.put(body([1, 9]))
        self.assertEqual(status, 200, reply)
        self.assertEqual(self.show("neon.pageserver_connstring"),
                         "postgres://no_user@127.0.0.1:6401,postgres://no_user@127.0.0.9:6409")
        self.assertIn(("GET", "/control/v1/node"), [(r["method"], r["path"]) for r in self.sim.requests()])
        # ... and the refresh kept the mirror table in step
        self.assertEqual(self.pg.psql("SELECT listen_pg_addr FROM storcon.nodes WHERE node_id = 9"), "127.0.0.9")

    def test_07_node_unknown_to_storcon_is_503_and_changes_nothing(self):
        self.assertEqual(self.put(body([1, 2]))[0], 200)
        before = self.pg.auto_conf()
        status, reply = self.put(body([1, 42]))
        self.assertEqual(status, 503)
        self.assertIn("42", reply["msg"])
        self.assertEqual(self.pg.auto_conf(), before)

    def test_08_storcon_down_during_refresh_is_503(self):
        before = self.pg.auto_conf()
        self.sim.fault(path_prefix="/control/v1/node", status=500, times=1)
        status, reply = self.put(body([1, 77]))
        self.assertEqual(status, 503, reply)
        self.assertEqual(self.pg.auto_conf(), before)
        self.sim.clear_faults()

    def test_09_bad_requests_change_nothing(self):
        self.assertEqual(self.put(body([3]))[0], 200)
        before = self.pg.auto_conf()
        bad = [b"{", b"[]", b"null",
               json.dumps({"tenant_id": TENANT, "stripe_size": None, "shards": []}).encode(),
               json.dumps({"tenant_id": "zz", "stripe_size": None, "shards": [{"node_id": 1, "shard_number": 0}]}).encode(),
               json.dumps({"tenant_id": TENANT, "stripe_size": 8,
                           "shards": [{"node_id": 1, "shard_number": 0}, {"node_id": 2, "shard_number": 0}]}).encode(),
               json.dumps({"tenant_id": TENANT, "stripe_size": None,
                           "shards": [{"node_id": "1", "shard_number": 0}]}).encode()]
        for raw in bad:
            status, _ = http("PUT", self.url + "/notify-attach", raw=raw)
            self.assertEqual(status, 400, raw)
        self.assertEqual(http("GET", self.url + "/notify-attach")[0], 405)
        self.assertEqual(http("PUT", self.url + "/healthz", raw=b"{}")[0], 405)
        self.assertEqual(http("GET", self.url + "/nope")[0], 404)
        self.assertEqual(http("PUT", self.url + "/notify-attach", raw=b" " * (64 * 1024 + 1))[0], 413)
        self.assertEqual(self.pg.auto_conf(), before)

    def test_10_foreign_tenant_is_200_without_change(self):
        before = self.pg.auto_conf()
        status, reply = self.put(body([1], tenant=OTHER))
        self.assertEqual((status, reply["status"]), (200, "not_hosted"))
        self.assertEqual(self.pg.auto_conf(), before)

    def test_11_any_path_prefix(self):
        status, reply = self.put(body([4]), path="/control/plane/v1/notify-attach")
        self.assertEqual(status, 200, reply)
        self.assertEqual(self.show("neon.pageserver_connstring"), conn(4))

    def test_12_concurrent_senders_last_answer_wins(self):
        placements = [[1 + (i + k) % 4 for k in range(4)] for i in range(4)]
        bodies = [body(placements[i % 4], stripe=1024 * (1 + i)) for i in range(32)]
        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            results = list(ex.map(lambda b: self.put(b, timeout=30), bodies))
        self.assertTrue(all(s == 200 for s, _ in results), [s for s, _ in results])
        last = max((r for _, r in results), key=lambda r: r["seq"])
        self.assertEqual(self.show("neon.pageserver_connstring"), last["pageserver_connstring"])
        self.assertEqual(self.shard_map(), (4, last["stripe_size"], last["pageserver_connstring"]))

    def test_13_status_and_healthz_answer_while_an_apply_waits(self):
        self.assertEqual(self.put(body([1]))[0], 200)
        postmaster = self.pg.postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)  # the reload cannot happen while it is stopped
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as ex:
                pending = ex.submit(self.put, body([2]))
                wait_until(lambda: json.loads(http("GET", self.url + "/status", timeout=2)[1])["applying"],
                           5, what="apply in flight")
                self.assertEqual(http("GET", self.url + "/healthz", timeout=2)[0], 200)
                status, reply = pending.result(timeout=15)
            # written and durable, not yet in effect: 503 within the deadline (storcon retries; a
            # 423 would make it stop retrying, contract §1.4)
            self.assertEqual(status, 503, reply)
            self.assertIn(f"'{conn(2)}'".encode(), self.pg.auto_conf())
        finally:
            os.kill(postmaster, signal.SIGCONT)
        self.pg.poll("SHOW neon.pageserver_connstring", conn(2))
        status, reply = self.put(body([2]))  # storcon's re-send is now a no-op
        self.assertEqual((status, reply["status"]), (200, "unchanged"))

    def test_14_status_reports_what_happened(self):
        status, text = http("GET", self.url + "/status")
        self.assertEqual(status, 200)
        st = json.loads(text)
        self.assertEqual(st["tenant_id"], TENANT)
        self.assertEqual(st["listen"], f"127.0.0.1:{self.port}")
        self.assertGreater(st["requests"]["notify-attach"]["200"], 0)
        self.assertEqual(st["in_effect"]["pageserver_connstring"], self.show("neon.pageserver_connstring"))
        self.assertIsNotNone(st["last_notification"])

    def test_15_worker_terminated_comes_back(self):
        pid = self.pg.hook_worker_pid()
        self.assertIsNotNone(pid)
        self.pg.psql(f"SELECT pg_terminate_backend({pid})")
        wait_until(lambda: self.pg.hook_worker_pid() not in (None, pid), 30, what="worker restart")
        self.wait_hook()
        self.assertEqual(self.put(body([3, 4]))[0], 200)
        self.assertEqual(self.shard_map(), (2, 2048, conn(3, 4)))

    def test_16_postgres_restart_serves_again_with_the_applied_map(self):
        self.assertEqual(self.put(body([4, 1]))[0], 200)
        self.pg.restart()
        self.wait_hook()
        self.assertEqual(self.show("neon.pageserver_connstring"), conn(4, 1))
        status, reply = self.put(body([4, 1]))
        self.assertEqual((status, reply["status"]), (200, "unchanged"))
        self.assertEqual(self.put(body([1, 4]))[0], 200)

    def test_17_hot_standby_applies_too(self):
        self.assertEqual(self.put(body([1, 2]))[0], 200)
        standby = Cluster("standby", primary=self.pg, settings={"storcon.hook_port": str(free_port())})
        try:
            standby.start()
            self.assertEqual(standby.psql("SELECT pg_is_in_recovery()"), "t")
            hook = f"http://127.0.0.1:{standby.hook_port}"
            wait_until(lambda: http("GET", hook + "/healthz", timeout=2)[0] == 200, 30, what="standby hook")
            status, text = http("PUT", hook + "/notify-attach", body([3, 4]))
            self.assertEqual(status, 200, text)
            self.assertEqual(standby.psql("SHOW neon.pageserver_connstring"), conn(3, 4))
            self.assertEqual(standby.psql("SELECT num_shards FROM neon_stub_shard_map()"), "2")
        finally:
            standby.destroy()


if __name__ == "__main__":
    unittest.main(verbosity=2)
