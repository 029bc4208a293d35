#!/usr/bin/env python3
"""End to end: the self-hoster's bring-up done through pg_storcon's SQL functions instead of curl
(docs/deployment.md), from an admin Postgres, then a compute started from storcon.compute_config(),
reconfigured by storcon through its hook, and judged by storcon.doctor()."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, wait_until  # noqa: E402

TENANT = "c0ffee00000000000000000000000001"
TIMELINE = "de200bd42b49cc1814412c7e592dd6e9"


class BringUpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # An empty storcon (no nodes, no safekeepers), its clocks 10x faster: a migration blocked
        # on the compute hook answers 408 after 3 s instead of 30 s.
        cls.sim = Simulator(args=["--time-scale", "0.1"])
        cls.admin = Cluster("admin", settings={"storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": "0"})
        cls.admin.start()
        cls.admin.psql("CREATE EXTENSION pg_storcon")
        cls.compute = None

    @classmethod
    def tearDownClass(cls):
        for c in (cls.compute, cls.admin):
            if c:
                c.destroy()
        cls.sim.stop()

    def sql(self, q):
        return self.admin.psql(q)

    def doctor(self, cluster):
        rows = cluster.psql("SELECT check_name, ok, coalesce(hint, '') FROM storcon.doctor()").splitlines()
        return {r.split("|")[0]: (r.split("|")[1] == "t", r.split("|", 2)[2]) for r in rows}

    def test_bring_up(self):
        # 1. safekeepers do not register themselves; until Active, timelines cannot be created
        for i in (1, 2, 3):
            self.sql(f"SELECT storcon.safekeeper_register({i}, '127.0.0.1', {5450 + i}, {7670 + i}, 'az-{i}')")
        r = self.admin.psql(f"SELECT * FROM storcon.tenant_create('{TENANT}')", check=False)  # no pageserver yet
        self.assertNotEqual(r.returncode, 0)
        # 2. pageservers (normally self-registered)
        for i in (1, 2):
            self.sql(f"SELECT storcon.node_register({i}, '127.0.0.1', {6400 + i}, '127.0.0.1', {9800 + i}, 'az-1')")
        self.assertEqual(self.sql(f"SELECT node_id FROM storcon.tenant_create('{TENANT}', placement => 'Attached(0)')"), "1")
        r = self.admin.psql(f"SELECT storcon.timeline_create('{TENANT}', '{TIMELINE}', 16)", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("safekeeper_set_policy", r.stderr)  # the hint says what to run
        for i in (1, 2, 3):
            self.sql(f"SELECT storcon.safekeeper_set_policy({i}, 'Active')")
        self.assertEqual(self.sql(f"SELECT storcon.timeline_create('{TENANT}', '{TIMELINE}', 16)"), TIMELINE)
        self.assertEqual(self.sql("SELECT * FROM storcon.sync_catalog()"), "2|3")

        # 3. the compute's settings, in the order postgresql.conf needs
        rows = [r.split("|", 1) for r in self.sql(f"SELECT name, setting FROM storcon.compute_config('{TENANT}', '{TIMELINE}')").splitlines()]
        self.assertEqual([n for n, _ in rows],
                         ["neon.tenant_id", "neon.timeline_id", "neon.safekeepers", "neon.pageserver_connstring"])
        settings = dict(rows)
        self.assertEqual(settings["neon.safekeepers"], "g#1:127.0.0.1:5451,127.0.0.1:5452,127.0.0.1:5453")
        self.assertEqual(settings["neon.pageserver_connstring"], "postgres://no_user@127.0.0.1:6401")

        # 4. start the compute from them, with the hook, and point storcon at the hook
        hook_port = free_port()
        conf = {n: "'" + v.replace("'", "''") + "'" for n, v in rows}
        conf.update({"storcon.url": f"'{self.sim.url}'", "storcon.hook_port": str(hook_port)})
        compute = BringUpTest.compute = Cluster("compute", settings=conf)
        compute.start()
        compute.psql("CREATE EXTENSION pg_storcon")
        self.sim.call("POST", "/__sim/config", {"control_plane_url": f"http://127.0.0.1:{hook_port}/api/"})
        wait_until(lambda: compute.hook_worker_pid(), 20, what="hook worker")
        doctor = self.doctor(compute)
        self.assertTrue(all(ok for ok, _ in doctor.values()), doctor)

        # 5. a shard split: storcon notifies the hook, the compute follows, stripe first
        self.assertEqual(self.sql(f"SELECT count(*) FROM storcon.tenant_shard_split('{TENANT}', 2, 4096)"), "2")
        compute.poll("SHOW neon.pageserver_connstring",
                     "postgres://no_user@127.0.0.1:6401,postgres://no_user@127.0.0.1:6401")
        self.assertEqual(compute.psql("SHOW neon.stripe_size"), "32MB")
        doctor = self.doctor(compute)
        self.assertTrue(all(ok for ok, _ in doctor.values()), doctor)
        self.assertEqual(self.sql(f"SELECT name FROM storcon.compute_config('{TENANT}', '{TIMELINE}')").split(),
                         ["neon.tenant_id", "neon.timeline_id", "neon.safekeepers", "neon.stripe_size",
                          "neon.pageserver_connstring"])

        # 6. storcon cannot reach the hook while a shard moves: the live migration waits for the
        #    compute (408, it goes on) until the origin pageserver restarts; then storcon leaves
        #    the notification pending.  The doctor sees it and the stale map, and says what to fix
        self.sim.call("POST", "/__sim/config", {"control_plane_url": "http://127.0.0.1:1/"})
        self.sql(f"SELECT storcon.shard_migrate('{TENANT}-0102', 2, override_scheduler => true, prewarm => false)")
        self.sim.call("POST", "/__sim/node/1/restart")
        wait_until(lambda: not self.sim.call("GET", f"/control/v1/tenant/{TENANT}")[1]["shards"][1]["is_reconciling"],
                   20, what="migration given up")
        doctor = self.doctor(compute)
        self.assertFalse(doctor["compute_notified"][0])
        self.assertIn("--control-plane-url", doctor["compute_notified"][1])
        self.assertFalse(doctor["shard_map_matches"][0])
        self.assertTrue(doctor["stripe_before_connstring"][0])

        # 7. the hook back: storcon's retry delivers the new map
        self.sim.call("POST", "/__sim/config", {"control_plane_url": f"http://127.0.0.1:{hook_port}/api/"})
        self.sim.call("POST", "/debug/v1/reconcile_all")
        compute.poll("SHOW neon.pageserver_connstring",
                     "postgres://no_user@127.0.0.1:6401,postgres://no_user@127.0.0.1:6402")
        doctor = self.doctor(compute)
        self.assertTrue(all(ok for ok, _ in doctor.values()), doctor)

        # 8. a hand-made config in the wrong order is caught
        compute.psql("ALTER SYSTEM SET neon.pageserver_connstring = 'postgres://no_user@127.0.0.1:6401,postgres://no_user@127.0.0.1:6402'")
        compute.psql("ALTER SYSTEM SET neon.stripe_size = 4096")
        compute.reload()
        ok, hint = self.doctor(compute)["stripe_before_connstring"]
        self.assertFalse(ok)
        self.assertIn("ALTER SYSTEM SET neon.stripe_size", hint)


if __name__ == "__main__":
    unittest.main(verbosity=2)
