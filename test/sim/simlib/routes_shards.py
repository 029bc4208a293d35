"""Routes for shards (§3.3): split, live migration, secondary migration, cancel reconcile.

Why this file exists: these are the operations that change a compute's shard map.
- Split holds the tenant's exclusive lock for the whole request; is_splitting is true meanwhile
  (longer with the "split_seconds" knob).  Children start on their parents' pageservers; the
  compute hook is called inside the request with the new map (one body, sent when the last child
  is known); a failed notification marks that child pending but the split succeeds.
- Migrate switches the intent first (locate and describe name the destination, is_reconciling is
  true), then a live-migration reconciler notifies the hook until a 2xx (reconcile.py).  With
  prewarm=false the request waits up to 30 s: 408 "Timeout waiting for shard <id>" while the
  migration goes on, 500 "Reconcile error on shard <id>: ..." after a Fatal hook answer.  With
  prewarm=true (the default) storcon answers as soon as the migration is started (simulator:
  the warm-up is instant, so the cut-over starts at once too).
"""

from . import timing
from .errors import bad_request, conflict, not_found, precondition_failed
from .parsing import (TENANT_SHARD_MIGRATE_REQUEST, TENANT_SHARD_SPLIT_REQUEST, parse_json_body,
                      policy_is_attached, policy_name, shard_id_text)
from .state import route


class ShardRoutes:
    @route("PUT", "/control/v1/tenant/{tenant_id}/shard_split")
    def h_tenant_split(self, req):
        tenant_id = self._param_tenant_id(req)
        body = parse_json_body(req.body, TENANT_SHARD_SPLIT_REQUEST)
        new_count = body["new_shard_count"]
        new_stripe = body.get("new_stripe_size")
        with self.op_locks.exclusive(tenant_id):
            with self.lock:
                if any(key[0] == tenant_id for key in self.imports):
                    raise conflict("Cannot shard split during timeline import")
                tenant = self._tenant_or_404(tenant_id)
                old_count = max(tenant["count"], 1)
                if new_count == old_count or new_count == tenant["count"]:
                    # A retry after success: report the existing shards.
                    return 200, {"new_shards": [self._shard_text(tenant, s) for s in tenant["shards"]]}
                if new_count < old_count:
                    raise bad_request("Requested count %d but already have shards at count %d"
                                      % (new_count, old_count))
                if any(s["attached"] is None for s in tenant["shards"]):
                    raise bad_request("Cannot split a tenant that is not attached")
                if new_stripe is not None and new_stripe != tenant["stripe_size"] and old_count > 1:
                    raise bad_request("Attempted to change stripe size (ShardStripeSize(%d)->"
                                      "ShardStripeSize(%d)) on a tenant with multiple shards"
                                      % (tenant["stripe_size"], new_stripe))
                factor = new_count // old_count
                if new_count % old_count != 0 or factor & (factor - 1) != 0:
                    # Sim text: the pageserver requires a power-of-two growth factor.
                    raise bad_request("Requested split %d->%d is not a power-of-two multiple of the shard count"
                                      % (old_count, new_count))
                # The targets are fixed now: children go where the parents are at this moment.
                targets = [(parent["number"], parent["attached"], list(parent["secondaries"]),
                            parent["generation"], parent["preferred_az"]) for parent in tenant["shards"]]
                tenant["splitting"] = True
                epoch = self.epoch_cancel
                delay = self.config["split_seconds"]
            try:
                # The pageservers split the parents (the "split_seconds" knob makes this slow).
                self.clock.sleep(delay, epoch)
            finally:
                with self.lock:
                    tenant["splitting"] = False
            with self.lock:
                if epoch.is_set() or self.tenants.get(tenant_id) is not tenant:
                    raise not_found("Tenant %s not found" % tenant_id)
                for parent in tenant["shards"]:
                    if parent["reconciler"] is not None:
                        parent["reconciler"].superseded = True
                        parent["reconciler"].cancel.set()
                children, order = [], []
                for number, node_id, secondaries, generation, az in targets:
                    for child_number in range(number, new_count, old_count):
                        child = self.new_shard(child_number, az)
                        child.update(attached=node_id, secondaries=list(secondaries), generation=generation)
                        children.append(child)
                        order.append(child)
                tenant["shards"] = sorted(children, key=lambda s: s["number"])
                tenant["count"] = new_count
                if new_stripe is not None:
                    tenant["stripe_size"] = new_stripe
                new_ids = [shard_id_text(tenant_id, s["number"], new_count) for s in order]
                updates = [(child, self._shard_update(tenant, child)) for child in order]
                hook = self.hook
            # Compute notifications for all the children, one by one: the hook state resets on
            # the new count and sends one body once every child is known.
            failed = [child for child, update in updates if hook.notify_attach(update, epoch) is not None]
            with self.lock:
                for child in failed:
                    child["pending"] = True
        return 200, {"new_shards": new_ids}

    @route("PUT", "/control/v1/tenant/{tenant_shard_id}/migrate")
    def h_shard_migrate(self, req):
        tenant_id, number, count = self._param_tenant_shard_id(req)
        body = parse_json_body(req.body, TENANT_SHARD_MIGRATE_REQUEST)
        config = body.get("migration_config") or {}
        override = config.get("override_scheduler", False)
        prewarm = config.get("prewarm", True)
        target_id = body["node_id"]
        with self.lock:
            target = self.nodes.get(target_id)
            if target is None:
                raise bad_request("Node %d not found" % target_id)
            if target["availability"] != "Active" and not override:
                raise precondition_failed("Node %s is unavailable" % self._node_display(target_id))
            tenant, shard = self._find_shard(tenant_id, number, count)
            if shard is None:
                raise not_found("Tenant shard not found")
            current = shard["attached"]
            # The sim's "worse-scoring" rule: without override_scheduler, a move to a node
            # outside the tenant's preferred AZ (the AZ picked at creation, i.e. the AZ of the
            # node shard 0 was first placed on), or to a node whose scheduling policy is not
            # Active, is refused.
            if target_id != current and not override:
                preferred = tenant["preferred_az"]
                if ((preferred is not None and target["availability_zone_id"] != preferred)
                        or target["scheduling"] != "Active"):
                    raise precondition_failed("Migration to a worse-scoring node")
            origin = body.get("origin_node_id")
            if origin is not None and origin != current:
                raise precondition_failed("Migration expected to originate from %d but shard is on %s"
                                          % (origin, "Some(%d)" % current if current is not None else "None"))
            if not policy_is_attached(tenant["policy"]):
                raise bad_request("Cannot migrate a tenant that is PlacementPolicy::%s: "
                                  "configure it to an attached policy first" % policy_name(tenant["policy"]))
            if target_id == current:
                # No-op: still wait for a reconcile in flight (an earlier change).
                waiter = shard["reconciler"]
                prewarm = False
            else:
                self._move_attached(tenant, shard, target_id)
                waiter = self._spawn_reconcile_locked(tenant, shard, "migrate", origin=current)
        if waiter is not None and not prewarm:
            self._wait_reconciles([waiter])
        return 200, {}

    @route("PUT", "/control/v1/tenant/{tenant_shard_id}/migrate_secondary")
    def h_shard_migrate_secondary(self, req):
        tenant_id, number, count = self._param_tenant_shard_id(req)
        body = parse_json_body(req.body, TENANT_SHARD_MIGRATE_REQUEST)
        with self.lock:
            if body["node_id"] not in self.nodes:
                raise bad_request("Node %d not found" % body["node_id"])
            tenant, shard = self._find_shard(tenant_id, number, count)
            if shard is None:
                raise not_found("Tenant shard not found")
            shard["secondaries"] = [body["node_id"]]
        return 200, {}

    @route("PUT", "/control/v1/tenant/{tenant_shard_id}/cancel_reconcile")
    def h_shard_cancel_reconcile(self, req):
        """Cancel the shard's running reconciler and wait (5 s) for it to stop.  Like storcon,
        the cancelled reconcile is a failed one: 500 "Reconcile error on shard <id>: Cancelled"
        (200 null when nothing was running)."""
        tenant_id, number, count = self._param_tenant_shard_id(req)
        with self.lock:
            tenant, shard = self._find_shard(tenant_id, number, count)
            if shard is None:
                raise not_found("Tenant shard not found")
            rec = shard["reconciler"]
            if rec is None:
                return 200, None
            rec.cancel.set()
        self._wait_reconciles([rec], timeout=timing.SHORT_RECONCILE_TIMEOUT)
        return 200, None
