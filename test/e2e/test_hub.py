#!/usr/bin/env python3
"""End to end: one storcon, many tenants. storcon has a single control-plane URL; it points at a hub
(a Postgres with pg_storcon and no tenant of its own), and the hub routes each notification to the
computes of that tenant, which registered themselves (storcon.hub_url). Three computes of two
tenants, one of them a replica (a hot standby): registration at start, routing to exactly the right
computes, a stopped replica (does not hold storcon back; catches up when it starts), a compute
restart that re-registers, the hub restarting (the registry survives in storcon.computes),
administrators adding and removing entries from SQL, stale entries, and authentication of
registrations."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

TOKEN = "hub-token"
TENANT_A = "a0000000000000000000000000000001"
TENANT_B = "b0000000000000000000000000000002"


def conn(*nodes):
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


class HubTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "4", "--time-scale", "0.1", "--pending-retry-interval", "0"])
        cls.hub_port = free_port()
        cls.hub_url = f"http://127.0.0.1:{cls.hub_port}"
        cls.auth = {"Authorization": f"Bearer {TOKEN}"}
        common = {"storcon.url": f"'{cls.sim.url}'", "storcon.sync_interval": "0"}

        def with_token(c):
            f = c.write_file("hook.token", TOKEN + "\n")
            c.append_conf({"storcon.hook_token_file": f"'{f}'", "storcon.hook_forward_token_file": f"'{f}'"})

        cls.hub = Cluster("hub", settings={**common, "storcon.hook_port": str(cls.hub_port)})
        with_token(cls.hub)
        cls.hub.start()
        cls.hub.psql("CREATE EXTENSION pg_storcon")
        wait_until(lambda: http("GET", cls.hub_url + "/healthz", timeout=2)[0] == 200, 20, what="hub")

        compute = {**common, "storcon.hub_url": f"'{cls.hub_url}'", "storcon.hub_heartbeat_interval": "'1s'"}
        cls.a1 = Cluster("hub_a1", settings={**compute, "storcon.hook_port": str(free_port()),
                                             "neon.tenant_id": f"'{TENANT_A}'"})
        with_token(cls.a1)
        cls.a1.start()
        cls.a1.psql("CREATE EXTENSION pg_storcon")
        cls.a2 = Cluster("hub_a2", primary=cls.a1, settings={"storcon.hook_port": str(free_port())})
        cls.a2.start()
        cls.b1 = Cluster("hub_b1", settings={**compute, "storcon.hook_port": str(free_port()),
                                             "neon.tenant_id": f"'{TENANT_B}'"})
        with_token(cls.b1)
        cls.b1.start()
        cls.sim.call("POST", "/__sim/config", {"control_plane_url": cls.hub_url, "control_plane_token": TOKEN})

    @classmethod
    def tearDownClass(cls):
        for c in (cls.a2, cls.a1, cls.b1, cls.hub):
            c.destroy()
        cls.sim.stop()

    def hub_status(self):
        return json.loads(http("GET", self.hub_url + "/status", headers=self.auth)[1])

    def registered(self):
        return {c["compute_id"]: c for c in self.hub_status()["computes"]}

    @staticmethod
    def compute_id(c):
        return f"127.0.0.1:{c.hook_port}"

    def show(self, c):
        return c.psql("SHOW neon.pageserver_connstring")

    def create(self, tenant, shards=2):
        status, body = self.sim.call("POST", "/v1/tenant", {"new_tenant_id": tenant,
                                                              "shard_parameters": {"count": shards, "stripe_size": 2048}})
        self.assertIn(status, (200, 201), body)
        _, describe = self.sim.call("GET", f"/control/v1/tenant/{tenant}")
        return describe

    def placement(self, tenant):
        _, describe = self.sim.call("GET", f"/control/v1/tenant/{tenant}")
        return [s["node_attached"] for s in describe["shards"]]

    def migrate(self, tenant, shard_index=0):
        _, describe = self.sim.call("GET", f"/control/v1/tenant/{tenant}")
        where = [s["node_attached"] for s in describe["shards"]]
        target = next(n for n in (1, 2, 3, 4) if n not in where)
        shard = describe["shards"][shard_index]["tenant_shard_id"]
        status, body = self.sim.call("PUT", f"/control/v1/tenant/{shard}/migrate",
                                     {"node_id": target, "migration_config": {"override_scheduler": True}})
        self.assertIn(status, (200, 408), body)
        return self.placement(tenant)

    def storcon_was_answered(self, tenant, since):
        """storcon's last hook call for the tenant among those after the first `since` entries of
        its request log, once it has an answer."""
        def last():
            out = [r for r in self.sim.requests()[since:]
                   if r.get("direction") == "out" and r["body"]["tenant_id"] == tenant]
            return out and (out[-1]["status"] or out[-1]["error"]) and out[-1]
        return wait_until(last, 20, what=f"storcon's hook call for {tenant} answered")

    def test_1_computes_register_at_start(self):
        wait_until(lambda: len(self.registered()) == 3, 20, what="three computes registered")
        reg = self.registered()
        self.assertEqual(reg[self.compute_id(self.a1)]["tenant_id"], TENANT_A)
        self.assertEqual(reg[self.compute_id(self.a1)]["mode"], "primary")
        self.assertEqual(reg[self.compute_id(self.a2)]["mode"], "replica")
        self.assertEqual(reg[self.compute_id(self.b1)]["tenant_id"], TENANT_B)
        self.assertTrue(all(c["source"] == "self" and not c["stale"] for c in reg.values()))
        self.assertEqual(self.hub.psql("SELECT count(*) FROM storcon.computes WHERE source = 'self'"), "3")
        self.assertEqual(self.hub.psql("SHOW neon.pageserver_connstring"), "")  # the hub serves no tenant

    def test_2_each_notification_reaches_exactly_its_tenants_computes(self):
        wait_until(lambda: len(self.registered()) == 3, 20, what="registrations")
        since = len(self.sim.requests())
        self.create(TENANT_A)
        where_a = self.placement(TENANT_A)
        for c in (self.a1, self.a2):
            c.poll("SHOW neon.pageserver_connstring", conn(*where_a))
        self.assertEqual(self.show(self.b1), "")
        last = self.storcon_was_answered(TENANT_A, since)
        self.assertEqual(last["status"], 200, last)
        self.create(TENANT_B, shards=1)
        where_b = self.placement(TENANT_B)
        self.b1.poll("SHOW neon.pageserver_connstring", conn(*where_b))
        self.assertEqual(self.show(self.a1), conn(*where_a))
        recent = self.hub_status()["recent"]
        b = [r for r in recent if r["tenant_id"] == TENANT_B][-1]
        self.assertEqual([f["compute_id"] for f in b["forwarded"]], [self.compute_id(self.b1)])

    def test_3_a_stopped_replica_does_not_hold_storcon_back(self):
        self.a2.stop("immediate")  # gone without leaving the registry: the hub still forwards to it
        try:
            since = len(self.sim.requests())
            moved = self.migrate(TENANT_A)
            self.a1.poll("SHOW neon.pageserver_connstring", conn(*moved), timeout=20)
            last = self.storcon_was_answered(TENANT_A, since)
            self.assertEqual(last["status"], 200, last)  # storcon's migration completes
            answer = [r for r in self.hub_status()["recent"] if r["tenant_id"] == TENANT_A][-1]
            outcomes = {f["compute_id"]: f["outcome"] for f in answer["forwarded"]}
            self.assertEqual(outcomes[self.compute_id(self.a2)], "not_running")
        finally:
            self.a2.start()
        # The replica catches up when it starts (its reconcile asks a settled storcon).
        self.a2.poll("SHOW neon.pageserver_connstring", conn(*self.placement(TENANT_A)), timeout=20)

    def test_4_a_restarted_compute_registers_again(self):
        before = self.registered()[self.compute_id(self.b1)]["registered_at"]
        self.b1.stop()  # a clean shutdown: it leaves the registry
        wait_until(lambda: self.compute_id(self.b1) not in self.registered(), 10, what="B1 left")
        time.sleep(1.1)
        self.b1.start()
        wait_until(lambda: self.compute_id(self.b1) in self.registered(), 20, what="B1 back")
        self.assertGreater(self.registered()[self.compute_id(self.b1)]["registered_at"], before)
        moved = self.migrate(TENANT_B)
        self.b1.poll("SHOW neon.pageserver_connstring", conn(*moved), timeout=20)

    def test_5_the_hub_restarting_keeps_its_registry(self):
        # An entry an administrator made never re-registers: only storcon.computes can bring it back.
        self.hub.psql(f"SELECT storcon.compute_register('manual-1', '{TENANT_B}', 'http://127.0.0.1:1')")
        self.assertIn("manual-1", self.registered())  # the worker learns at once
        self.hub.restart()
        wait_until(lambda: http("GET", self.hub_url + "/healthz", timeout=2)[0] == 200, 20, what="hub back")
        self.assertIn("manual-1", self.registered())
        self.assertEqual(self.registered()["manual-1"]["source"], "admin")
        moved = self.migrate(TENANT_A)  # routed at once, manual-1 (tenant B) not involved
        self.a1.poll("SHOW neon.pageserver_connstring", conn(*moved), timeout=20)
        self.assertEqual(self.hub.psql("SELECT storcon.compute_unregister('manual-1')"), "t")
        self.assertNotIn("manual-1", self.registered())

    def test_6_registrations_are_authenticated(self):
        reg = {"tenant_id": TENANT_A, "timeline_id": None, "mode": "primary", "hook_url": "http://127.0.0.1:1",
               "heartbeat_seconds": 30}
        self.assertEqual(http("PUT", self.hub_url + "/computes/intruder", reg)[0], 401)
        self.assertEqual(http("PUT", self.hub_url + "/computes/intruder", reg,
                              headers={"Authorization": "Bearer wrong"})[0], 403)
        self.assertNotIn("intruder", self.registered())
        bad = dict(reg, hook_url="ftp://x")
        self.assertEqual(http("PUT", self.hub_url + "/computes/ok-id", bad, headers=self.auth)[0], 400)
        self.assertEqual(http("PUT", self.hub_url + "/computes/bad%20id", reg, headers=self.auth)[0], 400)
        self.assertEqual(http("DELETE", self.hub_url + "/computes/nobody", headers=self.auth)[0], 404)

    def test_7_a_compute_gone_without_leaving_is_shown_stale(self):
        self.b1.stop("immediate")  # no clean shutdown: the entry stays
        try:
            wait_until(lambda: self.registered()[self.compute_id(self.b1)]["stale"], 15, what="B1 stale")
            rows = self.hub.psql("SELECT ok || '|' || detail FROM storcon.doctor() WHERE check_name = 'registered_computes'")
            self.assertTrue(rows.startswith("false|"), rows)
            self.assertIn(self.compute_id(self.b1), rows)
            # still routed to: it refuses the connection, which does not fail storcon's notification
            since = len(self.sim.requests())
            moved = self.migrate(TENANT_B)
            last = self.storcon_was_answered(TENANT_B, since)
            self.assertEqual(last["status"], 200, last)
        finally:
            self.b1.start()
        self.b1.poll("SHOW neon.pageserver_connstring", conn(*moved), timeout=20)
        wait_until(lambda: not self.registered()[self.compute_id(self.b1)]["stale"], 15, what="B1 fresh again")


if __name__ == "__main__":
    unittest.main(verbosity=2)
