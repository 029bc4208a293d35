"""Self-test of the simulator's compute hook client (compute_hook.rs, contract §1.2-§1.5).

Why this file exists: pg_storcon's hook is only proven against the way storcon really calls it:
the exact bodies, the retries inside one call and their backoff, which statuses end a call,
the "skip when already acked" memory, per-tenant serialisation and the 32-call limit.
"""

import threading
import time

from .support import (SCALE, T1, T2, TL1, HookServer, SimProcess, SimTestCase, in_background,
                      wait_for)

ATTACH = "/hook/notify-attach"
HOOK_BACKOFF = [0, 1.1, 1.21, 1.331, 1.4641, 1.61051, 1.771561, 1.9487171, 2.14358881, 2.357947691]


class ComputeHookTests(SimTestCase):
    with_hook = True

    def test_notify_attach_bodies(self):
        self.seed(nodes=4)
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T1})[0], 201)
        self.assertEqual([c[:4] for c in self.hook.calls], [(
            "PUT", ATTACH,
            b'{"tenant_id":"%s","preferred_az":"az-1","stripe_size":null,"shards":[{"node_id":1,"shard_number":0}]}'
            % T1.encode(), "Bearer cp-token")])
        # a migration notifies the new location; migrating to the current node sends nothing
        migrate = {"node_id": 4, "migration_config": {"prewarm": False}}
        self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1, migrate)[:2], (200, {}))
        self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/migrate" % T1, migrate)[:2], (200, {}))
        self.assertEqual(self.hook.count(), 2)
        self.assertEqual(self.hook.bodies(ATTACH)[1]["shards"], [{"node_id": 4, "shard_number": 0}])
        # split: exactly one body with the new count and the stripe size
        self.call("PUT", "/control/v1/tenant/%s/shard_split" % T1, {"new_shard_count": 2})
        self.assertEqual(self.hook.count(), 3)
        self.assertEqual(self.hook.calls[2][2],
                         b'{"tenant_id":"%s","preferred_az":"az-1","stripe_size":2048,"shards":'
                         b'[{"node_id":4,"shard_number":0},{"node_id":4,"shard_number":1}]}' % T1.encode())
        self.assertEqual([(e["path"], e["status"]) for e in self.out_calls()], [(ATTACH, 200)] * 3)

    def test_retried_statuses_and_backoff(self):
        # 5xx and 429 are retried inside one call, with storcon's backoff between attempts
        self.seed(nodes=1)
        self.hook.statuses = [503, 502, 504, 429]
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T1})[0], 201)
        self.assertEqual(self.hook.count(), 5)
        # after the 429 storcon also sleeps 5 s inside that attempt
        self.assertWaitedAtLeast(self.hook.times(ATTACH), [0, 1.1, 1.21, 1.331 + 5])
        self.assertEqual(len(set(c[2] for c in self.hook.calls)), 1)     # the same body each time
        self.assertFalse(self.describe(T1)["is_pending_compute_notification"])
        self.assertEqual(self.describe(T1)["last_error"], "")

    def test_eleven_attempts_then_pending(self):
        self.seed(nodes=1)
        self.hook.default = 503
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T1})[0], 201)
        shard = wait_for(lambda: (lambda s: s if not s["is_reconciling"] else None)(self.describe(T1)),
                         what="creation reconcile done")
        self.assertEqual(self.hook.count(), 11)
        self.assertWaitedAtLeast(self.hook.times(ATTACH), HOOK_BACKOFF)
        self.assertTrue(shard["is_pending_compute_notification"])
        self.assertEqual(shard["last_error"], "Control plane unavailable (status 503 Service Unavailable)")
        self.assertEqual([e["status"] for e in self.out_calls()], [503] * 11)

    def test_statuses_that_end_a_call(self):
        # 400/401/403 (Fatal), 423 (Busy) and any other status (404, 409, 500) are not retried
        self.seed(nodes=1)
        cases = [(400, "Non-retryable error 400 Bad Request"), (401, "Non-retryable error 401 Unauthorized"),
                 (403, "Non-retryable error 403 Forbidden"), (423, "Control plane tenant busy"),
                 (409, "Control plane returned unexpected status 409 Conflict"),
                 (500, "Control plane returned unexpected status 500 Internal Server Error")]
        for i, (status, error) in enumerate(cases):
            tenant = "%032x" % (i + 1)
            before = self.hook.count()
            self.hook.statuses = [status]
            self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": tenant})[0], 201)
            shard = wait_for(lambda: (lambda s: s if not s["is_reconciling"] else None)(self.describe(tenant)),
                             what="reconcile of %d" % status)
            self.assertEqual(self.hook.count() - before, 1, status)
            self.assertEqual((shard["is_pending_compute_notification"], shard["last_error"]), (True, error))

    def test_404_during_creation_is_tolerated(self):
        self.seed(nodes=1)
        self.hook.statuses = [404]
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T1})[0], 201)
        shard = wait_for(lambda: (lambda s: s if not s["is_reconciling"] else None)(self.describe(T1)),
                         what="creation reconcile done")
        # no reconcile error, but the notification is still owed
        self.assertEqual((shard["last_error"], shard["is_pending_compute_notification"]), ("", True))
        self.assertEqual(self.call("POST", "/debug/v1/reconcile_all")[:2], (200, 1))
        self.assertFalse(self.describe(T1)["is_pending_compute_notification"])
        self.assertEqual(self.hook.count(), 2)

    def test_busy_is_remembered_as_not_applied(self):
        # after a 423 the same body is sent again; after a 2xx it is not
        self.seed(nodes=1)
        self.hook.statuses = [423]
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        wait_for(lambda: self.describe(T1)["is_pending_compute_notification"], what="pending after 423")
        self.assertEqual(self.call("POST", "/debug/v1/reconcile_all")[:2], (200, 1))
        self.assertEqual(self.hook.count(), 2)
        self.assertEqual(self.hook.calls[0][2], self.hook.calls[1][2])
        self.assertFalse(self.describe(T1)["is_pending_compute_notification"])
        self.assertEqual(self.call("POST", "/debug/v1/reconcile_all")[:2], (200, 0))
        self.assertEqual(self.hook.count(), 2)

    def test_timeouts_and_transport_errors_are_retried(self):
        self.seed(nodes=1)
        # an attempt that takes longer than 10 s (scaled) times out and is retried
        self.hook.delay = 20 * SCALE
        self.config(hook_timeout=10)
        join = in_background(self.call, "POST", "/v1/tenant", {"new_tenant_id": T1})
        wait_for(lambda: self.hook.count() >= 2, what="a second attempt after a timeout")
        self.hook.delay = 0
        self.assertEqual(join()[0], 201)
        out = self.out_calls()
        self.assertIsNone(out[0]["status"])
        self.assertIn("timed out", out[0]["error"])
        wait_for(lambda: not self.describe(T1)["is_reconciling"], what="reconcile done")
        # nobody listening: every attempt is a transport error, 11 of them
        self.config(control_plane_url="http://127.0.0.1:1/")
        self.call("DELETE", "/__sim/requests")
        self.call("POST", "/v1/tenant", {"new_tenant_id": T2})
        wait_for(lambda: not self.describe(T2)["is_reconciling"], what="reconcile done")
        out = self.out_calls()
        self.assertEqual(len(out), 11)
        self.assertTrue(all(e["status"] is None and e["url"] == "http://127.0.0.1:1/notify-attach" for e in out))
        self.assertTrue(self.describe(T2)["last_error"].startswith("Sending request: "))

    def test_one_notification_per_tenant_at_a_time(self):
        # two shards of one tenant move at once: their notifications are serialised; another
        # tenant is notified in parallel
        self.seed(nodes=4)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1, "shard_parameters": {"count": 2, "stripe_size": 2048}})
        self.call("POST", "/v1/tenant", {"new_tenant_id": T2})
        self.hook.gate = threading.Event()
        config = {"override_scheduler": True, "prewarm": True}
        for shard, node in (("%s-0002" % T1, 2), ("%s-0102" % T1, 3), (T2, 4)):
            self.assertEqual(self.call("PUT", "/control/v1/tenant/%s/migrate" % shard,
                                       {"node_id": node, "migration_config": config})[:2], (200, {}))
        wait_for(lambda: self.hook.in_flight == 2, what="one call per tenant in flight")
        time.sleep(0.2)
        self.assertEqual(self.hook.in_flight, 2)
        self.hook.gate.set()
        wait_for(lambda: not any(s["is_reconciling"] for t in (T1, T2)
                                 for s in self.call("GET", "/control/v1/tenant/" + t)[1]["shards"]),
                 what="migrations done")
        self.assertEqual(self.hook.max_by_key[(T1, None)], 1)
        self.assertEqual(self.hook.max_in_flight, 2)
        self.assertEqual([b for b in self.hook.bodies(ATTACH) if b["tenant_id"] == T1][-1]["shards"],
                         [{"node_id": 2, "shard_number": 0}, {"node_id": 3, "shard_number": 1}])

    def test_at_most_32_calls_in_flight(self):
        self.seed(nodes=1)
        self.config(hook_timeout=1000)       # held calls must not time out meanwhile
        self.hook.gate = threading.Event()
        joins = [in_background(self.call, "POST", "/v1/tenant", {"new_tenant_id": "%032x" % (i + 1)})
                 for i in range(40)]
        wait_for(lambda: self.hook.in_flight == 32, what="32 calls in flight")
        time.sleep(0.3)
        self.assertEqual(self.hook.in_flight, 32)
        self.hook.gate.set()
        for join in joins:
            self.assertEqual(join()[0], 201)
        wait_for(lambda: self.hook.count() == 40, what="all 40 notified")
        self.assertEqual(self.hook.max_in_flight, 32)

    def test_pending_notification_and_restart(self):
        self.seed(nodes=1)
        self.hook.statuses = [500]
        self.assertEqual(self.call("POST", "/v1/tenant", {"new_tenant_id": T1})[0], 201)
        wait_for(lambda: self.describe(T1)["is_pending_compute_notification"], what="pending")
        self.assertEqual(self.call("POST", "/debug/v1/reconcile_all")[1], 1)
        self.assertFalse(self.describe(T1)["is_pending_compute_notification"])
        self.assertEqual(self.hook.count(), 2)
        self.assertEqual(self.hook.calls[0][2], self.hook.calls[1][2])
        # a "storcon restart" re-sends the identical body
        self.assertEqual(self.call("POST", "/__sim/restart", {"wait": True})[1], {"notified": 1})
        self.assertEqual(self.hook.count(), 3)
        self.assertEqual(self.hook.calls[2][2], self.hook.calls[0][2])

    def test_safekeeper_migration_bodies(self):
        self.seed(nodes=1, safekeepers=4)
        self.call("POST", "/v1/tenant", {"new_tenant_id": T1})
        self.call("POST", "/v1/tenant/%s/timeline" % T1, {"new_timeline_id": TL1})
        self.assertEqual(self.hook.count(), 1)          # no notify-safekeepers on creation
        self.assertError(self.call("POST", "/v1/tenant/%s/timeline/%s/safekeeper_migrate" % (T1, TL1),
                                   {"new_sk_set": [2, 3, 9]}), 400, "safekeeper 9 does not exist")
        self.assertEqual(self.call("POST", "/v1/tenant/%s/timeline/%s/safekeeper_migrate" % (T1, TL1),
                                   {"new_sk_set": [2, 3, 4]})[:2], (200, None))
        bodies = [c[2] for c in self.hook.calls if c[1] == "/hook/notify-safekeepers"]
        prefix = b'{"tenant_id":"%s","timeline_id":"%s",' % (T1.encode(), TL1.encode())
        sk = b'{"id":%d,"hostname":"127.0.0.1"}'
        # storcon never told the compute about generation 1 (created, not migrated): it does so
        # first, then the joint configuration, then the final one
        self.assertEqual(bodies, [
            prefix + b'"generation":1,"safekeepers":[' + b",".join(sk % i for i in (1, 2, 3)) + b"]}",
            prefix + b'"generation":2,"safekeepers":[' + b",".join(sk % i for i in (1, 2, 3, 4)) + b"]}",
            prefix + b'"generation":3,"safekeepers":[' + b",".join(sk % i for i in (2, 3, 4)) + b"]}",
        ])
        self.assertEqual(self.call("GET", "/debug/v1/tenant/%s/timeline/%s/locate" % (T1, TL1))[1],
                         {"generation": 3, "sk_set": [2, 3, 4], "new_sk_set": None})
        # a failing hook makes the API call fail with 500
        self.hook.statuses = [500]
        r = self.call("POST", "/v1/tenant/%s/timeline/%s/safekeeper_migrate" % (T1, TL1), {"new_sk_set": [1, 2, 3]})
        self.assertError(r, 500, "failed to notify cplane about safekeeper membership change: "
                                 "Control plane returned unexpected status 500 Internal Server Error")


class BackgroundRetryTests(SimTestCase):
    def test_background_pass_retries_pending(self):
        # storcon's 20 s background pass (scaled) re-sends a pending notification on its own
        hook = HookServer()
        self.addCleanup(hook.close)
        sim = SimProcess("--seed-nodes", "1", "--time-scale", "0.01", "--control-plane-url", hook.url)
        try:
            hook.statuses = [500]
            self.assertEqual(sim.call("POST", "/v1/tenant", {"new_tenant_id": T1})[0], 201)
            wait_for(lambda: hook.count() >= 2, what="background retry")
            wait_for(lambda: not sim.call("GET", "/control/v1/tenant/" + T1)[1]["shards"][0]
                     ["is_pending_compute_notification"], what="pending cleared")
            self.assertEqual(sim.call("GET", "/__sim/config")[1]["pending_retry_interval"], 20.0)
        finally:
            self.assertEqual(sim.stop(), 0)

    def test_default_timing_is_storcons(self):
        sim = SimProcess()
        try:
            config = sim.call("GET", "/__sim/config")[1]
            self.assertEqual((config["time_scale"], config["hook_timeout"], config["pending_retry_interval"]),
                             (1.0, 10.0, 20.0))
            self.assertErrorStatus(sim.call("POST", "/__sim/config", {"time_scale": 0}), 400)
            self.assertErrorStatus(sim.call("POST", "/__sim/config", {"split_seconds": "x"}), 400)
        finally:
            self.assertEqual(sim.stop(), 0)

    def assertErrorStatus(self, result, status):
        self.assertEqual(result[0], status, result)


__all__ = ["ComputeHookTests", "BackgroundRetryTests"]
