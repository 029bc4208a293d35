"""Self-test of the simulator's API surface: routes, JSON shapes, status codes, error texts,
strict parsing, auth and the /__sim/ knobs (contract §3, §4, §5).

Why this file exists: pg_storcon's SQL functions are tested against these answers, so they must
be storcon's.
"""

import http.client
import json
import threading
import time
import unittest

from .support import (NODE_FIELDS, T1, T2, TL1, TL2, SimProcess, SimTestCase, register_body,
                      sk_body, wait_for)


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
        self.wait_scheduling(1, "PauseForRestart")
        self.assertEqual(self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"][0]["node_attached"], 4)
        self.assertError(self.call("DELETE", "/control/v1/node/1/drain"), 412,
                         "Precondition failed: Node 1 has no drain in progress")
        self.assertError(self.call("PUT", "/control/v1/node/1/drain"), 412,
                         "Precondition failed: Node 1 cannot be drained due to PauseForRestart policy")
        self.assertEqual(self.call("PUT", "/control/v1/node/1/fill")[:2], (202, None))
        self.wait_scheduling(1, "Active")
        # delete node 4: the tenant moves back to the other az-1 node
        self.assertEqual(self.call("PUT", "/control/v1/node/4/delete")[:2], (200, None))
        wait_for(lambda: self.call("GET", "/control/v1/node/4")[0] == 404, what="node 4 deleted")
        self.assertError(self.call("GET", "/control/v1/node/4"), 404, "NotFound: Node 4 not registered")
        self.assertEqual([n["id"] for n in self.call("GET", "/debug/v1/tombstone")[1]], [4])
        self.assertEqual(self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"][0]["node_attached"], 1)
        self.assertEqual(self.call("DELETE", "/control/v1/node/3")[:2], (200, None))
        self.assertEqual(self.call("DELETE", "/control/v1/node/2")[:2], (200, None))
        # storcon counts the drained node itself among the schedulable ones
        self.assertEqual(self.call("PUT", "/control/v1/node/1/drain")[0], 202)
        self.wait_scheduling(1, "PauseForRestart")
        self.call("PUT", "/control/v1/node/1/config", {"node_id": 1, "availability": "Offline"})
        self.assertError(self.call("PUT", "/control/v1/node/1/drain"), 503, "Node 1 is currently unavailable")

    def wait_scheduling(self, node_id, policy):
        wait_for(lambda: self.call("GET", "/control/v1/node/%d" % node_id)[1]["scheduling"] == policy,
                 what="node %d %s" % (node_id, policy))

    def test_listen_addresses_are_stored_verbatim(self):
        # storcon stores any string: a trailing-dot FQDN, a 70-character label
        long_label = "p" * 70 + ".example.com"
        self.assertEqual(self.call("POST", "/control/v1/node", register_body(1, pg_addr="ps1.example.com."))[0], 200)
        self.assertEqual(self.call("POST", "/control/v1/node", register_body(2, pg_addr=long_label))[0], 200)
        self.assertEqual(self.call("GET", "/control/v1/node/1")[1]["listen_pg_addr"], "ps1.example.com.")
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        loc = self.call("GET", "/debug/v1/tenant/%s/locate" % T1)[1]["shards"][0]
        self.assertEqual(loc["listen_pg_addr"], "ps1.example.com.")
        self.call("PUT", "/control/v1/tenant/%s/migrate" % T1,
                  {"node_id": 2, "migration_config": {"override_scheduler": True, "prewarm": False}})
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/locate" % T1)[1]["shards"][0]["listen_pg_addr"],
                         long_label)


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
                         "Attempted to change stripe size (ShardStripeSize(2048)->ShardStripeSize(32768)) "
                         "on a tenant with multiple shards")
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
        self.assertErrorPrefix(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1,
                                         {"node_id": 4, "migration_config": None}), 400,
                               "Failed to parse json request: migration_config: invalid type: null")
        self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1, {"node_id": 4})[:2], (200, {}))
        wait_for(lambda: not self.describe(T1)["is_reconciling"], what="prewarm migration done")
        self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1,
                                   {"node_id": 2, "migration_config": {"override_scheduler": True,
                                                                       "prewarm": False}})[:2], (200, {}))
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
        # like storcon, the pageservers created it before the safekeepers were chosen: a retry
        # once a safekeeper is back completes it
        self.assertEqual(self.call("GET", "/v1/tenant/%s/timeline/%s" % (T1, TL2))[0], 200)
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL2))[0], 404)
        self.call("POST", "/control/v1/safekeeper/3/scheduling_policy", {"scheduling_policy": "Active"})
        status, body, _ = self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL2})
        self.assertEqual((status, body["pg_version"], body["safekeepers"]["generation"]), (201, 17, 1))
        self.assertEqual(self.call("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL2))[:2], (200, None))
        self.assertEqual(self.call("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[:2], (200, None))
        self.assertEqual(self.call("GET", "/v1/tenant/%s/timeline" % T1)[1], [])
        self.assertError(self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL1)), 404,
                         "NotFound: Timeline %s/%s not found" % (T1, TL1))
        # deleting what is gone is done (200), like storcon's mapping of the pageserver's 404
        self.assertEqual(self.call("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[:2], (200, None))

    def test_timeline_create_modes(self):
        self.seed(nodes=1, safekeepers=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        # no pg_version: the pageserver's default, 17
        self.assertEqual(self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1})[1]["pg_version"], 17)
        # a branch inherits the ancestor's version; a read-only branch gets no safekeepers
        status, body, _ = self.call("POST", "/v1/tenant/%s/timeline" % T1,
                                    {"new_timeline_id": TL2, "ancestor_timeline_id": TL1, "pg_version": 15,
                                     "read_only": True})
        self.assertEqual((status, body["pg_version"], body["ancestor_timeline_id"]), (201, 17, TL1))
        self.assertEqual(body["safekeepers"], {"tenant_id": T1, "timeline_id": TL2, "generation": 1, "safekeepers": []})
        self.assertError(self.call("POST", "/v1/tenant/%s/timeline" % T1,
                                   {"new_timeline_id": TL2, "pg_version": 13}), 400,
                         "Failed to parse json request: data did not match any variant of untagged enum "
                         "TimelineCreateRequestMode")
        self.assertError(self.call("POST", "/v1/tenant/%s/timeline" % T1, {"pg_version": 16}), 400,
                         "Failed to parse json request: missing field `new_timeline_id`")


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




class EveryRouteTests(SimTestCase):
    def test_no_route_fails_inside_the_simulator(self):
        """Every route, with sensible and with odd arguments, answers storcon's way: never the
        simulator's own "internal error"."""
        self.seed(nodes=4, safekeepers=4)
        tl = "/v1/tenant/%s/timeline/%s" % (T1, TL1)
        calls = [
            ("POST", "/v1/tenant", {"new_tenant_id": T1, "placement_policy": {"Attached": 1}}),
            ("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1}),
            ("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL2, "ancestor_timeline_id": TL1}),
            ("GET", "/metrics", None), ("GET", "/live", None), ("GET", "/ready", None),
            ("GET", "/control/v1/leader", None), ("GET", "/control/v1/node", None),
            ("GET", "/control/v1/node/1/shards", None), ("GET", "/control/v1/tenant", None),
            ("GET", "/control/v1/tenant/" + T1, None), ("GET", "/debug/v1/tenant/%s/locate" % T1, None),
            ("GET", "/control/v1/tenant/%s/timeline/%s" % (T1, TL1), None),
            ("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL1), None),
            ("GET", tl, None), ("GET", "/v1/tenant/%s/timeline" % T1, None),
            ("PUT", tl + "/archival_config", {"state": "Archived"}),
            ("PUT", tl + "/archival_config", {"state": "Unarchived"}),
            ("PUT", "/v1/tenant/%s/timeline/%s/detach_ancestor?detach_behavior=v2" % (T1, TL2), None),
            ("POST", "/v1/tenant/%s/secondary/download" % T1, None),
            ("POST", tl + "/safekeeper_migrate", {"new_sk_set": [2, 3, 4]}),
            ("POST", tl + "/safekeeper_migrate_abort", None),
            ("POST", "/debug/v1/tenant/%s/timeline/%s/import" % (T1, TL2),
             {"tenant_id": T1, "timeline_id": TL2, "start_lsn": "0/1", "sk_set": [1], "force_upsert": True}),
            ("PUT", "/control/v1/node/2/config", {"node_id": 2, "availability": "Offline"}),
            ("PUT", "/control/v1/node/2/config", {"node_id": 2, "availability": "Active"}),
            ("PUT", "/control/v1/node/3/drain", None), ("DELETE", "/control/v1/node/3/drain", None),
            ("PUT", "/control/v1/node/3/fill", None), ("DELETE", "/control/v1/node/3/fill", None),
            ("PUT", "/control/v1/tenant/%s/migrate_secondary" % T1, {"node_id": 3}),
            ("PUT", "/control/v1/tenant/%s/migrate" % T1, {"node_id": 4}),
            ("PUT", "/control/v1/tenant/%s/cancel_reconcile" % T1, None),
            ("PUT", "/control/v1/preferred_azs", {T1: "az-2"}),
            ("PUT", "/control/v1/tenant/%s/policy" % T1, {"placement": "Secondary"}),
            ("PUT", "/control/v1/tenant/%s/policy" % T1, {"placement": {"Attached": 0}, "scheduling": "Pause"}),
            ("PUT", "/v1/tenant/config", {"tenant_id": T1, "gc_period": "1h"}),
            ("PATCH", "/v1/tenant/config", {"tenant_id": T1, "gc_period": None}),
            ("GET", "/v1/tenant/%s/config" % T1, None),
            ("PUT", "/control/v1/tenant/%s/shard_split" % T1, {"new_shard_count": 2}),
            ("PUT", "/control/v1/node/4/delete", None), ("DELETE", "/control/v1/node/4/delete", None),
            ("DELETE", "/control/v1/node/3", None), ("POST", "/debug/v1/node/1/drop", None),
            ("GET", "/debug/v1/tombstone", None), ("DELETE", "/debug/v1/tombstone/3", None),
            ("POST", "/debug/v1/reconcile_all", None), ("POST", "/debug/v1/consistency_check", None),
            ("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL2), None),
            ("PUT", "/control/v1/step_down", None), ("POST", "/__sim/restart", {"wait": True}),
            ("GET", "/__sim/state", None), ("DELETE", "/v1/tenant/" + T1, None),
            ("POST", "/v1/tenant", {"new_tenant_id": T2, "placement_policy": "Detached"}),
            ("DELETE", "/v1/tenant/" + T2, None), ("POST", "/debug/v1/tenant/%s/drop" % T1, None),
        ]
        for method, path, body in calls:
            status, parsed, raw = self.call(method, path, body)
            self.assertFalse(status == 500 and b"storcon_sim internal error" in raw, (method, path, raw))
            self.assertLess(status, 600, (method, path))
