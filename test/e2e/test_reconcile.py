#!/usr/bin/env python3
"""End to end: convergence. A compute started after storcon moved its tenant converges at start; a
placement changed behind the hook's back is repaired within one storcon.sync_interval;
storcon.reconcile() does it on demand and says what changed; a hanging storcon never blocks the
hook; the audit log and /metrics match what happened."""
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "7ec0000000000000000000000000c001"
TIMELINE = "7ec0000000000000000000000000d001"


def conn(*nodes):
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


class ReconcileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "3", "--seed-safekeepers", "3"])
        assert cls.sim.call("POST", "/v1/tenant", {"new_tenant_id": TENANT,
                                                   "shard_parameters": {"count": 2, "stripe_size": 4096}})[0] == 201
        assert cls.sim.call("POST", f"/v1/tenant/{TENANT}/timeline", {"new_timeline_id": TIMELINE})[0] == 201
        cls.port = free_port()
        # The compute starts with a stale map and no safekeepers: storcon has moved on meanwhile.
        cls.pg = Cluster("reconcile", settings={
            "storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port),
            "storcon.sync_interval": "'2s'",
            "neon.tenant_id": f"'{TENANT}'", "neon.timeline_id": f"'{TIMELINE}'",
            "neon.pageserver_connstring": f"'{conn(3)}'",
        })
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION neon_stub; CREATE EXTENSION pg_storcon")
        cls.url = f"http://127.0.0.1:{cls.port}"

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()

    def expected(self):
        shards = self.sim.call("GET", f"/debug/v1/tenant/{TENANT}/locate")[1]["shards"]
        ordered = sorted(shards, key=lambda s: s["shard_id"][33:35])
        return ",".join(f"postgres://no_user@{s['listen_pg_addr']}:{s['listen_pg_port']}" for s in ordered)

    def test_1_converges_at_start(self):
        self.pg.poll("SHOW neon.pageserver_connstring", self.expected(), timeout=20)
        self.assertEqual(self.pg.psql("SHOW neon.stripe_size"), "32MB")
        self.pg.poll("SELECT left(current_setting('neon.safekeepers'), 4)", "g#1:")
        self.assertEqual(self.pg.psql("SELECT num_shards || ':' || stripe_size FROM neon_stub_shard_map()"), "2:4096")

    def test_2_repaired_within_one_interval(self):
        self.pg.poll("SHOW neon.pageserver_connstring", self.expected(), timeout=20)
        shard = f"{TENANT}-0102"
        current = self.sim.call("GET", f"/control/v1/tenant/{TENANT}")[1]["shards"][1]["node_attached"]
        target = 1 if current != 1 else 2
        # storcon moves a shard and cannot tell the compute (no control-plane URL)
        status, answer = self.sim.call("PUT", f"/control/v1/tenant/{shard}/migrate",
                                       {"node_id": target, "migration_config": {"override_scheduler": True, "prewarm": False}})
        self.assertEqual(status, 200, answer)
        self.pg.poll("SHOW neon.pageserver_connstring", self.expected(), timeout=15)

    def test_3_reconcile_function_reports_changes(self):
        self.pg.poll("SHOW neon.pageserver_connstring", self.expected(), timeout=20)
        self.pg.psql("ALTER SYSTEM SET storcon.sync_interval = 0")
        self.pg.reload()
        self.pg.psql(f"ALTER SYSTEM SET neon.pageserver_connstring = '{conn(3, 3)}'")  # drift by hand
        self.pg.reload()
        self.pg.poll("SHOW neon.pageserver_connstring", conn(3, 3))
        rows = self.pg.psql("SELECT setting, old_value, new_value FROM storcon.reconcile()").splitlines()
        self.assertEqual(rows, [f"neon.pageserver_connstring|{conn(3, 3)}|{self.expected()}"])
        self.assertEqual(self.pg.psql("SHOW neon.pageserver_connstring"), self.expected())
        self.assertEqual(self.pg.psql("SELECT count(*) FROM storcon.reconcile()"), "0")
        self.pg.psql("ALTER SYSTEM RESET storcon.sync_interval")
        self.pg.reload()

    def test_4_hanging_storcon_never_blocks_the_hook(self):
        self.sim.fault(path_prefix="/control/v1/node", hang=True)
        try:
            # a reconcile pass is now stuck on storcon; the hook keeps answering
            result = {}
            t = threading.Thread(target=lambda: result.update(
                r=self.pg.psql("SELECT count(*) FROM storcon.reconcile()", check=False)))
            t.start()
            wait_until(lambda: json.loads(http("GET", self.url + "/status", timeout=2)[1])["reconcile"]["running"],
                       10, what="reconcile running")
            self.assertEqual(http("GET", self.url + "/healthz", timeout=2)[0], 200)
            status, text = http("PUT", self.url + "/notify-attach", {
                "tenant_id": "00000000000000000000000000000042", "preferred_az": None, "stripe_size": None,
                "shards": [{"node_id": 1, "shard_number": 0}]}, timeout=2)
            self.assertEqual(status, 200, text)
            t.join(30)
            self.assertNotEqual(result["r"].returncode, 0)  # the pass timed out: a clear error
            self.assertIn("could not reconcile with storcon", result["r"].stderr)
            st = json.loads(http("GET", self.url + "/status")[1])["reconcile"]
            self.assertGreaterEqual(st["failures_in_a_row"], 1)
            self.assertIsNotNone(st["last_error"])
        finally:
            self.sim.clear_faults()

    def test_5_audit_log_and_metrics(self):
        http("PUT", self.url + "/notify-attach", {"tenant_id": TENANT, "preferred_az": None, "stripe_size": 4096,
                                                  "shards": [{"node_id": 3, "shard_number": 0}, {"node_id": 3, "shard_number": 1}]})
        http("PUT", self.url + "/notify-attach", raw=b"{not json")
        rows = wait_until(lambda: self.pg.psql(
            "SELECT kind || ':' || outcome || ':' || http_status FROM storcon.notifications ORDER BY id").splitlines()
            if "notify-attach:rejected:400" in self.pg.psql("SELECT string_agg(kind || ':' || outcome || ':' || http_status, ',') FROM storcon.notifications") else None,
            15, what="audit rows")
        self.assertIn("notify-attach:applied:200", rows)
        self.assertIn("reconcile:applied:200", rows)  # the start-up pass, recorded before CREATE EXTENSION
        self.assertIn("notify-attach:not_hosted:200", rows)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM storcon.notifications WHERE duration_ms >= 0 AND received_at <= now()"),
                         str(len(rows)))
        status, metrics = http("GET", self.url + "/metrics")
        self.assertEqual(status, 200)
        self.assertIn('pg_storcon_hook_requests_total{endpoint="notify-attach",status="400"} 1', metrics)
        self.assertIn('pg_storcon_notifications_total{outcome="rejected"} 1', metrics)
        self.assertIn("pg_storcon_shard_count 2", metrics)
        self.assertIn("pg_storcon_safekeeper_generation 1", metrics)
        # every apply counted by the histogram has its audit row (rows are written when the worker is idle)
        def counts():
            m = http("GET", self.url + "/metrics")[1]
            applied = int([l for l in m.splitlines() if l.startswith("pg_storcon_apply_duration_seconds_count")][0].split()[1])
            return applied, int(self.pg.psql("SELECT count(*) FROM storcon.notifications WHERE outcome = 'applied'"))
        wait_until(lambda: counts()[0] == counts()[1] > 0, 15, what="histogram count = audit rows")

    def test_6_audit_log_is_bounded(self):
        self.pg.psql("ALTER SYSTEM SET storcon.notifications_max_rows = 3")
        self.pg.reload()
        for i in range(6):
            http("PUT", self.url + "/notify-attach", raw=b"[]")
        self.pg.poll("SELECT count(*) <= 3 AND max(outcome) = 'rejected' FROM storcon.notifications", "t", timeout=15)
        # The worker prunes from a bound it keeps; ids that start again must not leave it behind.
        self.pg.psql("TRUNCATE storcon.notifications RESTART IDENTITY")
        for i in range(6):
            http("PUT", self.url + "/notify-attach", raw=b"[]")
        self.pg.poll("SELECT count(*) BETWEEN 1 AND 3 AND max(id) < 50 FROM storcon.notifications", "t", timeout=15)
        # More records than one write takes: all arrive, over several writes.
        self.pg.psql("ALTER SYSTEM SET storcon.notifications_max_rows = 1000")
        self.pg.reload()
        self.pg.psql("TRUNCATE storcon.notifications")
        for i in range(450):
            http("PUT", self.url + "/notify-attach", raw=b"[]")
        self.pg.poll("SELECT count(*) FILTER (WHERE outcome = 'rejected') FROM storcon.notifications", "450", timeout=15)
        # A lower bound prunes what lies below it at the next write.
        self.pg.psql("ALTER SYSTEM SET storcon.notifications_max_rows = 100")
        self.pg.reload()
        http("PUT", self.url + "/notify-attach", raw=b"[]")
        self.pg.poll("SELECT count(*) BETWEEN 90 AND 100 FROM storcon.notifications", "t", timeout=15)
        self.pg.psql("ALTER SYSTEM RESET storcon.notifications_max_rows")
        self.pg.reload()


if __name__ == "__main__":
    unittest.main(verbosity=2)
