#!/usr/bin/env python3
"""End to end: notify-safekeepers into a real postmaster. A safekeeper migration driven by the
simulator (joint then final configuration) ends with neon.safekeepers = 'g#<final gen>:<new set>';
stale and foreign notifications change nothing; a hot standby does not take safekeeper lists."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "5afe0000000000000000000000000001"
TIMELINE = "de200bd42b49cc1814412c7e592dd6e9"


def sk_list(*ids):
    return ",".join(f"127.0.0.1:{5450 + i}" for i in ids)


def body(generation, ids, tenant=TENANT, timeline=TIMELINE):
    return {"tenant_id": tenant, "timeline_id": timeline, "generation": generation,
            "safekeepers": [{"id": i, "hostname": "127.0.0.1"} for i in ids]}


class SafekeepersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "2", "--seed-safekeepers", "4"])
        status, _ = cls.sim.call("POST", "/v1/tenant", {"new_tenant_id": TENANT})
        assert status == 201
        status, created = cls.sim.call("POST", f"/v1/tenant/{TENANT}/timeline", {"new_timeline_id": TIMELINE})
        assert status == 201, created
        cls.initial = created["safekeepers"]
        cls.port = free_port()
        cls.pg = Cluster("safekeepers", settings={
            "storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port),
            "neon.tenant_id": f"'{TENANT}'", "neon.timeline_id": f"'{TIMELINE}'",
            "neon.safekeepers": "'g#1:" + sk_list(*[s["id"] for s in cls.initial["safekeepers"]]) + "'",
        })
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION neon_stub; CREATE EXTENSION pg_storcon")
        cls.url = f"http://127.0.0.1:{cls.port}"
        wait_until(lambda: http("GET", cls.url + "/healthz", timeout=2)[0] == 200, 20, what="hook")
        cls.sim.call("POST", "/__sim/config", {"control_plane_url": cls.url})

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()

    def put(self, b):
        status, text = http("PUT", self.url + "/notify-safekeepers", b)
        return status, json.loads(text)

    def show(self):
        return self.pg.psql("SHOW neon.safekeepers")

    def test_1_migration_through_storcon(self):
        old = [s["id"] for s in self.initial["safekeepers"]]
        new = sorted(set([1, 2, 3, 4]) - {old[0]})
        status, answer = self.sim.call("POST", f"/v1/tenant/{TENANT}/timeline/{TIMELINE}/safekeeper_migrate",
                                       {"new_sk_set": new})
        self.assertEqual(status, 200, answer)
        # storcon sent the joint configuration (generation 2) then the final one (generation 3)
        sent = [r for r in self.sim.requests() if r.get("direction") == "out" and "notify-safekeepers" in r.get("url", "")]
        self.assertEqual([r["status"] for r in sent][-2:], [200, 200])
        self.assertEqual(self.show(), "g#3:" + sk_list(*new))
        # the postmaster holds it too (the walproposer reads it from there)
        self.assertEqual(self.pg.psql("SELECT safekeepers FROM neon_stub_safekeepers()"), "g#3:" + sk_list(*new))

    def test_2_stale_generation_is_ignored(self):
        before = self.pg.auto_conf()
        status, answer = self.put(body(2, [1, 2, 3, 4]))
        self.assertEqual((status, answer["status"]), (200, "stale"))
        self.assertEqual(self.pg.auto_conf(), before)

    def test_3_same_generation_same_set_is_a_noop(self):
        current = self.show()
        gen = int(current[2:current.index(":")])
        ids = [int(e.split(":")[1]) - 5450 for e in current.split(":", 1)[1].split(",")]
        status, answer = self.put(body(gen, list(reversed(ids))))
        self.assertEqual((status, answer["status"]), (200, "unchanged"))

    def test_4_other_timeline_is_not_hosted(self):
        status, answer = self.put(body(9, [1], timeline="00000000000000000000000000000009"))
        self.assertEqual((status, answer["status"]), (200, "not_hosted"))

    def test_5_unknown_safekeeper_is_503_and_changes_nothing(self):
        before = self.pg.auto_conf()
        status, answer = self.put(body(10, [1, 99]))
        self.assertEqual(status, 503, answer)
        self.assertIn("99", answer["msg"])
        self.assertEqual(self.pg.auto_conf(), before)

    def test_6_newer_generation_applies_directly(self):
        status, answer = self.put(body(7, [4, 2, 1]))
        self.assertEqual((status, answer["status"]), (200, "applied"))
        self.assertEqual(self.show(), "g#7:" + sk_list(4, 2, 1))

    def test_7_hot_standby_does_not_take_safekeeper_lists(self):
        standby = Cluster("sk_standby", primary=self.pg, settings={"storcon.hook_port": str(free_port())})
        try:
            standby.start()
            hook = f"http://127.0.0.1:{standby.hook_port}"
            wait_until(lambda: http("GET", hook + "/healthz", timeout=2)[0] == 200, 30, what="standby hook")
            before = standby.psql("SHOW neon.safekeepers")
            status, text = http("PUT", hook + "/notify-safekeepers", body(50, [1, 2, 3]))
            self.assertEqual((status, json.loads(text)["status"]), (200, "replica"))
            self.assertEqual(standby.psql("SHOW neon.safekeepers"), before)
        finally:
            standby.destroy()


if __name__ == "__main__":
    unittest.main(verbosity=2)
