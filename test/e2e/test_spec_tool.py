#!/usr/bin/env python3
"""End to end: pg_storcon_spec, compute_ctl's pre-start command, against the storcon simulator.

For every form of compute_ctl config file (test/fixtures/compute_ctl/), the installed tool must
leave a file from which compute_ctl would start the compute on storcon's current storage: the
basebackup from shard 0's pageserver, neon.stripe_size taking effect before
neon.pageserver_connstring, neon.safekeepers with the generation prefix and compute_ctl's own
safekeeper list without it. That is checked with test/lib/compute_ctl_model.py after the tenant is
created, after a shard moves, after a split and after a safekeeper migration. When storcon is
down, answers garbage or refuses, or the tenant does not settle in time, the tool fails and the
file stays byte-identical. No PostgreSQL server is needed.
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import compute_ctl_model as model  # noqa: E402
from harness import REPO, Simulator, free_port, pg_bindir, wait_until  # noqa: E402

FIXTURES = os.path.join(REPO, "test", "fixtures", "compute_ctl")
# fixture -> the shard count storcon creates its tenant with (1 = a one-shard tenant: keys "0001")
FORMS = {
    "compute_config_spec_fields.json": 0,
    "bare_spec.json": 0,
    "connection_info.json": 1,
    "cluster_settings.json": 0,
}
PREWARM_OFF = {"prewarm": False, "override_scheduler": True}   # move now, wherever we say


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_text(path):
    with open(path) as f:
        return f.read()


def ids_of(path):
    derived = model.derive_file(path)
    return derived.tenant_id, derived.timeline_id


class StorconView:
    """What the simulator (storcon) says, computed here independently of the tool."""

    def __init__(self, sim, tenant, timeline):
        status, describe = sim.call("GET", f"/control/v1/tenant/{tenant}")
        assert status == 200, describe
        _, nodes = sim.call("GET", "/control/v1/node")
        by_id = {n["id"]: n for n in nodes}
        shards = sorted(describe["shards"], key=lambda s: s["tenant_shard_id"])
        self.nodes = [s["node_attached"] for s in shards]
        self.urls = ["postgres://no_user@%s:%d" % (by_id[n]["listen_pg_addr"], by_id[n]["listen_pg_port"])
                     for n in self.nodes]
        self.stripe = describe["stripe_size"]
        self.generation, self.safekeepers = None, None
        status, locate = sim.call("GET", f"/debug/v1/tenant/{tenant}/timeline/{timeline}/locate")
        if status == 200:
            _, sks = sim.call("GET", "/control/v1/safekeeper")
            by_sk = {s["id"]: s for s in sks}
            ids = list(locate["sk_set"]) + [i for i in (locate["new_sk_set"] or []) if i not in locate["sk_set"]]
            self.generation = locate["generation"]
            self.safekeepers = ["%s:%d" % (by_sk[i]["host"], by_sk[i]["port"]) for i in ids]
            self.sk_ids = ids


class SpecToolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tool = os.path.join(pg_bindir(), "pg_storcon_spec")
        if not os.path.exists(cls.tool):
            raise AssertionError(f"{cls.tool} is not installed (make install)")
        # storcon's clock at a tenth: a migration whose hook fails answers 408 after 3 s, not 30 s.
        cls.sim = Simulator(args=["--seed-nodes", "4", "--seed-safekeepers", "4", "--pending-retry-interval", "0",
                                  "--time-scale", "0.1"])
        cls.tmp = tempfile.mkdtemp(prefix="pg_storcon_spec_")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers --------------------------------------------------------------------------

    def copy(self, fixture, name=None, edit=None):
        """A copy of a fixture in the test's directory (optionally edited as JSON)."""
        path = os.path.join(self.tmp, name or fixture)
        shutil.copyfile(os.path.join(FIXTURES, fixture), path)
        if edit is not None:
            with open(path) as f:
                config = json.load(f)
            edit(config)
            with open(path, "w") as f:
                json.dump(config, f, indent=4)
        return path

    def run_tool(self, path, *args, url=None, wait="5", sim=None):
        cmd = [self.tool, "--storcon-url", url or (sim or self.sim).url, "--wait", wait, *args, path]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def ok(self, path, *args, **kw):
        r = self.run_tool(path, *args, **kw)
        self.assertEqual(r.returncode, 0, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def create(self, tenant, timeline, count=0):
        body = {"new_tenant_id": tenant, "placement_policy": {"Attached": 0}}
        if count:
            body["shard_parameters"] = {"count": count, "stripe_size": 2048}
        status, created = self.sim.call("POST", "/v1/tenant", body)
        self.assertEqual(status, 201, created)
        if timeline is not None:
            status, created = self.sim.call("POST", f"/v1/tenant/{tenant}/timeline", {"new_timeline_id": timeline})
            self.assertEqual(status, 201, created)

    def shard_ids(self, tenant):
        _, describe = self.sim.call("GET", f"/control/v1/tenant/{tenant}")
        return sorted(s["tenant_shard_id"] for s in describe["shards"])

    def migrate(self, shard_id, node):
        status, body = self.sim.call("PUT", f"/control/v1/tenant/{shard_id}/migrate",
                                     {"node_id": node, "migration_config": PREWARM_OFF})
        self.assertIn(status, (200, 408), body)   # 408: storcon stopped waiting, the move goes on

    def other_node(self, current):
        return next(n for n in (1, 2, 3, 4) if n != current)

    def assert_starts_right(self, path, tenant, timeline, prefix=True, sk_managed=True):
        """compute_ctl, started from this file now, would use storcon's current storage."""
        derived = model.derive_file(path)
        view = StorconView(self.sim, tenant, timeline)
        self.assertEqual((derived.tenant_id, derived.timeline_id), (tenant, timeline))
        self.assertEqual(derived.basebackup_url, view.urls[0])
        self.assertEqual(derived.setting("neon.pageserver_connstring"), ",".join(view.urls))
        if len(view.urls) > 1:
            self.assertEqual(derived.setting("neon.stripe_size"), str(view.stripe))
            self.assertEqual(derived.effect_order("neon.pageserver_connstring", "neon.stripe_size"),
                             ["neon.stripe_size", "neon.pageserver_connstring"],
                             "neon.stripe_size must take effect before neon.pageserver_connstring:\n"
                             + derived.conf_text())
            self.assertEqual(derived.conninfo["shard_count"], len(view.urls))
            self.assertEqual(derived.conninfo["stripe_size"], view.stripe)
        if sk_managed:
            self.assertIsNotNone(view.safekeepers)
            expected = ("g#%d:" % view.generation if prefix else "") + ",".join(view.safekeepers)
            self.assertEqual(derived.setting("neon.safekeepers"), expected, derived.conf_text())
            self.assertEqual(derived.compute_ctl_safekeepers, view.safekeepers)
        return derived, view

    # ---- every form through a tenant's life -----------------------------------------------

    def test_every_form_follows_moves_splits_and_safekeeper_migrations(self):
        for fixture, count in FORMS.items():
            with self.subTest(form=fixture):
                self.one_form(fixture, count)

    def one_form(self, fixture, count):
        path = self.copy(fixture)
        os.chmod(path, 0o640)
        tenant, timeline = ids_of(path)
        self.create(tenant, timeline, count)

        r = self.ok(path)
        self.assertIn("updated", r.stdout)
        derived, view = self.assert_starts_right(path, tenant, timeline)
        self.assertNotIn("retired", derived.basebackup_url)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o640)

        # Nothing moved: the file is not touched (same inode, same bytes).
        before = read_bytes(path)
        inode = os.stat(path).st_ino
        r = self.ok(path)
        self.assertIn("unchanged", r.stdout)
        self.assertEqual(read_bytes(path), before)
        self.assertEqual(os.stat(path).st_ino, inode)

        # A live migration of the only shard.
        target = self.other_node(view.nodes[0])
        self.migrate(self.shard_ids(tenant)[0], target)
        self.ok(path)
        derived, view = self.assert_starts_right(path, tenant, timeline)
        self.assertEqual(view.nodes, [target])

        # A split to 2 shards with a new stripe size, then shard 1 moves elsewhere.
        status, body = self.sim.call("PUT", f"/control/v1/tenant/{tenant}/shard_split",
                                     {"new_shard_count": 2, "new_stripe_size": 4096})
        self.assertEqual(status, 200, body)
        self.migrate(self.shard_ids(tenant)[1], self.other_node(target))
        r = self.ok(path)
        self.assertIn("2 shards, stripe size 4096", r.stdout)
        derived, view = self.assert_starts_right(path, tenant, timeline)
        self.assertEqual(len(view.urls), 2)
        self.assertNotEqual(view.nodes[0], view.nodes[1])

        # A safekeeper migration: joint then final configuration, generation + 2.
        old = StorconView(self.sim, tenant, timeline)
        spare = next(i for i in (1, 2, 3, 4) if i not in old.sk_ids)
        new_set = old.sk_ids[1:] + [spare]
        status, body = self.sim.call("POST", f"/v1/tenant/{tenant}/timeline/{timeline}/safekeeper_migrate",
                                     {"new_sk_set": new_set})
        self.assertEqual(status, 200, body)
        self.ok(path)
        derived, view = self.assert_starts_right(path, tenant, timeline)
        self.assertEqual(view.generation, old.generation + 2)
        self.assertEqual(view.sk_ids, new_set)

        self.assertIn("unchanged", self.ok(path).stdout)
        # The rest of the file is still there.
        with open(os.path.join(FIXTURES, fixture)) as f:
            original = model.spec_of(json.load(f))
        spec = model.spec_of(model.load(path))
        self.assertEqual(spec["cluster"]["roles"], original["cluster"]["roles"])
        self.assertEqual([s for s in spec["cluster"].get("settings") or [] if not s["name"].startswith("neon.")],
                         [s for s in original["cluster"].get("settings") or [] if not s["name"].startswith("neon.")])

    # ---- safekeeper generation prefix -----------------------------------------------------

    def test_generation_prefix_follows_the_computes_protocol(self):
        tenant, timeline = "5bec0000000000000000000000000010", "71e10000000000000000000000000010"

        def with_ids(config, proto=None):
            for s in config["spec"]["cluster"]["settings"]:
                if s["name"] == "neon.tenant_id":
                    s["value"] = tenant
                if s["name"] == "neon.timeline_id":
                    s["value"] = timeline
            if proto is not None:
                config["spec"]["cluster"]["settings"].append(
                    {"name": "neon.safekeeper_proto_version", "value": str(proto), "vartype": "integer"})

        self.create(tenant, timeline)
        # The config says protocol 2: no prefix, whatever the flags say.
        path = self.copy("cluster_settings.json", "proto2.json", lambda c: with_ids(c, 2))
        self.ok(path, "--safekeeper-proto-version", "3")
        derived, _ = self.assert_starts_right(path, tenant, timeline, prefix=False)
        self.assertFalse(derived.setting("neon.safekeepers").startswith("g#"))
        # The config does not say: the flags decide, else neon's default (3, the prefix).
        for args, prefix in ((["--safekeeper-proto-version", "2"], False), (["--no-generation-prefix"], False),
                             ([], True), (["--safekeeper-proto-version", "3"], True)):
            with self.subTest(args=args):
                path = self.copy("cluster_settings.json", "flags.json", with_ids)
                self.ok(path, *args)
                self.assert_starts_right(path, tenant, timeline, prefix=prefix)
        r = self.run_tool(path, "--no-generation-prefix", "--safekeeper-proto-version", "3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not both", r.stderr)

    def test_timeline_whose_safekeepers_storcon_does_not_manage(self):
        # No timeline in storcon's timelines table: locate answers 404, safekeepers stay.
        tenant, timeline = "5bec0000000000000000000000000011", "71e10000000000000000000000000011"

        def with_ids(config):
            config["spec"]["tenant_id"], config["spec"]["timeline_id"] = tenant, timeline
        path = self.copy("compute_config_spec_fields.json", "unmanaged.json", with_ids)
        self.create(tenant, None)
        r = self.ok(path)
        self.assertIn("does not manage", r.stdout)
        derived, _ = self.assert_starts_right(path, tenant, timeline, sk_managed=False)
        self.assertEqual(derived.compute_ctl_safekeepers,
                         ["retired-sk1.internal:5454", "retired-sk2.internal:5454", "retired-sk3.internal:5454"])
        self.assertEqual(derived.setting("neon.safekeepers"), "g#1:" + ",".join(derived.compute_ctl_safekeepers))

    # ---- failures leave the file alone ----------------------------------------------------

    def failing(self, fixture, expected_code, *args, edit=None, **kw):
        path = self.copy(fixture, "failing.json", edit)
        before = read_bytes(path)
        r = self.run_tool(path, *args, **kw)
        self.assertEqual(r.returncode, expected_code, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertEqual(read_bytes(path), before, "a failed run changed the file")
        self.assertFalse([n for n in os.listdir(self.tmp) if ".tmp." in n], "a temporary file was left")
        return r

    def test_storcon_down(self):
        closed = f"http://127.0.0.1:{free_port()}"
        r = self.failing("cluster_settings.json", 1, url=closed, wait="0")
        self.assertIn("could not reach storcon", r.stderr)
        # With time to wait it keeps asking, then gives up with the reason.
        r = self.failing("cluster_settings.json", 1, url=closed, wait="2")
        self.assertIn("gave up after 2 s", r.stderr)
        self.assertIn("could not reach storcon", r.stderr)

    def test_storcon_answers_garbage_or_errors(self):
        tenant, timeline = "5bec0000000000000000000000000012", "71e10000000000000000000000000012"

        def with_ids(config):
            config["spec"]["tenant_id"], config["spec"]["timeline_id"] = tenant, timeline
        self.create(tenant, timeline)
        cases = [
            ({"path_prefix": "/control/v1/tenant/", "garbage": True}, "not JSON"),
            ({"path_prefix": "/control/v1/node", "garbage": True}, "not JSON"),
            ({"path_prefix": "/control/v1/safekeeper", "garbage": True}, "not JSON"),
            ({"path_prefix": "/control/v1/tenant/", "status": 403, "body": '{"msg":"Forbidden: JWT authentication error"}'},
             "Forbidden"),
            ({"path_prefix": "/control/v1/node", "status": 200, "body": '{"nodes": "no"}'}, "not what it should be"),
            ({"path_prefix": "/control/v1/tenant/", "status": 503, "body": '{"msg":"Shutting down"}'}, "Shutting down"),
            # An answer over the tool's 16 MiB cap is refused, not read.
            ({"path_prefix": "/control/v1/node", "status": 200, "body": '["' + "x" * (17 << 20) + '"]'},
             "is larger than 16 MiB"),
        ]
        for fault, message in cases:
            with self.subTest(fault=fault):
                self.sim.clear_faults()
                self.sim.fault(**fault)
                path = self.copy("compute_config_spec_fields.json", "failing.json", with_ids)
                before = read_bytes(path)
                r = self.run_tool(path, wait="0")
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(message, r.stderr)
                self.assertEqual(read_bytes(path), before)
        self.sim.clear_faults()
        # An unknown tenant: storcon's 404, said plainly.
        def unknown(config):
            config["spec"]["tenant_id"] = "5bec00000000000000000000000000ff"
        r = self.failing("compute_config_spec_fields.json", 1, edit=unknown)
        self.assertIn("storcon refused", r.stderr)
        self.assertIn("not found", r.stderr)

    def test_config_that_cannot_be_understood(self):
        r = self.failing("cluster_settings.json", 2, "--no-such-flag")
        self.assertIn("unknown or incomplete option", r.stderr)
        # Neon's docker-compose template before compute.sh substituted the ids.
        def placeholder(config):
            for s in config["spec"]["cluster"]["settings"]:
                if s["name"] == "neon.tenant_id":
                    s["value"] = "TENANT_ID"
        path = self.copy("cluster_settings.json", "failing.json", placeholder)
        before = read_bytes(path)
        r = self.run_tool(path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("\"TENANT_ID\", not a tenant id", r.stderr)
        self.assertEqual(read_bytes(path), before)
        with open(path, "w") as f:
            f.write('{"spec": {"cluster": ')
        r = self.run_tool(path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not valid JSON", r.stderr)
        r = self.run_tool(os.path.join(self.tmp, "missing.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot open", r.stderr)

    def test_tenant_not_attached(self):
        tenant, timeline = "5bec0000000000000000000000000013", "71e10000000000000000000000000013"
        self.create(tenant, timeline)
        status, body = self.sim.call("PUT", f"/control/v1/tenant/{tenant}/policy", {"placement": "Detached"})
        self.assertEqual(status, 200, body)

        def with_ids(config):
            config["spec"]["tenant_id"], config["spec"]["timeline_id"] = tenant, timeline
        path = self.copy("compute_config_spec_fields.json", "failing.json", with_ids)
        before = read_bytes(path)
        r = self.run_tool(path)
        self.assertEqual(r.returncode, 1)
        # storcon drops an idle Detached tenant from memory (describe answers 404 then).
        self.assertTrue("placement policy Detached" in r.stderr or "not found" in r.stderr, r.stderr)
        self.assertEqual(read_bytes(path), before)

    # ---- an unsettled tenant ----------------------------------------------------------------

    def test_unsettled_tenant_waits_then_fails_or_succeeds(self):
        tenant, timeline = "5bec0000000000000000000000000014", "71e10000000000000000000000000014"
        self.create(tenant, timeline)

        def with_ids(config):
            config["spec"]["tenant_id"], config["spec"]["timeline_id"] = tenant, timeline
        # The compute hook cannot be reached: after a move storcon keeps a notification pending,
        # and its placement is not one a compute may start from yet.
        hook = _Hook()
        try:
            self.sim.call("POST", "/__sim/config", {"control_plane_url": f"http://127.0.0.1:{free_port()}"})
            shard = self.shard_ids(tenant)[0]
            _, describe = self.sim.call("GET", f"/control/v1/tenant/{tenant}")
            target = self.other_node(describe["shards"][0]["node_attached"])
            self.migrate(shard, target)
            _, describe = self.sim.call("GET", f"/control/v1/tenant/{tenant}")
            self.assertTrue(any(s["is_pending_compute_notification"] or s["is_reconciling"]
                                for s in describe["shards"]), describe)

            path = self.copy("compute_config_spec_fields.json", "failing.json", with_ids)
            before = read_bytes(path)
            r = self.run_tool(path, wait="2")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("waiting: tenant %s is not settled" % tenant, r.stderr)
            self.assertIn("gave up after 2 s", r.stderr)
            self.assertEqual(read_bytes(path), before)

            # Started while unsettled, the tool waits; once the hook answers and storcon has
            # notified, it writes the new placement.
            path = self.copy("compute_config_spec_fields.json", "waiting.json", with_ids)
            stderr_path = os.path.join(self.tmp, "waiting.stderr")
            with open(stderr_path, "w") as err:
                proc = subprocess.Popen([self.tool, "--storcon-url", self.sim.url, "--wait", "300", path],
                                        stdout=subprocess.PIPE, stderr=err, text=True)
            try:
                wait_until(lambda: "not settled" in read_text(stderr_path), 60, what="the tool to wait")
                self.sim.call("POST", "/__sim/config", {"control_plane_url": hook.url})
                wait_until(lambda: self.sim.call("POST", "/debug/v1/reconcile_all")[0] == 200 and
                           not any(s["is_pending_compute_notification"] or s["is_reconciling"] for s in
                                   self.sim.call("GET", f"/control/v1/tenant/{tenant}")[1]["shards"]),
                           60, what="storcon to notify the compute")
                out, _ = proc.communicate(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self.assertEqual(proc.returncode, 0, read_text(stderr_path))
            self.assertIn("updated", out)
            _, view = self.assert_starts_right(path, tenant, timeline)
            self.assertEqual(view.nodes, [target])
        finally:
            self.sim.call("POST", "/__sim/config", {"control_plane_url": None})
            hook.stop()

    # ---- authentication -------------------------------------------------------------------------

    def test_token_file(self):
        sim = Simulator(args=["--seed-nodes", "1", "--seed-safekeepers", "3", "--token", "s3cret"])
        try:
            tenant, timeline = "5bec0000000000000000000000000015", "71e10000000000000000000000000015"
            for p, body in ((f"/v1/tenant", {"new_tenant_id": tenant}),
                            (f"/v1/tenant/{tenant}/timeline", {"new_timeline_id": timeline})):
                status, created = sim.call("POST", p, body, token="s3cret")
                self.assertEqual(status, 201, created)

            def with_ids(config):
                config["spec"]["tenant_id"], config["spec"]["timeline_id"] = tenant, timeline
            path = self.copy("compute_config_spec_fields.json", "token.json", with_ids)
            before = read_bytes(path)
            r = self.run_tool(path, sim=sim)
            self.assertEqual(r.returncode, 1)
            self.assertIn("Unauthorized", r.stderr)
            self.assertEqual(read_bytes(path), before)
            token = os.path.join(self.tmp, "token")
            with open(token, "w") as f:
                f.write("s3cret\n")
            r = self.run_tool(path, "--token-file", token, sim=sim)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("updated", r.stdout)
            self.assertEqual(model.derive_file(path).basebackup_url, "postgres://no_user@127.0.0.1:6401")
        finally:
            sim.stop()


class _Hook:
    """A compute hook that accepts every notification (storcon then considers it delivered)."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    unittest.main()
