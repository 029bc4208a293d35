"""Routes about storcon itself: health, metrics, leadership, and the debug passes (§3.7).

Why this file exists: operators (and pg_storcon's SQL functions) ask storcon whether it is up and
leading, hand leadership over (step_down), and pump or check its reconciliation by hand
(reconcile_all, consistency_check).
"""

from .errors import internal_error
from .parsing import policy_is_attached
from .state import Reply, route


class ControlRoutes:
    @route("GET", "/status")
    def h_status(self, req):
        return 200, None

    @route("GET", "/ready")
    def h_ready(self, req):
        return 200, None

    @route("GET", "/live")
    def h_live(self, req):
        # Live = startup complete and leader; a stepped-down storcon answers 503 `null`.
        with self.lock:
            return (503 if self.stepped_down else 200), None

    @route("GET", "/metrics")
    def h_metrics(self, req):
        with self.lock:
            text = ("# storcon_sim metrics\nstorcon_sim_nodes %d\nstorcon_sim_safekeepers %d\n"
                    "storcon_sim_tenants %d\n" % (len(self.nodes), len(self.safekeepers),
                                                  len(self.tenants)))
        return Reply(200, text.encode(), "text/plain; version=0.0.4")

    @route("GET", "/control/v1/leader")
    def h_leader(self, req):
        # ControllerPersistence {address, started_at} from the database (this instance).
        return 200, {"address": self.address + "/", "started_at": self.started_at}

    @route("PUT", "/control/v1/step_down")
    def h_step_down(self, req):
        """Hand leadership over: stop reconciling (no more compute notifications from this
        instance) and answer the GlobalObservedState, {"<tenant_shard_id>": {"locations":
        {"<node_id>": {"conf": LocationConfig}}}}.  Later requests are still served here (the
        database names no other leader); /live answers 503.  /__sim/restart makes it lead again."""
        with self.lock:
            self.stepped_down = True
        self._stop_reconcilers()
        with self.lock:
            observed = {}
            for tenant_id in sorted(self.tenants):
                tenant = self.tenants[tenant_id]
                if tenant["dormant"]:
                    continue
                for shard in tenant["shards"]:
                    observed[self._shard_text(tenant, shard)] = {"locations": self._observed_locations(tenant, shard)}
        return 200, observed

    def _observed_locations(self, tenant, shard):
        """What the pageservers hold (the simulator's pageservers always match the intent)."""
        locations = {}
        common = {"shard_number": shard["number"], "shard_count": tenant["count"],
                  "shard_stripe_size": tenant["stripe_size"], "tenant_conf": dict(tenant["config"])}
        if shard["attached"] is not None:
            conf = {"mode": "AttachedSingle", "generation": shard["generation"], "secondary_conf": None}
            conf.update(common)
            locations[str(shard["attached"])] = {"conf": conf}
        for node_id in shard["secondaries"]:
            conf = {"mode": "Secondary", "generation": None, "secondary_conf": {"warm": True}}
            conf.update(common)
            locations[str(node_id)] = {"conf": conf}
        return locations

    @route("POST", "/debug/v1/reconcile_all")
    def h_reconcile_all(self, req):
        """Spawn reconciles for shards that need one (in the simulator: a pending compute
        notification), then wait up to 30 s for every reconcile in flight.  Answers
        max(in flight, spawned); 408 / 500 like any reconcile wait (cancelled ones ignored)."""
        with self.lock:
            spawned = self._reconcile_pending_locked()
            waiters = [s["reconciler"] for t in self.tenants.values() for s in t["shards"]
                       if s["reconciler"] is not None]
        self._wait_reconciles(waiters, ignore_cancel=True)
        return 200, max(len(waiters), len(spawned))

    @route("POST", "/debug/v1/consistency_check")
    def h_consistency_check(self, req):
        """Compares storcon's memory with its database; the simulator has one copy of the state,
        so the only failure is storcon's own refusal while a reconcile runs."""
        with self.lock:
            for tenant_id in sorted(self.tenants):
                tenant = self.tenants[tenant_id]
                for shard in tenant["shards"]:
                    if shard["reconciler"] is not None:
                        raise internal_error("Shard %s reconciliation in progress"
                                             % self._shard_text(tenant, shard))
                    if policy_is_attached(tenant["policy"]) and shard["attached"] is not None \
                            and shard["attached"] not in self.nodes:
                        raise internal_error("Scheduler checks: shard %s attached to unknown node %d"
                                             % (self._shard_text(tenant, shard), shard["attached"]))
        return 200, None
