#!/usr/bin/env python3
"""End to end: a compute as real Neon runs it (reference/neon-lifecycle.md).

- compute_ctl rebuilds PGDATA at every start from its config file, so every change the hook applies
  (notify-attach, notify-safekeepers, a reconcile) is also written into that file
  (storcon.compute_ctl_config), in the file's own form; a small model of compute_ctl
  (test/lib/compute_ctl_model.py, from compute_tools/src/config.rs and compute.rs) tells what a start
  would derive from it: the basebackup pageserver, the order in which neon.stripe_size and
  neon.pageserver_connstring take effect, neon.safekeepers and compute_ctl's own safekeeper list. A
  restart then starts from where the compute was moved to.
- storcon's clock: every answer leaves within the hook's deadline, and a notification that needs
  no write never waits behind one that does.
- A reconcile applies only what a settled storcon says (not the intent of a live migration).
- Version floors: neon.safekeepers gets the g#N: prefix only where the compute's neon speaks
  safekeeper protocol 3.
- PUT import_complete is accepted and recorded; hosts as storcon stores them are usable."""
import concurrent.futures
import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import compute_ctl_model as model  # noqa: E402
from harness import Cluster, SilentPeer, Simulator, free_port, http, wait_until  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "test", "fixtures", "compute_ctl")
TENANT = "11fe0000000000000000000000000001"
TIMELINE = "11fe0000000000000000000000000002"


def body(nodes, stripe=2048, tenant=TENANT):
    return {"tenant_id": tenant, "preferred_az": None, "stripe_size": stripe if len(nodes) > 1 else None,
            "shards": [{"node_id": n, "shard_number": i} for i, n in enumerate(nodes)]}


def sk_body(generation, ids):
    return {"tenant_id": TENANT, "timeline_id": TIMELINE, "generation": generation,
            "safekeepers": [{"id": i, "hostname": "127.0.0.1"} for i in ids]}


def conn(*nodes):
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


def sks(*ids):
    return ",".join(f"127.0.0.1:{5450 + i}" for i in ids)


def fixture_for(name, dest):
    """A fixture of ours with this test's tenant and timeline (compute_ctl refuses others)."""
    with open(os.path.join(FIXTURES, name)) as f:
        config = json.load(f)
    spec = config.get("spec", config)
    for key, value in (("tenant_id", TENANT), ("timeline_id", TIMELINE)):
        if key in spec:
            spec[key] = value
    for s in spec.get("cluster", {}).get("settings") or []:
        if s["name"] == "neon.tenant_id":
            s["value"] = TENANT
        if s["name"] == "neon.timeline_id":
            s["value"] = TIMELINE
    with open(dest, "w") as f:
        json.dump(config, f, indent=2)
    os.chmod(dest, 0o666)
    return dest


class LifecycleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = os.path.join("/tmp", f"pg_storcon_lifecycle_files_{os.getpid()}")
        os.makedirs(cls.tmp, exist_ok=True)
        os.chmod(cls.tmp, 0o777)
        cls.sim = Simulator(args=["--seed-nodes", "4", "--seed-safekeepers", "4", "--time-scale", "0.1"])
        cls.port = free_port()
        cls.config = fixture_for("cluster_settings.json", os.path.join(cls.tmp, "config.json"))
        cls.pg = Cluster("lifecycle", settings={
            "storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port), "storcon.sync_interval": "0",
            "neon.tenant_id": f"'{TENANT}'", "neon.timeline_id": f"'{TIMELINE}'",
            "storcon.compute_ctl_config": f"'{cls.config}'", "storcon.hook_apply_timeout": "'4s'"})
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION pg_storcon; CREATE EXTENSION neon_stub")
        cls.pg.psql("SELECT * FROM storcon.sync_catalog()")
        cls.url = f"http://127.0.0.1:{cls.port}"
        wait_until(lambda: http("GET", cls.url + "/healthz", timeout=2)[0] == 200, 20, what="hook")

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def put(self, b, path="/notify-attach", timeout=15):
        status, text = http("PUT", self.url + path, b, timeout=timeout)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def assert_starts_from(self, path, connstring, stripe, safekeepers=None, generation=None):
        derived = model.derive_file(path)
        self.assertEqual((derived.tenant_id, derived.timeline_id), (TENANT, TIMELINE))
        self.assertEqual(derived.setting("neon.pageserver_connstring"), connstring)
        first = connstring.split(",")[0]
        self.assertIn(first.split("@")[1], derived.basebackup_url)  # the basebackup comes from shard 0
        if stripe is not None:
            self.assertEqual(derived.setting("neon.stripe_size"), str(stripe))
            self.assertEqual(derived.effect_order("neon.pageserver_connstring", "neon.stripe_size"),
                             ["neon.stripe_size", "neon.pageserver_connstring"])
        if safekeepers is not None:
            want = (f"g#{generation}:" if generation else "") + safekeepers
            self.assertEqual(derived.setting("neon.safekeepers"), want)
            self.assertEqual(derived.compute_ctl_safekeepers, safekeepers.split(","))  # never the prefix
        return derived

    def test_1_every_change_reaches_compute_ctls_config(self):
        for name in ("cluster_settings.json", "compute_config_spec_fields.json", "connection_info.json",
                     "bare_spec.json"):
            with self.subTest(form=name):
                path = fixture_for(name, os.path.join(self.tmp, name))
                self.pg.psql(f"ALTER SYSTEM SET storcon.compute_ctl_config = '{path}'")
                self.pg.reload()
                status, reply = self.put(body([1, 2]))
                self.assertEqual(status, 200, reply)
                status, reply = self.put(body([3, 2]))
                self.assertEqual(status, 200, reply)
                self.assert_starts_from(path, conn(3, 2), 2048)
                status, reply = self.put(sk_body(5, [2, 3, 4]), path="/notify-safekeepers")
                self.assertEqual(status, 200, reply)
                self.assert_starts_from(path, conn(3, 2), 2048, sks(2, 3, 4), 5)
                # unsharded again: one pageserver
                self.assertEqual(self.put(body([4]))[0], 200)
                self.assert_starts_from(path, conn(4), None, sks(2, 3, 4), 5)
                st = json.loads(http("GET", self.url + "/status")[1])["compute_ctl_config"]
                self.assertEqual(st["path"], path)
                self.assertIsNone(st["last_error"])
        self.pg.psql(f"ALTER SYSTEM SET storcon.compute_ctl_config = '{self.config}'")
        self.pg.reload()

    def test_2_a_restart_after_a_migration_starts_from_the_new_place(self):
        self.assertEqual(self.put(body([1, 2], stripe=4096))[0], 200)
        self.assertEqual(self.put(sk_body(7, [1, 2, 3]), path="/notify-safekeepers")[0], 200)
        self.assertEqual(self.put(body([4, 3], stripe=4096))[0], 200)  # the migration
        derived = self.assert_starts_from(self.config, conn(4, 3), 4096, sks(1, 2, 3), 7)
        # compute_ctl's start: PGDATA rebuilt, postgresql.auto.conf empty (the basebackup's), the neon
        # settings written into postgresql.conf from the config file, in compute_ctl's order.
        self.pg.stop()
        with open(self.pg.path("postgresql.auto.conf"), "w") as f:
            f.write("# Do not edit this file manually!\n")
        neon = [text for name, _, text in derived.lines
                if name.lower() in ("neon.stripe_size", "neon.pageserver_connstring", "neon.safekeepers")]
        with open(self.pg.path("postgresql.conf"), "a") as f:
            f.write("\n".join(neon) + "\n")
        self.pg.start()
        wait_until(lambda: http("GET", self.url + "/healthz", timeout=2)[0] == 200, 20, what="hook")
        self.assertEqual(self.pg.psql("SHOW neon.pageserver_connstring"), conn(4, 3))
        self.assertEqual(self.pg.psql("SHOW neon.safekeepers"), "g#7:" + sks(1, 2, 3))
        # the postmaster built its shard map with the stripe size already in effect
        self.assertEqual(self.pg.psql("SELECT num_shards || ':' || stripe_size FROM neon_stub_shard_map()"), "2:4096")

    def test_3_the_deadline_holds_and_nothing_waits_behind_a_slow_notification(self):
        # A node the catalog lacks, storcon slow to list nodes, and a forward to a compute that
        # accepts and never answers: answered 503 within the deadline (storcon gives 10 s).
        silent = SilentPeer()
        self.pg.psql(f"ALTER SYSTEM SET storcon.hook_forward_to = '{silent.url}'")
        self.pg.reload()
        time.sleep(0.3)
        self.sim.call("POST", "/control/v1/node", {
            "node_id": 9, "listen_pg_addr": "127.0.0.9", "listen_pg_port": 6409,
            "listen_http_addr": "127.0.0.9", "listen_http_port": 9809, "availability_zone_id": "az-1"})
        self.sim.fault(path_prefix="/control/v1/node", delay_ms=3000, times=2)
        try:
            with concurrent.futures.ThreadPoolExecutor(2) as ex:
                started = time.monotonic()
                slow = ex.submit(lambda: (*self.put(body([1, 9])), time.monotonic()))
                time.sleep(0.3)
                other = self.put(body([1], tenant="0000000000000000000000000000beef"))
                other_done = time.monotonic()
                status, reply, slow_done = slow.result(timeout=15)  # when the slow one was answered
            self.assertEqual(other[0], 200)
            self.assertEqual(other[1]["status"], "not_hosted")
            self.assertLess(other_done, slow_done)  # it did not wait behind the slow one
            self.assertEqual(status, 503, reply)
            self.assertLess(slow_done - started, 10.0)  # storcon's clock (a protocol limit)
            # what was late is named: the silent compute (and the refresh, if still pending)
            self.assertIn(silent.url.removeprefix("http://"), reply["msg"])
        finally:
            self.sim.clear_faults()
            silent.close()
            self.pg.psql("ALTER SYSTEM RESET storcon.hook_forward_to")
            self.pg.reload()

    def test_4_a_reconcile_waits_for_a_settled_storcon(self):
        status, _ = self.sim.call("POST", "/v1/tenant", {"new_tenant_id": TENANT,
                                                          "shard_parameters": {"count": 2, "stripe_size": 2048}})
        self.assertIn(status, (200, 201))
        self.pg.psql("SELECT * FROM storcon.reconcile()")
        _, describe = self.sim.call("GET", f"/control/v1/tenant/{TENANT}")
        where = [s["node_attached"] for s in describe["shards"]]
        self.pg.poll("SHOW neon.pageserver_connstring", conn(*where))
        # A live migration whose compute notification cannot be delivered (storcon's hook URL is
        # dead): storcon's intent names the destination, not yet attached, not yet notified.
        self.sim.call("POST", "/__sim/config", {"control_plane_url": f"http://127.0.0.1:{free_port()}"})
        target = next(n for n in (1, 2, 3, 4) if n not in where)
        shard = describe["shards"][0]["tenant_shard_id"]
        status, answer = self.sim.call("PUT", f"/control/v1/tenant/{shard}/migrate",
                                       {"node_id": target, "migration_config": {"override_scheduler": True}})
        self.assertIn(status, (200, 408), answer)
        _, describe = self.sim.call("GET", f"/control/v1/tenant/{TENANT}")
        self.assertTrue(describe["shards"][0]["is_reconciling"] or describe["shards"][0]["is_pending_compute_notification"])
        self.assertEqual(self.pg.psql("SELECT count(*) FROM storcon.reconcile()"), "0")  # not applied
        self.assertEqual(self.pg.psql("SHOW neon.pageserver_connstring"), conn(*where))
        st = json.loads(http("GET", self.url + "/status")[1])["reconcile"]
        self.assertIn("moving", st["note"])
        # storcon reaches the hook: its notification applies the move.
        self.sim.call("POST", "/__sim/config", {"control_plane_url": self.url})
        moved = [target] + where[1:]
        self.pg.poll("SHOW neon.pageserver_connstring", conn(*moved), timeout=30)
        self.sim.call("POST", "/__sim/config", {"control_plane_url": None})
        # Secondary: nothing to do, and not a failure.
        self.sim.call("PUT", f"/control/v1/tenant/{TENANT}/policy", {"placement": "Secondary"})
        self.assertEqual(self.pg.psql("SELECT count(*) FROM storcon.reconcile()"), "0")
        st = json.loads(http("GET", self.url + "/status")[1])["reconcile"]
        self.assertEqual(st["failures_in_a_row"], 0)
        self.sim.call("PUT", f"/control/v1/tenant/{TENANT}/policy", {"placement": {"Attached": 1}})

    def test_5_import_complete_and_hosts_as_storcon_stores_them(self):
        status, reply = self.put({"tenant_id": TENANT, "timeline_id": TIMELINE, "error": None},
                                 path="/import_complete")
        self.assertEqual((status, reply["status"]), (200, "recorded"))
        wait_until(lambda: self.pg.psql("SELECT outcome FROM storcon.notifications WHERE kind = 'import_complete'")
                   == "recorded", 10, what="the audit record")
        self.assertEqual(self.put({"tenant_id": "zz"}, path="/import_complete")[0], 400)
        # An absolute FQDN with a long label, as storcon stores it.
        host = "a" * 70 + ".localhost."
        self.sim.call("POST", "/control/v1/node", {
            "node_id": 12, "listen_pg_addr": host, "listen_pg_port": 6412,
            "listen_http_addr": "127.0.0.1", "listen_http_port": 9812, "availability_zone_id": "az-1"})
        status, reply = self.put(body([12]))
        self.assertEqual(status, 200, reply)
        self.assertEqual(self.pg.psql("SHOW neon.pageserver_connstring"), f"postgres://no_user@{host}:6412")


class VersionFloorTest(unittest.TestCase):
    def test_no_generation_prefix_for_a_protocol_2_walproposer(self):
        port = free_port()
        sim = Simulator(args=["--seed-safekeepers", "3"])
        pg = Cluster("proto2", settings={"storcon.url": f"'{sim.url}'", "storcon.hook_port": str(port),
                                         "storcon.sync_interval": "0", "neon.tenant_id": f"'{TENANT}'",
                                         "neon.timeline_id": f"'{TIMELINE}'", "neon.safekeeper_proto_version": "2"})
        try:
            pg.start()
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: http("GET", url + "/healthz", timeout=2)[0] == 200, 20, what="hook")
            status, text = http("PUT", url + "/notify-safekeepers", sk_body(3, [1, 2, 3]))
            self.assertEqual(status, 200, text)
            self.assertEqual(pg.psql("SHOW neon.safekeepers"), sks(1, 2, 3))  # no g#3: (FATAL there)
            # the same set with a newer generation changes nothing that protocol 2 could see
            status, text = http("PUT", url + "/notify-safekeepers", sk_body(4, [3, 2, 1]))
            self.assertEqual((status, json.loads(text)["status"]), (200, "unchanged"))
        finally:
            pg.destroy()
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
