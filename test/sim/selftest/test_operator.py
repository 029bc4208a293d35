"""Self-test of the operator routes pg_storcon wraps in SQL: safekeeper migration and abort,
timeline import into storcon's safekeeper management, timeline describe, node delete cancel,
preferred AZs, leadership and step-down, reconcile_all, archival config, ancestor detach and
secondary download (storage_controller/src/http.rs, service.rs, safekeeper_service.rs).

Why this file exists: the product's SQL functions are checked against these shapes and status
codes, so each is storcon's.
"""

from .support import T1, T2, TL1, TL2, HookServer, SimTestCase, wait_for

SKS = "/hook/notify-safekeepers"


def migrate_path(tenant=T1, timeline=TL1, abort=False):
    return "/v1/tenant/%s/timeline/%s/safekeeper_migrate%s" % (tenant, timeline, "_abort" if abort else "")


class SafekeeperMigrationTests(SimTestCase):
    with_hook = True

    def setUp(self):
        super().setUp()
        self.seed(nodes=1, safekeepers=5)        # az-1: 1, 4; az-2: 2, 5; az-3: 3
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1})

    def locate(self, timeline=TL1):
        return self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, timeline))[1]

    def generations(self):
        return [(b["generation"], [s["id"] for s in b["safekeepers"]]) for b in self.hook.bodies(SKS)]

    def test_refusals(self):
        self.assertError(self.call("POST", migrate_path(), {"new_sk_set": []}), 400, "new safekeeper set is empty")
        self.assertError(self.call("POST", migrate_path(), {"new_sk_set": [1, 2]}), 400,
                         "new safekeeper set must have at least 3 safekeepers")
        self.assertError(self.call("POST", migrate_path(), {"new_sk_set": [1, 2, 2]}), 400,
                         'duplicate safekeeper id in the set [SafekeeperId { id: NodeId(1), host: "127.0.0.1", '
                         'pg_port: 5451 }, SafekeeperId { id: NodeId(2), host: "127.0.0.1", pg_port: 5452 }, '
                         'SafekeeperId { id: NodeId(2), host: "127.0.0.1", pg_port: 5452 }]')
        self.assertError(self.call("POST", migrate_path(timeline=TL2), {"new_sk_set": [1, 2, 3]}), 404,
                         "NotFound: timeline %s/%s doesn't exist in timelines table" % (T1, TL2))
        self.call("POST", "/control/v1/safekeeper/4/scheduling_policy", {"scheduling_policy": "Decomissioned"})
        self.assertError(self.call("POST", migrate_path(), {"new_sk_set": [1, 2, 4]}), 400,
                         "safekeeper 4 is decomissioned")
        # Pause and Activating safekeepers are accepted (storcon refuses only unknown and
        # decommissioned newcomers)
        self.call("POST", "/control/v1/safekeeper/5/scheduling_policy", {"scheduling_policy": "Pause"})
        self.assertEqual(self.call("POST", migrate_path(), {"new_sk_set": [1, 2, 5]})[:3], (200, None, b"null"))
        self.assertEqual(self.locate(), {"generation": 3, "sk_set": [1, 2, 5], "new_sk_set": None})
        self.assertError(self.call("POST", migrate_path(), raw=b""), 400, "missing request body")

    def test_failed_notification_resumes(self):
        # joint configuration refused: 500; the timeline stays in the joint configuration
        self.hook.statuses = [200, 400]
        self.assertError(self.call("POST", migrate_path(), {"new_sk_set": [2, 3, 4]}), 500,
                         "failed to notify cplane about safekeeper membership change: "
                         "Non-retryable error 400 Bad Request")
        self.assertEqual(self.locate(), {"generation": 2, "sk_set": [1, 2, 3], "new_sk_set": [2, 3, 4]})
        self.assertError(self.call("POST", migrate_path(), {"new_sk_set": [2, 4, 3]}), 409,
                         "Conflict: the timeline is already migrating to a different safekeeper set: [2, 3, 4]")
        # the same set again resumes: joint (again), then final
        self.assertEqual(self.call("POST", migrate_path(), {"new_sk_set": [2, 3, 4]})[:2], (200, None))
        self.assertEqual(self.generations(), [(1, [1, 2, 3]), (2, [1, 2, 3, 4]), (2, [1, 2, 3, 4]), (3, [2, 3, 4])])
        # final configuration refused: committed anyway; the next call re-sends it first
        self.hook.statuses = [200, 500]
        self.assertError(self.call("POST", migrate_path(), {"new_sk_set": [1, 2, 3]}), 500,
                         "failed to notify cplane about safekeeper membership change: "
                         "Control plane returned unexpected status 500 Internal Server Error")
        self.assertEqual(self.locate(), {"generation": 5, "sk_set": [1, 2, 3], "new_sk_set": None})
        self.assertEqual(self.call("POST", migrate_path(), {"new_sk_set": [1, 2, 3]})[:2], (200, None))
        self.assertEqual(self.generations()[-3:], [(4, [2, 3, 4, 1]), (5, [1, 2, 3]), (5, [1, 2, 3])])
        # nothing left to do: no notification
        count = self.hook.count()
        self.assertEqual(self.call("POST", migrate_path(), {"new_sk_set": [1, 2, 3]})[:2], (200, None))
        self.assertEqual(self.hook.count(), count)

    def test_busy_answer_counts_as_told(self):
        # a 423 fails the call, but storcon remembers the generation: a retry does not resend it
        self.hook.statuses = [200, 423]
        self.assertError(self.call("POST", migrate_path(), {"new_sk_set": [2, 3, 4]}), 500,
                         "failed to notify cplane about safekeeper membership change: Control plane tenant busy")
        self.assertEqual(self.call("POST", migrate_path(), {"new_sk_set": [2, 3, 4]})[:2], (200, None))
        self.assertEqual(self.generations(), [(1, [1, 2, 3]), (2, [1, 2, 3, 4]), (3, [2, 3, 4])])

    def test_abort(self):
        self.assertEqual(self.call("POST", migrate_path(abort=True))[:3], (200, None, b"null"))
        self.assertEqual(self.generations(), [(1, [1, 2, 3])])       # only the unfinished generation 1
        self.hook.statuses = [500]           # the joint configuration is refused
        self.call("POST", migrate_path(), {"new_sk_set": [2, 3, 4]})
        self.assertEqual(self.locate()["new_sk_set"], [2, 3, 4])
        self.assertEqual(self.call("POST", migrate_path(abort=True))[:2], (200, None))
        self.assertEqual(self.locate(), {"generation": 3, "sk_set": [1, 2, 3], "new_sk_set": None})
        self.assertEqual(self.generations()[-1], (3, [1, 2, 3]))
        self.assertError(self.call("POST", migrate_path(timeline=TL2, abort=True)), 404,
                         "NotFound: timeline %s/%s doesn't exist in timelines table" % (T1, TL2))

    def test_import_into_safekeeper_management(self):
        path = "/debug/v1/tenant/%s/timeline/%s/import" % (T1, TL2)
        body = {"tenant_id": T1, "timeline_id": TL2, "start_lsn": "0/169AD58", "sk_set": [3, 4, 5],
                "force_upsert": False}
        self.assertError(self.call("POST", path, dict(body, timeline_id=TL1)), 400,
                         "tenant id or timeline id mismatch: url=%s/%s, body=%s/%s" % (T1, TL2, T1, TL1))
        self.assertErrorPrefix(self.call("POST", path, {k: v for k, v in body.items() if k != "force_upsert"}), 400,
                               "Failed to parse json request: missing field `force_upsert`")
        self.assertEqual(self.call("POST", path, body)[:3], (200, None, b"null"))
        self.assertEqual(self.locate(TL2), {"generation": 1, "sk_set": [3, 4, 5], "new_sk_set": None})
        # imported = already told: a migration starts with the joint configuration
        self.assertEqual(self.call("POST", migrate_path(timeline=TL2), {"new_sk_set": [1, 2, 3]})[:2], (200, None))
        self.assertEqual(self.generations(), [(2, [3, 4, 5, 1, 2]), (3, [1, 2, 3])])
        # importing again replaces the set, keeps the generation
        self.assertEqual(self.call("POST", path, dict(body, sk_set=[1, 4, 5]))[0], 200)
        self.assertEqual(self.locate(TL2), {"generation": 3, "sk_set": [1, 4, 5], "new_sk_set": None})
        # hostnames are always strings: an unregistered safekeeper fails before any notification
        self.call("POST", path, dict(body, sk_set=[1, 4, 9]))
        self.assertError(self.call("POST", migrate_path(timeline=TL2), {"new_sk_set": [1, 2, 3]}), 500,
                         "safekeeper 9 is not registered")
        self.assertTrue(all(isinstance(s["hostname"], str) for b in self.hook.bodies(SKS) for s in b["safekeepers"]))


class OperatorRouteTests(SimTestCase):
    def test_timeline_describe(self):
        self.seed(nodes=2, safekeepers=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1, "shard_parameters": {"count": 2, "stripe_size": 2048}})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1})
        status, body, _ = self.call("GET", "/control/v1/tenant/%s/timeline/%s" % (T1, TL1))
        self.assertEqual((status, list(body)), (200, ["shards"]))
        self.assertEqual([s["tenant_id"] for s in body["shards"]], [T1 + "-0002", T1 + "-0102"])
        self.assertEqual({s["timeline_id"] for s in body["shards"]}, {TL1})
        self.assertErrorPrefix(self.call("GET", "/control/v1/tenant/%s/timeline/%s" % (T1, TL2)), 404, "NotFound: ")
        self.assertError(self.call("GET", "/control/v1/tenant/%s/timeline/%s" % (T2, TL1)), 404,
                         "NotFound: Tenant not found")

    def test_node_delete_and_cancel(self):
        self.seed(nodes=3)
        self.assertError(self.call("DELETE", "/control/v1/node/1/delete"), 412,
                         "Precondition failed: Node 1 has no delete in progress")
        self.assertError(self.call("DELETE", "/control/v1/node/9/delete"), 404, "NotFound: Node 9 not registered")
        # a delete that waits on a stuck compute notification can be cancelled
        hook = self.start_hook()
        hook.default = 423
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.call("PUT", "/control/v1/node/2/config", {"node_id": 2, "scheduling": "Pause"})
        self.assertEqual(self.call("PUT", "/control/v1/node/1/delete")[:2], (200, None))
        self.assertEqual(self.call("GET", "/control/v1/node/1")[1]["scheduling"], "Deleting")
        self.assertError(self.call("PUT", "/control/v1/node/3/drain"), 412,
                         "Precondition failed: Background operation already ongoing for node: delete 1")
        self.assertError(self.call("PUT", "/control/v1/node/3/config", {"node_id": 3, "scheduling": "Pause"}), 412,
                         "Precondition failed: Ongoing background operation forbids configuring: delete 1")
        self.assertEqual(self.call("DELETE", "/control/v1/node/1/delete")[:2], (202, None))
        wait_for(lambda: self.call("GET", "/control/v1/node/1")[1]["scheduling"] == "Active", what="delete cancelled")
        self.assertEqual(self.call("GET", "/control/v1/node/1")[0], 200)

    def start_hook(self):
        hook = HookServer()
        self.addCleanup(hook.close)
        self.config(control_plane_url=hook.url)
        return hook

    def test_preferred_azs(self):
        self.seed(nodes=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1, "shard_parameters": {"count": 2, "stripe_size": 2048}})
        status, body, _ = self.call("PUT", "/control/v1/preferred_azs",
                                    {T1 + "-0002": "az-2", T1 + "-0102": "az-1", T2: "az-1"})
        # every existing shard is reported, changed or not; unknown ones are left out
        self.assertEqual((status, body), (200, {"updated": [T1 + "-0002", T1 + "-0102"]}))
        self.assertEqual([s["preferred_az_id"] for s in self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"]],
                         ["az-2", "az-1"])
        self.assertErrorPrefix(self.call("PUT", "/control/v1/preferred_azs", [1]), 400, "Failed to parse json request")

    def test_leader_and_step_down(self):
        self.seed(nodes=1)
        hook = self.start_hook()
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        status, leader, _ = self.call("GET", "/control/v1/leader")
        self.assertEqual((status, list(leader)), (200, ["address", "started_at"]))
        self.assertTrue(leader["address"].startswith("http://127.0.0.1:"))
        self.assertEqual(self.call("GET", "/live")[0], 200)
        status, observed, _ = self.call("PUT", "/control/v1/step_down")
        self.assertEqual(status, 200)
        self.assertEqual(observed, {T1: {"locations": {"1": {"conf": {
            "mode": "AttachedSingle", "generation": 1, "secondary_conf": None, "shard_number": 0,
            "shard_count": 0, "shard_stripe_size": 2048, "tenant_conf": {}}}}}})
        self.assertEqual(self.call("GET", "/live")[:3], (503, None, b"null"))
        # a stepped-down storcon reconciles nothing: nobody is notified
        sent = hook.count()
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T2})[0], 201)
        self.assertEqual(hook.count(), sent)
        self.assertFalse(self.describe(T2)["is_reconciling"])
        # leading again (a restart): every attached tenant is notified
        self.assertEqual(self.call("POST", "/__sim/restart", {"wait": True})[:2], (200, {"notified": 2}))
        self.assertEqual(self.call("GET", "/live")[0], 200)
        self.assertEqual(sorted(b["tenant_id"] for b in hook.bodies("/hook/notify-attach")[-2:]), sorted([T1, T2]))

    def test_archival_and_detach(self):
        self.seed(nodes=1, safekeepers=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL2, "ancestor_timeline_id": TL1})
        archival = "/v1/tenant/%s/timeline/%%s/archival_config" % T1
        self.assertError(self.call("PUT", archival % TL1, {"state": "Archived"}), 412,
                         "Precondition failed: Precondition failed: Cannot archive timeline which has "
                         "non-archived child timelines: [%s]" % TL2)
        self.assertEqual(self.call("PUT", archival % TL2, {"state": "Archived"})[:3], (200, None, b"null"))
        self.assertEqual(self.call("PUT", archival % TL1, {"state": "Archived"})[:2], (200, None))
        self.assertTrue(self.call("GET", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[1]["is_archived"])
        self.assertError(self.call("PUT", archival % TL2, {"state": "Unarchived"}), 412,
                         "Precondition failed: Precondition failed: ancestor is archived: %s" % TL1)
        self.assertErrorPrefix(self.call("PUT", archival % TL1, {"state": "Frozen"}), 400,
                               "Failed to parse json request: state: unknown variant `Frozen`")
        self.assertError(self.call("PUT", archival % ("00" * 16), {"state": "Archived"}), 404,
                         "NotFound: 1 (127.0.0.1): NotFound: timeline not found")
        self.call("PUT", archival % TL1, {"state": "Unarchived"})
        self.call("PUT", archival % TL2, {"state": "Unarchived"})
        detach = "/v1/tenant/%s/timeline/%%s/detach_ancestor" % T1
        self.assertError(self.call("PUT", detach % TL1), 409, "Conflict: 1 (127.0.0.1): no ancestors")
        self.assertError(self.call("PUT", detach % TL2 + "?detach_behavior=v3"), 400,
                         "Failed to parse query param detach_behavior")
        self.assertEqual(self.call("PUT", detach % TL2)[:2], (200, {"reparented_timelines": []}))
        self.assertIsNone(self.call("GET", "/v1/tenant/%s/timeline/%s" % (T1, TL2))[1]["ancestor_timeline_id"])

    def test_secondary_download(self):
        self.seed(nodes=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        path = "/v1/tenant/%s/secondary/download" % T1
        self.assertError(self.call("POST", path), 404, "NotFound: Tenant %s not found" % T1)
        self.call("PUT", "/control/v1/tenant/%s/policy" % T1, {"placement": {"Attached": 1}})
        self.assertEqual(self.call("POST", path + "?wait_ms=100")[:2],
                         (200, {"heatmap_mtime": None, "layers_downloaded": 0, "layers_total": 0,
                                "bytes_downloaded": 0, "bytes_total": 0}))
        self.assertError(self.call("POST", path + "?wait_ms=soon"), 400, "Failed to parse query param wait_ms")


__all__ = ["SafekeeperMigrationTests", "OperatorRouteTests"]
