"""Self-test of what storcon reports and waits for while things move: live migrations, shard
splits, slow deletions, pgdata imports, and where locate stops answering (lifecycle §3, §4).

Why this file exists: pg_storcon's SQL functions and its doctor read is_reconciling,
is_pending_compute_notification, is_splitting, is_importing, 408s and 409s; these must appear
when and as storcon shows them.
"""

from .support import T1, T2, TL1, TL2, SimTestCase, in_background, wait_for

ATTACH = "/hook/notify-attach"


class LiveMigrationTests(SimTestCase):
    with_hook = True

    def setUp(self):
        super().setUp()
        self.seed(nodes=4)                      # az-1: nodes 1 and 4
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.base = self.hook.count()

    def migrate(self, node, prewarm=False, shard=T1):
        return self.call("PUT", "/control/v1/tenant/%s/migrate" % shard,
                         {"node_id": node, "migration_config": {"prewarm": prewarm}})

    def test_intent_first_then_408_while_the_hook_fails(self):
        self.hook.default = 503
        join = in_background(self.migrate, 4)
        # the intent names the destination at once, before the compute knows
        wait_for(lambda: self.hook.count() > self.base, what="first notification attempt")
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/locate" % T1)[1]["shards"][0]["node_id"], 4)
        shard = self.describe(T1)
        self.assertEqual((shard["node_attached"], shard["is_reconciling"]), (4, True))
        # like storcon, the pending flag is only set when the reconcile ends
        self.assertFalse(shard["is_pending_compute_notification"])
        self.assertError(join(), 408, "Timeout waiting for shard %s" % T1)
        # the migration goes on: notify calls are repeated (each call: up to 11 attempts)
        wait_for(lambda: self.hook.count() > self.base + 11, what="a second notify call")
        self.assertTrue(self.describe(T1)["is_reconciling"])
        self.hook.default = 200
        wait_for(lambda: not self.describe(T1)["is_reconciling"], what="migration done")
        self.assertEqual(self.hook.bodies(ATTACH)[-1]["shards"], [{"node_id": 4, "shard_number": 0}])
        # notifications failed on the way: pending until the next reconcile (which sends nothing)
        self.assertTrue(self.describe(T1)["is_pending_compute_notification"])
        sent = self.hook.count()
        self.assertEqual(self.call("POST", "/debug/v1/reconcile_all")[:2], (200, 1))
        self.assertFalse(self.describe(T1)["is_pending_compute_notification"])
        self.assertEqual(self.hook.count(), sent)

    def test_backoff_between_notify_calls(self):
        # a busy hook (423) ends each call at once; the migration calls again after 0, 2, 4, 8 s
        self.hook.default = 423
        join = in_background(self.migrate, 4)
        wait_for(lambda: self.hook.count() >= self.base + 5, what="five notify calls")
        self.hook.default = 200
        self.assertEqual(join()[:2], (200, {}))
        self.assertWaitedAtLeast(self.hook.times(ATTACH)[self.base:], [0, 2, 4, 8])
        self.assertEqual(self.describe(T1)["last_error"], "")

    def test_fatal_answer_aborts(self):
        self.hook.statuses = [400]
        self.assertError(self.migrate(4), 500,
                         "Reconcile error on shard %s: Non-retryable error 400 Bad Request" % T1)
        shard = self.describe(T1)
        self.assertEqual((shard["node_attached"], shard["is_reconciling"], shard["is_pending_compute_notification"],
                          shard["last_error"]), (4, False, True, "Non-retryable error 400 Bad Request"))
        self.assertEqual(self.hook.count(), self.base + 1)

    def test_gives_up_when_the_origin_goes_away(self):
        for how in ("offline", "restart"):
            self.hook.default = 503
            start = self.hook.count()
            target = 4 if self.describe(T1)["node_attached"] == 1 else 1
            origin = 5 - target
            join = in_background(self.migrate, target, True)
            wait_for(lambda: self.hook.count() > start, what="notify attempts")
            if how == "offline":
                self.call("PUT", "/control/v1/node/%d/config" % origin, {"node_id": origin, "availability": "Offline"})
            else:
                self.call("POST", "/__sim/node/%d/restart" % origin)
            self.assertEqual(join()[:2], (200, {}))
            # the reconcile ends (successfully) with the notification still owed
            shard = wait_for(lambda: (lambda s: s if not s["is_reconciling"] else None)(self.describe(T1)),
                             what="migration given up (%s)" % how)
            self.assertEqual((shard["node_attached"], shard["is_pending_compute_notification"], shard["last_error"]),
                             (target, True, ""), how)
            self.hook.default = 200
            self.call("POST", "/__sim/node/%d/restart" % origin)
            self.call("POST", "/debug/v1/reconcile_all")
            self.assertFalse(self.describe(T1)["is_pending_compute_notification"])
            self.assertEqual(self.hook.bodies(ATTACH)[-1]["shards"], [{"node_id": target, "shard_number": 0}])

    def test_prewarm_answers_at_once_and_cancel_reconcile(self):
        self.hook.default = 423
        self.assertEqual(self.migrate(4, prewarm=True)[:2], (200, {}))
        self.assertTrue(self.describe(T1)["is_reconciling"])
        wait_for(lambda: self.hook.count() >= self.base + 2, what="migration retrying")
        # a running reconcile cannot be consistency-checked; cancelling it fails the reconcile
        self.assertError(self.call("POST", "/debug/v1/consistency_check"), 500,
                         "Shard %s reconciliation in progress" % T1)
        self.assertError(self.call("PUT", "/control/v1/tenant/%s/cancel_reconcile" % T1), 500,
                         "Reconcile error on shard %s: Cancelled" % T1)
        shard = self.describe(T1)
        self.assertEqual((shard["is_reconciling"], shard["last_error"], shard["is_pending_compute_notification"]),
                         (False, "Cancelled", True))
        self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/cancel_reconcile" % T1)[:3], (200, None, b"null"))
        self.assertEqual(self.call("POST", "/debug/v1/consistency_check")[:3], (200, None, b"null"))
        self.assertError(self.call("PUT", "/control/v1/tenant/%s-0002/cancel_reconcile" % T1), 404,
                         "NotFound: Tenant shard not found")


class SplitTests(SimTestCase):
    with_hook = True

    def test_split_waits_for_the_hook(self):
        self.seed(nodes=2)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.config(split_seconds=40)            # the pageservers take 40 s (2 s scaled)
        self.hook.default = 503
        join = in_background(self.call, "PUT", "/control/v1/tenant/%s/shard_split" % T1, {"new_shard_count": 2})
        shard = wait_for(lambda: (lambda s: s if s["is_splitting"] else None)(self.describe(T1)), what="is_splitting")
        self.assertEqual(shard["tenant_shard_id"], T1)       # still the parent meanwhile
        self.assertError(self.call("PUT", "/control/v1/tenant/%s/shard_split" % T2, {"new_shard_count": 2}), 404,
                         "NotFound: Tenant %s not found" % T2)
        status, body, _ = join()
        # the request ended after the notification call (11 attempts) of the new map
        self.assertEqual((status, body), (200, {"new_shards": [T1 + "-0002", T1 + "-0102"]}))
        self.assertEqual(self.hook.count(), 1 + 11)
        self.assertEqual(len(self.hook.bodies(ATTACH)[-1]["shards"]), 2)
        desc = self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"]
        self.assertEqual([(s["is_splitting"], s["is_pending_compute_notification"]) for s in desc],
                         [(False, False), (False, True)])   # the child whose update sent the map
        self.hook.default = 200
        self.assertEqual(self.call("POST", "/debug/v1/reconcile_all")[:2], (200, 1))
        self.assertFalse(any(s["is_pending_compute_notification"]
                             for s in self.call("GET", "/control/v1/tenant/" + T1)[1]["shards"]))


class DeletionTests(SimTestCase):
    def test_slow_timeline_delete(self):
        self.seed(nodes=1, safekeepers=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1})
        self.config(timeline_delete_seconds=100)
        # storcon polls for ~25 s, then answers 409 with a null body: "still deleting, ask again"
        self.assertEqual(self.call("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[:3], (409, None, b"null"))
        self.assertEqual(self.call("GET", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[1]["state"], "Stopping")
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL1))[0], 404)
        self.assertEqual(self.call("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[:2], (409, None))
        # the pageservers finish on their own; asked again after that: 200
        wait_for(lambda: self.call("GET", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[0] == 404, what="deleted")
        self.assertEqual(self.call("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[:3], (200, None, b"null"))

    def test_timeline_with_children(self):
        self.seed(nodes=1, safekeepers=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL2, "ancestor_timeline_id": TL1})
        self.assertError(self.call("DELETE", "/v1/tenant/%s/timeline/%s" % (T1, TL1)), 500,
                         "Error deleting timeline %s on %s on node 1 (127.0.0.1): pageserver API: Precondition "
                         "failed: Cannot delete timeline which has child timelines: [%s]" % (TL1, T1, TL2))

    def test_slow_tenant_delete(self):
        self.seed(nodes=2)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.config(tenant_delete_seconds=45)
        self.assertError(self.call("DELETE", "/v1/tenant/" + T1), 408, "Timeout waiting for shard %s" % T1)
        desc = self.call("GET", "/control/v1/tenant/" + T1)[1]
        self.assertEqual((desc["policy"], desc["shards"][0]["is_reconciling"], desc["shards"][0]["node_attached"]),
                         ("Detached", True, None))
        self.assertError(self.call("GET", "/debug/v1/tenant/%s/locate" % T1), 400,
                         "Cannot locate a tenant that is not attached")
        # asked again: waits for the detach still going on, then deletes
        self.assertEqual(self.call("DELETE", "/v1/tenant/" + T1)[:3], (200, None, b"null"))
        self.assertError(self.call("GET", "/control/v1/tenant/" + T1), 404, "NotFound: Tenant %s not found" % T1)
        self.assertError(self.call("DELETE", "/v1/tenant/" + T1), 404, "NotFound: Tenant %s not found" % T1)


class PlacementTests(SimTestCase):
    def test_locate_needs_an_attached_placement(self):
        self.seed(nodes=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.call("PUT", "/control/v1/tenant/%s/policy" % T1, {"placement": "Secondary"})
        self.assertError(self.call("GET", "/debug/v1/tenant/%s/locate" % T1), 400,
                         "Cannot locate a tenant that is not attached")
        self.assertEqual(self.describe(T1)["node_attached"], None)
        self.assertError(self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1}), 409,
                         "Conflict: Shard %s tenant has policy Secondary" % T1)
        # Detached: once idle, storcon drops the tenant from memory (describe, list, locate: gone)
        self.call("PUT", "/control/v1/tenant/%s/policy" % T1, {"placement": "Detached"})
        self.assertError(self.call("GET", "/debug/v1/tenant/%s/locate" % T1), 404,
                         "NotFound: No shards for this tenant ID found")
        self.assertError(self.call("GET", "/control/v1/tenant/" + T1), 404, "NotFound: Tenant %s not found" % T1)
        self.assertEqual(self.call("GET", "/control/v1/tenant")[1], [])
        self.assertError(self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1}), 503,
                         "One or more shards in tenant is not yet attached")
        # a policy change loads it again
        self.call("PUT", "/control/v1/tenant/%s/policy" % T1, {"placement": {"Attached": 0}})
        self.assertIsNotNone(self.describe(T1)["node_attached"])
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/locate" % T1)[0], 200)


class ImportTests(SimTestCase):
    with_hook = True

    IMPORT = {"location": {"AwsS3": {"region": "r", "bucket": "b", "key": "k"}}, "idempotency_key": "x"}

    def test_import_ends_with_import_complete(self):
        self.seed(nodes=1, safekeepers=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.config(import_seconds=3600)
        status, body, _ = self.call("POST", "/v1/tenant/%s/timeline" % T1,
                                    {"new_timeline_id": TL1, "import_pgdata": self.IMPORT})
        self.assertEqual((status, body["safekeepers"]), (201, None))
        self.assertTrue(self.describe(T1)["is_importing"])
        self.assertError(self.call("PUT", "/control/v1/tenant/%s/shard_split" % T1, {"new_shard_count": 2}), 409,
                         "Conflict: Cannot shard split during timeline import")
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL1))[0], 404)
        # the import finishes; the control plane fails twice before it takes import_complete
        self.hook.statuses = [500, 503]
        self.assertEqual(self.call("POST", "/__sim/import", {"tenant_id": T1, "timeline_id": TL1})[0], 200)
        wait_for(lambda: not self.describe(T1)["is_importing"], what="import complete")
        calls = [c for c in self.hook.calls if c[1] == "/hook/import_complete"]
        self.assertEqual(len(calls), 3)
        self.assertEqual(calls[-1][2], b'{"tenant_id":"%s","timeline_id":"%s","error":null}' % (T1.encode(), TL1.encode()))
        self.assertEqual(calls[-1][3], "Bearer cp-token")
        self.assertWaitedAtLeast([c[4] for c in calls], [1, 1])
        # now on safekeepers, generation 1
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL1))[1]["generation"], 1)
        self.assertEqual(self.call("GET", "/v1/tenant/%s/timeline/%s" % (T1, TL1))[1]["state"], "Active")

    def test_import_error_and_timer(self):
        self.seed(nodes=1, safekeepers=3)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.config(import_seconds=3600)
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1, "import_pgdata": self.IMPORT})
        self.call("POST", "/__sim/import", {"tenant_id": T1, "timeline_id": TL1, "error": "no such bucket"})
        wait_for(lambda: not self.describe(T1)["is_importing"], what="import complete")
        self.assertEqual(self.hook.bodies("/hook/import_complete"),
                         [{"tenant_id": T1, "timeline_id": TL1, "error": "no such bucket"}])
        # "import_seconds": the import ends by itself
        self.config(import_seconds=10)
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL2, "import_pgdata": self.IMPORT})
        wait_for(lambda: len(self.hook.bodies("/hook/import_complete")) == 2, what="second import")
        self.assertError(self.call("POST", "/__sim/import", {"tenant_id": T1, "timeline_id": TL2}), 404,
                         "NotFound: no import running for %s/%s" % (T1, TL2))


__all__ = ["LiveMigrationTests", "SplitTests", "DeletionTests", "PlacementTests", "ImportTests"]
