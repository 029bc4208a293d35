"""Routes for pageserver nodes (§3.5): register, describe, configure, drain, fill, delete.

Why this file exists: nodes are where shards live; moving shards off or onto a node is how most
compute notifications start.  Drain, fill and delete are storcon's background operations (one
at a time, "Background operation already ongoing for node: <op>"): the shards' intent moves at
once, live migrations follow in reconcilers (reconcile.py), and the node's scheduling policy
changes when they are done (Draining -> PauseForRestart, Filling -> Active, Deleting -> gone).
A cancelled operation puts the node back (drain/fill: Active; delete: its policy before).
"""

import threading

from .errors import bad_request, conflict, not_found, precondition_failed, unavailable
from .parsing import NODE_CONFIGURE_REQUEST, NODE_REGISTER_REQUEST, parse_json_body
from .state import ScheduleError, route


class NodeRoutes:
    @route("POST", "/control/v1/node")
    def h_node_register(self, req):
        # listen_pg_addr / listen_http_addr are stored as given (any string: trailing-dot FQDNs,
        # long labels); the simulator does not resolve them.
        body = parse_json_body(req.body, NODE_REGISTER_REQUEST)
        grpc_addr = body.get("listen_grpc_addr")
        grpc_port = body.get("listen_grpc_port")
        if (grpc_addr is None) != (grpc_port is None):
            raise bad_request("must specify both gRPC address and port")
        node_id = body["node_id"]
        with self.lock:
            if node_id in self.tombstones:
                raise conflict("Node %d is already exists" % node_id)
            node = self.nodes.get(node_id)
            if node is not None:
                same = (node["listen_pg_addr"] == body["listen_pg_addr"]
                        and node["listen_pg_port"] == body["listen_pg_port"]
                        and node["listen_http_addr"] == body["listen_http_addr"]
                        and node["listen_http_port"] == body["listen_http_port"]
                        and node["availability_zone_id"] == body["availability_zone_id"])
                if not same:
                    raise conflict("Node is already registered with different address")
                # Only https / gRPC fields may change on re-registration.
                node["listen_https_port"] = body.get("listen_https_port")
                node["listen_grpc_addr"] = grpc_addr
                node["listen_grpc_port"] = grpc_port
                return 200, None
            self.nodes[node_id] = self._make_node(
                node_id, body["listen_pg_addr"], body["listen_pg_port"], body["listen_http_addr"],
                body["listen_http_port"], body.get("listen_https_port"), grpc_addr, grpc_port,
                body["availability_zone_id"])
        return 200, None

    @route("GET", "/control/v1/node")
    def h_node_list(self, req):
        with self.lock:
            return 200, [dict(self.nodes[i]) for i in sorted(self.nodes)]

    def _node_or_404(self, node_id):
        node = self.nodes.get(node_id)
        if node is None:
            raise not_found("Node %d not registered" % node_id)
        return node

    @route("GET", "/control/v1/node/{node_id}")
    def h_node_get(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            return 200, dict(self._node_or_404(node_id))

    @route("PUT", "/control/v1/node/{node_id}/config")
    def h_node_config(self, req):
        node_id = self._param_u64(req, "node_id")
        body = parse_json_body(req.body, NODE_CONFIGURE_REQUEST)
        if body["node_id"] != node_id:
            raise bad_request("Path and body node_id differ")
        with self.lock:
            if self.ongoing_operation is not None:
                raise precondition_failed("Ongoing background operation forbids configuring: %s"
                                          % self._operation_text(self.ongoing_operation))
            node = self._node_or_404(node_id)
            availability = body.get("availability")
            if availability is not None:
                was = node["availability"]
                node["availability"] = availability
                if availability == "Offline" and was != "Offline":
                    # storcon reschedules attachments away from an offline node; with the origin
                    # gone these are plain attaches (one notification, pending on failure).
                    self._spawn_moves_locked(self._evacuate_node(node_id, detach_if_stuck=False,
                                                                 drop_secondaries=False))
            if body.get("scheduling") is not None:
                node["scheduling"] = body["scheduling"]
        return 200, None

    @route("GET", "/control/v1/node/{node_id}/shards")
    def h_node_shards(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            self._node_or_404(node_id)
            shards = []
            for tenant_id in sorted(self.tenants):
                tenant = self.tenants[tenant_id]
                if tenant["dormant"]:
                    continue
                for shard in tenant["shards"]:
                    if shard["attached"] == node_id:
                        secondary = False
                    elif node_id in shard["secondaries"]:
                        secondary = True
                    else:
                        continue
                    # The simulator's pageservers always hold what the intent says.
                    shards.append({"tenant_shard_id": self._shard_text(tenant, shard),
                                   "is_observed_secondary": secondary,
                                   "is_intended_secondary": secondary})
            return 200, {"node_id": node_id, "shards": shards}

    # ---- shard movements -------------------------------------------------------------------

    def _evacuate_node(self, node_id, detach_if_stuck, drop_secondaries):
        """Move every shard attached to node_id elsewhere (intent).  Returns the moves as
        (tenant, shard, origin) for _spawn_moves_locked."""
        load = self._attached_load()
        moves = []
        for tenant in self.tenants.values():
            if tenant["dormant"]:
                continue
            affinity = self._tenant_affinity(tenant)
            for shard in tenant["shards"]:
                if drop_secondaries and node_id in shard["secondaries"]:
                    shard["secondaries"].remove(node_id)
                if shard["attached"] != node_id:
                    continue
                # Like a drain, prefer cutting over to an existing secondary.
                target = next((n for n in shard["secondaries"]
                               if self._schedulable(n, exclude=(node_id,))), None)
                if target is None:
                    node = self._pick_node(tenant, {node_id} | set(shard["secondaries"]),
                                           load, affinity)
                    target = node["id"] if node else None
                if target is None:
                    if detach_if_stuck:
                        shard["attached"] = None
                    continue
                self._move_attached(tenant, shard, target)
                load[target] = load.get(target, 0) + 1
                load[node_id] = load.get(node_id, 1) - 1
                affinity[target] = affinity.get(target, 0) + 1
                moves.append((tenant, shard, node_id))
        return moves

    def _spawn_moves_locked(self, moves):
        """A reconciler per moved shard: a live migration while the origin is available, else
        a plain attach.  Returns the reconcilers."""
        return [self._spawn_reconcile_locked(tenant, shard, "migrate", origin=origin)
                for tenant, shard, origin in moves]

    # ---- background operations (drain, fill, delete) ---------------------------------------

    @staticmethod
    def _operation_text(op):
        return "%s %d" % (op["kind"], op["node_id"])

    def _check_no_operation_locked(self):
        if self.ongoing_operation is not None:
            raise precondition_failed("Background operation already ongoing for node: %s"
                                      % self._operation_text(self.ongoing_operation))

    def _start_operation_locked(self, kind, node_id, reconcilers, on_done, on_cancel):
        """Run a background operation: wait for its reconcilers, then on_done(); on_cancel()
        if cancelled first.  Finishes at once when there is nothing to wait for."""
        op = {"kind": kind, "node_id": node_id, "cancel": threading.Event()}
        self.ongoing_operation = op
        if all(rec.done.is_set() for rec in reconcilers):
            self.ongoing_operation = None
            on_done()
            return
        epoch = self.epoch_cancel

        def run():
            for rec in reconcilers:
                while not rec.done.wait(0.05):
                    if op["cancel"].is_set() or epoch.is_set():
                        break
            with self.lock:
                if epoch.is_set():
                    return
                if self.ongoing_operation is op:
                    self.ongoing_operation = None
                if op["cancel"].is_set():
                    on_cancel()
                else:
                    on_done()
        threading.Thread(target=run, daemon=True, name="%s-%d" % (kind, node_id)).start()

    def _cancel_operation(self, kind, node_id, check_available):
        with self.lock:
            node = self._node_or_404(node_id)
            if check_available and node["availability"] != "Active":
                raise unavailable("Node %d is currently unavailable" % node_id)
            op = self.ongoing_operation
            if op is not None and op["kind"] == kind and op["node_id"] == node_id:
                op["cancel"].set()
                return
            raise precondition_failed("Node %d has no %s in progress" % (node_id, kind))

    def _set_scheduling_locked(self, node_id, policy):
        node = self.nodes.get(node_id)
        if node is not None:
            node["scheduling"] = policy

    @route("PUT", "/control/v1/node/{node_id}/drain")
    def h_node_drain(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            node = self._node_or_404(node_id)
            self._check_no_operation_locked()
            if node["availability"] != "Active":
                raise unavailable("Node %d is currently unavailable" % node_id)
            if self._may_schedule_count() == 0:
                raise precondition_failed("No other schedulable nodes to drain to")
            if node["scheduling"] == "Draining":
                raise conflict("Node %d has drain in progress" % node_id)
            if node["scheduling"] != "Active":
                raise precondition_failed("Node %d cannot be drained due to %s policy"
                                          % (node_id, node["scheduling"]))
            node["scheduling"] = "Draining"
            recs = self._spawn_moves_locked(self._evacuate_node(node_id, detach_if_stuck=False,
                                                                drop_secondaries=False))
            self._start_operation_locked(
                "drain", node_id, recs,
                on_done=lambda: self._set_scheduling_locked(node_id, "PauseForRestart"),
                on_cancel=lambda: self._set_scheduling_locked(node_id, "Active"))
        return 202, None

    @route("DELETE", "/control/v1/node/{node_id}/drain")
    def h_node_drain_cancel(self, req):
        self._cancel_operation("drain", self._param_u64(req, "node_id"), check_available=True)
        return 202, None

    @route("PUT", "/control/v1/node/{node_id}/fill")
    def h_node_fill(self, req):
        # Sim deviation: storcon only fills an Active node (after the restart that resets
        # PauseForRestart); without /__sim/node/:id/restart, PauseForRestart is accepted too.
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            node = self._node_or_404(node_id)
            self._check_no_operation_locked()
            if node["availability"] != "Active":
                raise unavailable("Node %d is currently unavailable" % node_id)
            if len(self.nodes) <= 1:
                raise precondition_failed("No other nodes to fill from")
            if node["scheduling"] == "Filling":
                raise conflict("Node %d has fill in progress" % node_id)
            if node["scheduling"] not in ("Active", "PauseForRestart"):
                raise precondition_failed("Node %d cannot be filled due to %s policy"
                                          % (node_id, node["scheduling"]))
            node["scheduling"] = "Filling"
            recs = self._spawn_moves_locked(self._fill_moves(node_id))
            self._start_operation_locked(
                "fill", node_id, recs,
                on_done=lambda: self._set_scheduling_locked(node_id, "Active"),
                on_cancel=lambda: self._set_scheduling_locked(node_id, "Active"))
        return 202, None

    def _fill_moves(self, node_id):
        """Promote secondaries on this node back to attached, up to a fair share."""
        moves = []
        load = self._attached_load()
        schedulable = sum(1 for n in self.nodes if self._schedulable(n) or n == node_id)
        fair_share = -(-sum(load.values()) // max(schedulable, 1))
        for tenant_id in sorted(self.tenants):
            tenant = self.tenants[tenant_id]
            if tenant["dormant"]:
                continue
            for shard in tenant["shards"]:
                if load.get(node_id, 0) >= fair_share:
                    break
                if node_id in shard["secondaries"] and shard["attached"] not in (None, node_id):
                    old = shard["attached"]
                    self._move_attached(tenant, shard, node_id)
                    load[node_id] = load.get(node_id, 0) + 1
                    load[old] = load.get(old, 1) - 1
                    moves.append((tenant, shard, old))
        return moves

    @route("DELETE", "/control/v1/node/{node_id}/fill")
    def h_node_fill_cancel(self, req):
        self._cancel_operation("fill", self._param_u64(req, "node_id"), check_available=True)
        return 202, None

    def _remove_node_locked(self, node_id):
        """The node is gone: tombstone it, drop it from every shard, re-place lost secondaries."""
        if node_id not in self.nodes:
            return
        moves = self._evacuate_node(node_id, detach_if_stuck=True, drop_secondaries=True)
        self.tombstones[node_id] = dict(self.nodes.pop(node_id))
        load = self._attached_load()
        for tenant in self.tenants.values():
            affinity = self._tenant_affinity(tenant)
            for shard in tenant["shards"]:
                if node_id in shard["secondaries"]:
                    shard["secondaries"].remove(node_id)
                if shard["attached"] is None or tenant["dormant"]:
                    continue
                try:
                    self._schedule_shard(tenant, shard, load, affinity)
                except ScheduleError:
                    pass
        self._spawn_moves_locked(moves)

    @route("PUT", "/control/v1/node/{node_id}/delete")
    def h_node_start_delete(self, req):
        node_id = self._param_u64(req, "node_id")
        self._query_bool(req, "force")
        with self.lock:
            node = self._node_or_404(node_id)
            self._check_no_operation_locked()
            if self._may_schedule_count() == 0:
                raise precondition_failed("No other schedulable nodes to move shards")
            if node["scheduling"] == "Deleting":
                raise conflict("Node %d has delete in progress" % node_id)
            if node["scheduling"] not in ("Active", "Pause"):
                raise precondition_failed("Node %d cannot be deleted due to %s policy"
                                          % (node_id, node["scheduling"]))
            policy_on_start = node["scheduling"]
            node["scheduling"] = "Deleting"
            recs = self._spawn_moves_locked(self._evacuate_node(node_id, detach_if_stuck=False,
                                                                drop_secondaries=True))
            self._start_operation_locked(
                "delete", node_id, recs,
                on_done=lambda: self._remove_node_locked(node_id),
                on_cancel=lambda: self._set_scheduling_locked(node_id, policy_on_start))
        return 200, None

    @route("DELETE", "/control/v1/node/{node_id}/delete")
    def h_node_cancel_delete(self, req):
        self._cancel_operation("delete", self._param_u64(req, "node_id"), check_available=False)
        return 202, None

    @route("DELETE", "/control/v1/node/{node_id}")
    def h_node_delete_sync(self, req):
        # The deprecated synchronous delete: the node goes at once, its shards are rescheduled.
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            self._node_or_404(node_id)
            self._remove_node_locked(node_id)
        return 200, None

    @route("POST", "/debug/v1/node/{node_id}/drop")
    def h_node_drop(self, req):
        # Forget the node without moving anything and without a tombstone.
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            self._node_or_404(node_id)
            del self.nodes[node_id]
            for tenant in self.tenants.values():
                for shard in tenant["shards"]:
                    if shard["attached"] == node_id:
                        shard["attached"] = None
                    if node_id in shard["secondaries"]:
                        shard["secondaries"].remove(node_id)
        return 200, None

    @route("GET", "/debug/v1/tombstone")
    def h_tombstone_list(self, req):
        with self.lock:
            return 200, [dict(self.tombstones[i]) for i in sorted(self.tombstones)]

    @route("DELETE", "/debug/v1/tombstone/{node_id}")
    def h_tombstone_delete(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            self.tombstones.pop(node_id, None)
        return 200, None
