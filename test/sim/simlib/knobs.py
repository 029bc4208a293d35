"""Test knobs under /__sim/ (never authenticated, not in the request log, never faulted).

Why this file exists: tests need to look inside the simulator and bend it.

GET/DELETE /__sim/requests     the request log: incoming calls ("direction": "in") and every
                               attempt of an outgoing control-plane call ("out": url, body,
                               status or error)
POST/GET/DELETE /__sim/fault   inject faults on storcon routes: {"path_prefix", "method",
                               "status", "body", "delay_ms", "hang", "garbage", "times"}
POST /__sim/reset              forget everything (work in flight is cancelled)
POST /__sim/seed               {"nodes": N, "safekeepers": M}
GET/POST /__sim/config         runtime config:
    control_plane_url, control_plane_token   the hook (a change forgets what was acked)
    time_scale               multiplies every storcon delay below and storcon's own timings
    hook_timeout             per-attempt timeout of a hook call (storcon: 10 s)
    pending_retry_interval   background reconcile period (storcon: 20 s; 0 = off)
    split_seconds            extra time a shard split spends on the pageservers
    timeline_delete_seconds  time a timeline deletion takes (DELETE: 409 after ~25 s)
    tenant_delete_seconds    time the detach of a deleted tenant takes (DELETE: 408 after 30 s)
    import_seconds           time a pgdata import runs before it finalizes
    auto_activate_safekeepers, timelines_onto_safekeepers
POST /__sim/heartbeat          Activating safekeepers become Active
POST /__sim/restart            a storcon restart: hook memory lost, every attached shard
                               notified again ({"wait": true} waits for those notifications)
POST /__sim/node/<id>/restart  a pageserver restart: scheduling states reset; a live migration
                               away from it stops waiting for the compute
POST /__sim/import             finish a running import now: {"tenant_id", "timeline_id", "error"}
GET /__sim/state               the whole state
The config durations are storcon seconds (multiplied by time_scale); a fault's delay_ms is
real time.
"""

import threading

from .errors import ApiError, bad_request, json_bytes, not_found
from .hook import ComputeHook
from .parsing import HEX32, decode_json
from .state import NUMERIC_CONFIG


class KnobRoutes:
    def handle_knob(self, method, path, body):
        """Returns (status, payload bytes, content type)."""
        try:
            value = decode_json(body) if body else {}
        except (ValueError, UnicodeDecodeError) as e:
            return 400, json_bytes({"msg": "bad JSON: %s" % e}), "application/json"
        try:
            status, result = self._knob(method, path[len("/__sim/"):].rstrip("/"), value)
        except ApiError as e:
            return e.status, json_bytes({"msg": e.msg}), "application/json"
        return status, json_bytes(result), "application/json"

    @staticmethod
    def _knob_int(value, key, default=0):
        v = value.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise bad_request("%s must be a non-negative integer" % key)
        return v

    def _knob(self, method, name, value):
        if not isinstance(value, dict):
            raise bad_request("body must be a JSON object")
        if name == "requests" and method == "GET":
            with self.lock:
                return 200, [dict(e) for e in self.requests]
        if name == "requests" and method == "DELETE":
            with self.lock:
                self.requests = []
            return 200, None
        if name == "fault" and method == "POST":
            return 200, self._add_fault(value)
        if name == "fault" and method == "GET":
            with self.lock:
                return 200, [self._fault_view(f) for f in self.faults]
        if name == "fault" and method == "DELETE":
            with self.lock:
                self._release_faults_locked()
            return 200, None
        if name == "reset" and method == "POST":
            with self.lock:
                self._reset_locked()
            return 200, None
        if name == "seed" and method == "POST":
            n_nodes = self._knob_int(value, "nodes")
            n_sks = self._knob_int(value, "safekeepers")
            with self.lock:
                node_ids, sk_ids = self._seed_locked(n_nodes, n_sks)
            return 200, {"nodes": [node_ids[0], node_ids[-1]] if node_ids else [],
                         "safekeepers": [sk_ids[0], sk_ids[-1]] if sk_ids else []}
        if name == "config" and method == "GET":
            with self.lock:
                return 200, dict(self.config)
        if name == "config" and method == "POST":
            return 200, self._set_config(value)
        if name == "heartbeat" and method == "POST":
            with self.lock:
                activated = []
                for sk in self.safekeepers.values():
                    if sk["scheduling_policy"] == "Activating":
                        sk["scheduling_policy"] = "Active"
                        activated.append(sk["id"])
            return 200, {"activated": activated}
        if name == "restart" and method == "POST":
            return 200, self._restart(bool(value.get("wait", False)))
        if name.startswith("node/") and name.endswith("/restart") and method == "POST":
            return 200, self._restart_node(name[len("node/"):-len("/restart")])
        if name == "import" and method == "POST":
            return 200, self._finish_import(value)
        if name == "state" and method == "GET":
            with self.lock:
                return 200, self._state_dump_locked()
        raise not_found("unknown sim knob %s %s" % (method, name))

    def _set_config(self, value):
        with self.lock:
            for key, v in value.items():
                if key not in self.config:
                    raise bad_request("unknown config key %s" % key)
                if key in NUMERIC_CONFIG:
                    minimum, _ = NUMERIC_CONFIG[key]
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < minimum \
                            or (key == "time_scale" and v <= 0):
                        raise bad_request("%s must be a %s number" % (key, "positive" if key == "time_scale"
                                                                      else "non-negative"))
            for key, v in value.items():
                self.config[key] = v
                if key == "time_scale":
                    self.clock.scale = v
                if key in ("control_plane_url", "control_plane_token"):
                    # A different control plane: what the old one acknowledged means nothing.
                    self.hook.forget_acked()
            return dict(self.config)

    def _stop_reconcilers(self):
        """Cancels every reconciler in flight and waits (up to 5 s each) until it has stopped.
        Called without the lock."""
        with self.lock:
            running = [shard["reconciler"] for tenant in self.tenants.values() for shard in tenant["shards"]
                       if shard["reconciler"] is not None]
            for rec in running:
                rec.cancel.set()
        for rec in running:
            rec.done.wait(5)

    def _restart(self, wait):
        """Like a storcon restart: the hook memory is lost, reconciles in flight stop, and every
        attached shard is notified again in the background (§1.5).  {"wait": true} waits (up to
        30 storcon seconds) for those notifications."""
        self._stop_reconcilers()
        with self.lock:
            self.hook = ComputeHook(self)
            self.stepped_down = False
            notified = sorted({t["id"] for t in self.tenants.values()
                               if not t["dormant"] and any(s["attached"] is not None for s in t["shards"])})
            self._startup_notify_locked()
            waiters = [s["reconciler"] for t in self.tenants.values() for s in t["shards"]
                       if s["reconciler"] is not None]
        if wait:
            try:
                self._wait_reconciles(waiters)
            except ApiError:
                pass
        return {"notified": len(notified)}

    def _restart_node(self, text):
        """Like a pageserver restart + re-attach: transient scheduling states reset, and a live
        migration away from it stops waiting for the compute (the origin no longer holds the
        shard attached)."""
        if not text.isdigit():
            raise bad_request("bad node id")
        node_id = int(text)
        with self.lock:
            node = self.nodes.get(node_id)
            if node is None:
                raise not_found("Node %d not registered" % node_id)
            node["availability"] = "Active"
            if node["scheduling"] in ("PauseForRestart", "Draining", "Filling", "Deleting"):
                node["scheduling"] = "Active"
            self.node_incarnation[node_id] = self.node_incarnation.get(node_id, 0) + 1
            return dict(node)

    def _finish_import(self, value):
        """End a running pgdata import now: {"tenant_id", "timeline_id", "error": null|text}."""
        tenant_id, timeline_id = value.get("tenant_id"), value.get("timeline_id")
        error = value.get("error")
        if not (isinstance(tenant_id, str) and HEX32.match(tenant_id)
                and isinstance(timeline_id, str) and HEX32.match(timeline_id)):
            raise bad_request("tenant_id and timeline_id must be 32 hex characters")
        if error is not None and not isinstance(error, str):
            raise bad_request("error must be a string or null")
        with self.lock:
            job = self.imports.get((tenant_id.lower(), timeline_id.lower()))
            if job is None:
                raise not_found("no import running for %s/%s" % (tenant_id, timeline_id))
            job["error"] = error
            job["finish"].set()
        return None

    def _add_fault(self, value):
        fault = {
            "id": None,
            "path_prefix": value.get("path_prefix"),
            "method": value.get("method"),
            "status": value.get("status"),
            "body": value.get("body"),
            "delay_ms": value.get("delay_ms", 0),
            "hang": bool(value.get("hang", False)),
            "garbage": bool(value.get("garbage", False)),
            "times": value.get("times"),
            "release": threading.Event(),
        }
        for key in ("path_prefix", "method", "body"):
            if fault[key] is not None and not isinstance(fault[key], str):
                raise bad_request("%s must be a string" % key)
        for key in ("status", "delay_ms", "times"):
            v = fault[key]
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise bad_request("%s must be a non-negative integer" % key)
        if fault["method"] is not None:
            fault["method"] = fault["method"].upper()
        if fault["status"] is None and not (fault["delay_ms"] or fault["hang"] or fault["garbage"]):
            fault["status"] = 503        # a bare fault is an outage
        if fault["status"] is not None and fault["body"] is None:
            fault["body"] = '{"msg":"injected fault"}'
        with self.lock:
            fault["id"] = self.next_fault_id
            self.next_fault_id += 1
            self.faults.append(fault)
            self.fault_events.append(fault["release"])
            return self._fault_view(fault)

    @staticmethod
    def _fault_view(fault):
        return {k: v for k, v in fault.items() if k != "release"}

    def _state_dump_locked(self):
        tenants = {}
        for tenant_id, tenant in self.tenants.items():
            t = {k: v for k, v in tenant.items() if k not in ("shards", "timelines")}
            t["shards"] = [dict({k: v for k, v in s.items() if k != "reconciler"},
                                tenant_shard_id=self._shard_text(tenant, s),
                                reconciling=s["reconciler"] is not None)
                           for s in tenant["shards"]]
            t["timelines"] = {k: dict(v) for k, v in tenant["timelines"].items()}
            t["hook"] = self.hook.hook_view(tenant_id)
            tenants[tenant_id] = t
        return {
            "address": self.address,
            "started_at": self.started_at,
            "config": dict(self.config),
            "stepped_down": self.stepped_down,
            "nodes": [dict(self.nodes[i]) for i in sorted(self.nodes)],
            "tombstones": [dict(self.tombstones[i]) for i in sorted(self.tombstones)],
            "safekeepers": [dict(self.safekeepers[i]) for i in sorted(self.safekeepers)],
            "tenants": tenants,
            "sk_timelines": {"%s/%s" % k: dict(v) for k, v in self.sk_timelines.items()},
            "imports": ["%s/%s" % k for k in self.imports],
            "faults": [self._fault_view(f) for f in self.faults],
            "request_count": len(self.requests),
        }
