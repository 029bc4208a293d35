#!/usr/bin/env python3
"""Self-test for storcon_sim.py.

Why this file exists: the storage-controller simulator is the fixture every pg_storcon test
relies on, so its own behaviour (JSON shapes, status codes, error texts, compute-hook bodies,
test knobs) is checked here against the contract in /work/shared/reference/neon-contract.md.
It starts the simulator as a subprocess on a free port and talks to it over HTTP.

Run: /usr/bin/python3 test/sim/test_storcon_sim.py   (exits non-zero on failure)
"""

import http.client
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "storcon_sim.py")

T1 = "1f359dd625e519a1a4e8d7509690f6fc"
T2 = "072f1291a5310026820b2fe4b2968934"
TL1 = "de200bd42b49cc1814412c7e592dd6e9"
TL2 = "0a0b0c0d0e0f00112233445566778899"

NODE_FIELDS = ["id", "availability", "scheduling", "availability_zone_id", "listen_http_addr",
               "listen_http_port", "listen_https_port", "listen_pg_addr", "listen_pg_port",
               "listen_grpc_addr", "listen_grpc_port"]


class SimProcess:
    """The simulator running as a subprocess on a free port."""

    def __init__(self, *extra_args):
        self.tmpdir = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.tmpdir.name, "port")
        self.proc = subprocess.Popen(
            [sys.executable, SIM, "--port", "0", "--port-file", port_file] + list(extra_args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("simulator did not start: %r" % (self.proc.communicate(),))
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        line = self.proc.stdout.readline().decode()
        assert line.strip() == "storcon_sim listening on http://127.0.0.1:%d" % self.port, line

    def call(self, method, path, body=None, headers=None, raw=None, timeout=10):
        """Returns (status, parsed JSON or None, raw bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            payload = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return resp.status, parsed, payload

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(5)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.tmpdir.cleanup()
        return rc


class HookServer:
    """A tiny compute-hook receiver that records every request."""

    def __init__(self):
        self.calls = []            # (method, path, body bytes, authorization)
        self.statuses = []         # statuses to answer with, in order; then 200
        hook = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.calls.append((self.command, self.path, body, self.headers.get("Authorization")))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/hook/" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


SIM_PROC = None


def setUpModule():
    global SIM_PROC
    SIM_PROC = SimProcess("--pending-retry-interval", "0")


def tearDownModule():
    assert SIM_PROC.stop() == 0


def register_body(node_id, port=6400, az="az-1"):
    return {"node_id": node_id, "listen_pg_addr": "ps%d" % node_id, "listen_pg_port": port,
            "listen_http_addr": "ps%d" % node_id, "listen_http_port": 9898,
            "availability_zone_id": az}


def sk_body(sk_id, az="az-1"):
    return {"id": sk_id, "region_id": "r1", "version": 1, "host": "sk%d" % sk_id, "port": 5454,
            "http_port": 7676, "availability_zone_id": az, "created_at": "ignored"}


class SimTestCase(unittest.TestCase):
    def setUp(self):
        self.sim = SIM_PROC
        self.assertEqual(self.sim.call("POST", "/__sim/reset")[0], 200)

    def call(self, *args, **kwargs):
        return self.sim.call(*args, **kwargs)

    def seed(self, nodes=0, safekeepers=0):
        self.assertEqual(self.call("POST", "/__sim/seed", {"nodes": nodes, "safekeepers": safekeepers})[0], 200)

    def assertError(self, result, status, msg):
        self.assertEqual(result[0], status, result)
        self.assertEqual(result[1], {"msg": msg})

    def assertErrorPrefix(self, result, status, prefix):
        self.assertEqual(result[0], status, result)
        self.assertTrue(result[1]["msg"].startswith(prefix), result[1])


class NodeTests(SimTestCase):
    def test_register_list_describe(self):
        self.assertEqual(self.call("POST", "/control/v1/node", register_body(2, az="az-2")), (200, None, b"null"))
        self.assertEqual(self.call("POST", "/control/v1/node", register_body(1))[0], 200)
        # identical re-registration is a no-op, a different port is refused
        self.assertEqual(self.call("POST", "/control/v1/node", register_body(1))[:2], (200, None))
        self.assertError(self.call("POST", "/control/v1/node", register_body(1, port=7000)), 409,
                         "Conflict: Node is already registered with different address")
        status, nodes, _ = self.call("GET", "/control/v1/node")
        self.assertEqual(status, 200)
        self.assertEqual([n["id"] for n in nodes], [1, 2])
        status, node, raw = self.call("GET", "/control/v1/node/1")
        self.assertEqual(list(node), NODE_FIELDS)
        self.assertEqual(raw, b'{"id":1,"availability":"Active","scheduling":"Active",'
                              b'"availability_zone_id":"az-1","listen_http_addr":"ps1","listen_http_port":9898,'
                              b'"listen_https_port":null,"listen_pg_addr":"ps1","listen_pg_port":6400,'
                              b'"listen_grpc_addr":null,"listen_grpc_port":null}')
        self.assertError(self.call("GET", "/control/v1/node/99"), 404, "NotFound: Node 99 not registered")
        self.assertError(self.call("GET", "/control/v1/node/abc"), 400, "failed to parse node_id")
        self.assertError(self.call("GET", "/no/such/route"), 404, "NotFound: route not found")

    def test_configure_and_shards(self):
        self.seed(nodes=3)
        self.assertError(self.call("PUT", "/control/v1/node/1/config", {"node_id": 2}), 400,
                         "Path and body node_id differ")
        self.assertErrorPrefix(self.call("PUT", "/control/v1/node/1/config",
                                         {"node_id": 1, "scheduling": "Bogus"}), 400,
                               "Failed to parse json request: scheduling: unknown variant `Bogus`")
        self.assertEqual(self.call("PUT", "/control/v1/node/2/config",
                                   {"node_id": 2, "scheduling": "Pause"})[:2], (200, None))
        self.assertEqual(self.call("GET", "/control/v1/node/2")[1]["scheduling"], "Pause")
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.assertEqual(self.call("GET", "/control/v1/node/1/shards")[1],
                         {"node_id": 1, "shards": [{"tenant_shard_id": T1, "is_observed_secondary": False,
                                                    "is_intended_secondary": False}]})

    def test_drain_fill_delete(self):
        self.seed(nodes=4)                       # nodes 1 and 4 are both in az-1
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.assertEqual(self.call("PUT", "/control/v1/node/1/drain")[:2], (202, None))
        node1 = self.call("GET", "/control/v1/node/1")[1]
        self.assertEqual(node1["scheduling"], "PauseForRestart")
        self.assertEqual(self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"][0]["node_attached"], 4)
        self.assertError(self.call("DELETE", "/control/v1/node/1/drain"), 412,
                         "Precondition failed: Node 1 has no drain in progress")
        self.assertError(self.call("PUT", "/control/v1/node/1/drain"), 412,
                         "Precondition failed: Node 1 cannot be drained due to PauseForRestart policy")
        self.assertEqual(self.call("PUT", "/control/v1/node/1/fill")[:2], (202, None))
        self.assertEqual(self.call("GET", "/control/v1/node/1")[1]["scheduling"], "Active")
        # delete node 4: the tenant moves back to the other az-1 node
        self.assertEqual(self.call("PUT", "/control/v1/node/4/delete")[:2], (200, None))
        self.assertError(self.call("GET", "/control/v1/node/4"), 404, "NotFound: Node 4 not registered")
        self.assertEqual(self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"][0]["node_attached"], 1)
        self.assertEqual(self.call("DELETE", "/control/v1/node/3")[:2], (200, None))
        self.assertEqual(self.call("DELETE", "/control/v1/node/2")[:2], (200, None))
        self.assertError(self.call("PUT", "/control/v1/node/1/drain"), 412,
                         "Precondition failed: No other schedulable nodes to drain to")


class ValidationTests(SimTestCase):
    def test_strict_json(self):
        bad = register_body(1)
        bad["node_id"] = "1"
        self.assertError(self.call("POST", "/control/v1/node", bad), 400,
                         'Failed to parse json request: node_id: invalid type: string "1", expected u64')
        bad = register_body(1)
        bad["listen_pg_port"] = 70000
        self.assertError(self.call("POST", "/control/v1/node", bad), 400,
                         "Failed to parse json request: listen_pg_port: invalid value: integer `70000`, expected u16")
        bad = register_body(1)
        bad["listen_http_port"] = 1.5
        self.assertErrorPrefix(self.call("POST", "/control/v1/node", bad), 400, "Failed to parse json request:")
        bad = register_body(1)
        del bad["availability_zone_id"]
        self.assertError(self.call("POST", "/control/v1/node", bad), 400,
                         "Failed to parse json request: missing field `availability_zone_id`")
        self.assertError(self.call("POST", "/control/v1/node", raw=b""), 400, "missing request body")
        self.assertErrorPrefix(self.call("POST", "/control/v1/node", raw=b"{not json"), 400,
                               "Failed to parse json request:")

    def test_tenant_create_strict(self):
        self.seed(nodes=1)
        self.assertError(self.call("POST", "/v1/tenant", {"new_tenant_id": T1, "bogus": 1}), 400,
                         "Failed to parse json request: unknown field `bogus`")
        self.assertError(self.call("POST", "/v1/tenant", {"new_tenant_id": T1,
                                                          "shard_parameters": {"count": 2}}), 400,
                         "Failed to parse json request: shard_parameters: missing field `stripe_size`")
        self.assertError(self.call("POST", "/v1/tenant", {"new_tenant_id": T1, "shard_parameters":
                                                          {"count": 2, "stripe_size": 8, "x": 1}}), 400,
                         "Failed to parse json request: shard_parameters: unknown field `x`, "
                         "expected `count` or `stripe_size`")
        self.assertError(self.call("POST", "/v1/tenant", {"new_tenant_id": T1 + "-0102"}), 400,
                         "Attempted to create a specific shard, this API is for creating the whole tenant")
        status, body, _ = self.call("POST", "/v1/tenant", {"new_tenant_id": T1, "pitr_interval": "7 days",
                                                           "placement_policy": {"Attached": 0}})
        self.assertEqual(status, 201)
        self.assertEqual(self.call("GET", "/v1/tenant/%s/config" % T1)[1],
                         {"tenant_specific_overrides": {"pitr_interval": "7 days"},
                          "effective_config": {"pitr_interval": "7 days"}})


class SafekeeperTests(SimTestCase):
    def test_upsert_and_policy(self):
        status, body, raw = self.call("POST", "/control/v1/safekeeper/1", sk_body(1))
        self.assertEqual((status, raw), (204, b""))
        sk = self.call("GET", "/control/v1/safekeeper/1")[1]
        self.assertEqual(list(sk), ["id", "region_id", "version", "host", "port", "http_port", "https_port",
                                    "availability_zone_id", "scheduling_policy"])
        self.assertEqual(sk["scheduling_policy"], "Activating")
        self.assertEqual(self.call("POST", "/__sim/heartbeat")[1], {"activated": [1]})
        self.assertEqual(self.call("GET", "/control/v1/safekeeper/1")[1]["scheduling_policy"], "Active")
        self.assertEqual(self.call("POST", "/control/v1/safekeeper/1/scheduling_policy",
                                   {"scheduling_policy": "Pause"})[:2], (200, None))
        self.assertEqual(self.call("GET", "/control/v1/safekeeper")[1][0]["scheduling_policy"], "Pause")
        self.assertError(self.call("POST", "/control/v1/safekeeper/7/scheduling_policy",
                                   {"scheduling_policy": "Active"}), 500, "unexpected number of rows (0)")
        self.assertError(self.call("POST", "/control/v1/safekeeper/2", sk_body(3)), 400,
                         "id mismatch: url=2, body=3")
        self.assertError(self.call("POST", "/control/v1/safekeeper/0", sk_body(0)), 400,
                         "id not allowed to be zero or negative")
        self.assertError(self.call("GET", "/control/v1/safekeeper/5"), 404, "NotFound: unknown instance id")


class TenantTests(SimTestCase):
    def test_sharded_create_locate_describe(self):
        self.seed(nodes=6)
        status, body, _ = self.call("POST", "/v1/tenant", {"new_tenant_id": T1.upper(), "shard_parameters":
                                                           {"count": 4, "stripe_size": 2048}})
        self.assertEqual(status, 201)
        ids = [s["shard_id"] for s in body["shards"]]
        self.assertEqual(ids, [T1 + "-0004", T1 + "-0104", T1 + "-0204", T1 + "-0304"])
        self.assertEqual({s["generation"] for s in body["shards"]}, {1})
        # spread inside the preferred AZ (az-1 = nodes 1 and 4)
        self.assertEqual([s["node_id"] for s in body["shards"]], [1, 4, 1, 4])
        # idempotent retry
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T1, "shard_parameters":
                                                          {"count": 4, "stripe_size": 2048}})[:2], (201, body))
        loc = self.call("GET", "/debug/v1/tenant/%s/locate" % T1)[1]
        self.assertEqual(loc["shard_params"], {"count": 4, "stripe_size": 2048})
        self.assertEqual(list(loc["shards"][0]), ["shard_id", "node_id", "listen_pg_addr", "listen_pg_port",
                                                  "listen_grpc_addr", "listen_grpc_port", "listen_http_addr",
                                                  "listen_http_port", "listen_https_port"])
        desc = self.call("GET", "/control/v1/tenant/" + T1)[1]
        self.assertEqual(list(desc), ["tenant_id", "shards", "stripe_size", "policy", "config"])
        self.assertEqual(desc["policy"], {"Attached": 0})
        self.assertEqual(desc["shards"][0]["preferred_az_id"], "az-1")
        self.assertEqual(len(self.call("GET", "/control/v1/tenant")[1]), 1)
        self.assertError(self.call("GET", "/control/v1/tenant/" + T2), 404, "NotFound: Tenant %s not found" % T2)
        self.assertEqual(self.call("DELETE", "/v1/tenant/" + T1)[:2], (200, None))
        self.assertError(self.call("DELETE", "/v1/tenant/" + T1), 404, "NotFound: Tenant %s not found" % T1)

    def test_no_nodes(self):
        self.assertErrorPrefix(self.call("POST", "/v1/tenant", {"new_tenant_id": T1}), 409,
                               "Conflict: Failed to schedule shard(s): ")

    def test_split(self):
        self.seed(nodes=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1, "shard_parameters": {"count": 2, "stripe_size": 2048}})
        self.assertError(self.call("PUT", "/control/v1/tenant/%s/shard_split" % T1,
                                   {"new_shard_count": 4, "new_stripe_size": 32768}), 400,
                         "Attempted to change stripe size (2048->32768) on a tenant with multiple shards")
        status, body, _ = self.call("PUT", "/control/v1/tenant/%s/shard_split" % T1, {"new_shard_count": 4})
        self.assertEqual(status, 200)
        self.assertEqual(sorted(body["new_shards"]), [T1 + "-0004", T1 + "-0104", T1 + "-0204", T1 + "-0304"])
        loc = self.call("GET", "/debug/v1/tenant/%s/locate" % T1)[1]
        self.assertEqual(loc["shard_params"]["count"], 4)
        self.assertError(self.call("PUT", "/control/v1/tenant/%s/shard_split" % T1, {"new_shard_count": 2}), 400,
                         "Requested count 2 but already have shards at count 4")
        # unsharded -> 2 with a new stripe size is allowed
        self.call("POST", "/v1/tenant", {"new_tenant_id": T2})
        status, body, _ = self.call("PUT", "/control/v1/tenant/%s/shard_split" % T2,
                                    {"new_shard_count": 2, "new_stripe_size": 32768})
        self.assertEqual((status, body), (200, {"new_shards": [T2 + "-0002", T2 + "-0102"]}))
        self.assertEqual(self.call("GET", "/control/v1/tenant/" + T2)[1]["stripe_size"], 32768)

    def test_migrate(self):
        self.seed(nodes=6)                       # az-1: 1, 4; az-2: 2, 5; az-3: 3, 6
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.assertError(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1, {"node_id": 2}), 412,
                         "Precondition failed: Migration to a worse-scoring node")
        self.assertError(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1, {"node_id": 42}), 400,
                         "Node 42 not found")
        self.assertError(self.call("PUT", "/control/v1/tenant/%s-0001/migrate" % T1, {"node_id": 4}), 404,
                         "NotFound: Tenant shard not found")
        self.assertError(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1,
                                   {"node_id": 4, "origin_node_id": 3}), 412,
                         "Precondition failed: Migration expected to originate from 3 but shard is on Some(1)")
        self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1, {"node_id": 4})[:2], (200, {}))
        self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1,
                                   {"node_id": 2, "migration_config": {"override_scheduler": True}})[:2], (200, {}))
        state = self.call("GET", "/__sim/state")[1]
        shard = state["tenants"][T1]["shards"][0]
        self.assertEqual((shard["attached"], shard["generation"]), (2, 3))
        self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/migrate_secondary" % T1, {"node_id": 5})[:2],
                         (200, {}))
        self.assertEqual(self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"][0]["node_secondary"], [5])


class TimelineTests(SimTestCase):
    def test_create_with_safekeepers(self):
        self.seed(nodes=1, safekeepers=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.assertError(self.call("POST", "/v1/tenant/%s/timeline" % T2, {"new_timeline_id": TL1}), 404,
                         "NotFound: Tenant not found")
        status, body, _ = self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1, "pg_version": 16})
        self.assertEqual(status, 201)
        self.assertEqual((body["tenant_id"], body["timeline_id"], body["pg_version"], body["state"]),
                         (T1, TL1, 16, "Active"))
        self.assertEqual(body["safekeepers"], {"tenant_id": T1, "timeline_id": TL1, "generation": 1,
                                               "safekeepers": [{"id": 1, "hostname": "127.0.0.1"},
                                                               {"id": 2, "hostname": "127.0.0.1"},
                                                               {"id": 3, "hostname": "127.0.0.1"}]})
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL1))[1],
                         {"generation": 1, "sk_set": [1, 2, 3], "new_sk_set": None})
        self.assertEqual([t["timeline_id"] for t in self.call("GET", "/v1/tenant/%s/timeline" % T1)[1]], [TL1])
        self.call("POST", "/control/v1/safekeeper/3/scheduling_policy", {"scheduling_policy": "Pause"})
        self.assertError(self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL2}), 500,
                         "couldn't find 3 safekeepers in different AZs for new timeline (found: 2, total active: 2)")
        self.assertEqual(self.call("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[:2], (200, None))
        self.assertEqual(self.call("GET", "/v1/tenant/%s/timeline" % T1)[1], [])


class AuthTests(unittest.TestCase):
    def test_token(self):
        sim = SimProcess("--token", "secret", "--seed-nodes", "1")
        try:
            self.assertEqual(sim.call("GET", "/control/v1/node")[1],
                             {"msg": "Unauthorized: missing authorization header"})
            self.assertEqual(sim.call("GET", "/control/v1/node")[0], 401)
            r = sim.call("GET", "/control/v1/node", headers={"Authorization": "Basic secret"})
            self.assertEqual((r[0], r[1]), (401, {"msg": "Unauthorized: malformed authorization header"}))
            r = sim.call("GET", "/control/v1/node", headers={"Authorization": "Bearer wrong"})
            self.assertEqual((r[0], r[1]), (403, {"msg": "Forbidden: JWT authentication error"}))
            r = sim.call("GET", "/control/v1/node", headers={"Authorization": "Bearer secret"})
            self.assertEqual((r[0], len(r[1])), (200, 1))
            self.assertEqual(sim.call("GET", "/status")[:2], (200, None))
            self.assertEqual(sim.call("GET", "/ready")[0], 200)
            self.assertEqual(sim.call("GET", "/__sim/requests")[0], 200)
        finally:
            self.assertEqual(sim.stop(), 0)


class KnobTests(SimTestCase):
    def test_faults(self):
        self.seed(nodes=1)
        self.call("POST", "/__sim/fault", {"path_prefix": "/control/v1/node", "method": "GET",
                                           "status": 503, "times": 1})
        self.assertEqual(self.call("GET", "/control/v1/node")[:2], (503, {"msg": "injected fault"}))
        self.assertEqual(self.call("GET", "/control/v1/node")[0], 200)
        self.call("POST", "/__sim/fault", {"path_prefix": "/status", "delay_ms": 300})
        start = time.monotonic()
        self.assertEqual(self.call("GET", "/status")[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        self.call("DELETE", "/__sim/fault")
        self.call("POST", "/__sim/fault", {"garbage": True, "times": 1})
        status, parsed, raw = self.call("GET", "/status")
        self.assertEqual((status, parsed), (200, None))
        self.assertTrue(raw)
        self.call("POST", "/__sim/fault", {"hang": True, "times": 1})
        start = time.monotonic()
        threading.Timer(0.3, lambda: self.call("DELETE", "/__sim/fault")).start()
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.call("GET", "/status")
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(self.call("GET", "/status")[0], 200)

    def test_request_log(self):
        self.call("DELETE", "/__sim/requests")
        self.call("POST", "/control/v1/node", register_body(1), headers={"Authorization": "Bearer x"})
        self.call("GET", "/control/v1/node/1", )
        log = self.call("GET", "/__sim/requests")[1]
        self.assertEqual(len(log), 2)
        self.assertEqual((log[0]["method"], log[0]["path"], log[0]["body"], log[0]["authorization"], log[0]["status"]),
                         ("POST", "/control/v1/node", register_body(1), "Bearer x", 200))
        self.assertEqual(json.loads(log[0]["raw_body"]), register_body(1))
        self.assertEqual((log[1]["method"], log[1]["body"], log[1]["authorization"]), ("GET", None, None))

    def test_bulk_seed(self):
        start = time.monotonic()
        self.seed(nodes=10000, safekeepers=10)
        self.assertLess(time.monotonic() - start, 2.0)
        nodes = self.call("GET", "/control/v1/node")[1]
        self.assertEqual(len(nodes), 10000)
        self.assertTrue(all(0 < n["listen_pg_port"] <= 65535 and 0 < n["listen_http_port"] <= 65535 for n in nodes))
        self.seed(nodes=1)
        self.assertEqual(self.call("GET", "/control/v1/node/10001")[0], 200)


class ComputeHookTests(SimTestCase):
    def setUp(self):
        super().setUp()
        self.hook = HookServer()
        self.call("POST", "/__sim/config", {"control_plane_url": self.hook.url, "control_plane_token": "cp-token"})

    def tearDown(self):
        self.hook.close()

    def test_notify_attach_bodies(self):
        self.seed(nodes=4)
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T1})[0], 201)
        self.assertEqual(self.hook.calls, [(
            "PUT", "/hook/notify-attach",
            b'{"tenant_id":"%s","preferred_az":"az-1","stripe_size":null,"shards":[{"node_id":1,"shard_number":0}]}'
            % T1.encode(), "Bearer cp-token")])
        # a migration notifies the new location; migrating to the current node sends nothing
        self.call("PUT", "/control/v1/tenant/%s/migrate" % T1, {"node_id": 4})
        self.call("PUT", "/control/v1/tenant/%s/migrate" % T1, {"node_id": 4})
        self.assertEqual(len(self.hook.calls), 2)
        self.assertEqual(json.loads(self.hook.calls[1][2])["shards"], [{"node_id": 4, "shard_number": 0}])
        # split: exactly one body with the new count and the stripe size
        self.call("PUT", "/control/v1/tenant/%s/shard_split" % T1, {"new_shard_count": 2})
        self.assertEqual(len(self.hook.calls), 3)
        self.assertEqual(self.hook.calls[2][2],
                         b'{"tenant_id":"%s","preferred_az":"az-1","stripe_size":2048,"shards":'
                         b'[{"node_id":4,"shard_number":0},{"node_id":4,"shard_number":1}]}' % T1.encode())
        log = self.call("GET", "/__sim/requests")[1]
        out = [e for e in log if e["direction"] == "out"]
        self.assertEqual([(e["path"], e["status"]) for e in out], [("/hook/notify-attach", 200)] * 3)

    def test_pending_notification(self):
        self.seed(nodes=1)
        self.hook.statuses = [503]
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T1})[0], 201)
        shard = self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"][0]
        self.assertTrue(shard["is_pending_compute_notification"])
        self.assertEqual(self.call("POST", "/debug/v1/reconcile_all")[1], 1)
        shard = self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"][0]
        self.assertFalse(shard["is_pending_compute_notification"])
        self.assertEqual(len(self.hook.calls), 2)
        self.assertEqual(self.hook.calls[0][2], self.hook.calls[1][2])
        # a "storcon restart" re-sends the identical body
        self.assertEqual(self.call("POST", "/__sim/restart")[1], {"notified": 1})
        self.assertEqual(len(self.hook.calls), 3)
        self.assertEqual(self.hook.calls[2][2], self.hook.calls[0][2])

    def test_safekeeper_migration(self):
        self.seed(nodes=1, safekeepers=4)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1})
        self.assertEqual(len(self.hook.calls), 1)          # no notify-safekeepers on creation
        self.assertError(self.call("POST", "/v1/tenant/%s/timeline/%s/safekeeper_migrate" % (T1, TL1),
                                   {"new_sk_set": [2, 3, 9]}), 400, "safekeeper 9 does not exist")
        self.assertEqual(self.call("POST", "/v1/tenant/%s/timeline/%s/safekeeper_migrate" % (T1, TL1),
                                   {"new_sk_set": [2, 3, 4]})[:2], (200, None))
        bodies = [c[2] for c in self.hook.calls if c[1] == "/hook/notify-safekeepers"]
        prefix = b'{"tenant_id":"%s","timeline_id":"%s",' % (T1.encode(), TL1.encode())
        sk = b'{"id":%d,"hostname":"127.0.0.1"}'
        self.assertEqual(bodies, [
            prefix + b'"generation":2,"safekeepers":[' + b",".join(sk % i for i in (1, 2, 3, 4)) + b"]}",
            prefix + b'"generation":3,"safekeepers":[' + b",".join(sk % i for i in (2, 3, 4)) + b"]}",
        ])
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL1))[1],
                         {"generation": 3, "sk_set": [2, 3, 4], "new_sk_set": None})
        # a failing hook makes the API call fail with 500
        self.hook.statuses = [500]
        r = self.call("POST", "/v1/tenant/%s/timeline/%s/safekeeper_migrate" % (T1, TL1), {"new_sk_set": [1, 2, 3]})
        self.assertErrorPrefix(r, 500, "failed to notify cplane about safekeeper membership change: ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
