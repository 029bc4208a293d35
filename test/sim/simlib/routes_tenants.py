"""Routes for tenants as a whole (§3.2): create, delete, list, describe, locate, config, policy,
preferred AZs, secondary download.

Why this file exists: the tenant is the unit storcon notifies the compute about.  Creation places
every shard and waits (up to 30 s) for the attach reconcilers, whose notification may fail without
failing the creation; deletion detaches first (slow with the "tenant_delete_seconds" knob: 408
after 30 s while the detach goes on); a Detached tenant is dropped from storcon's memory once
idle, so describe, list and locate stop showing it until something loads it again.
"""

import re

from .errors import ApiError, bad_request, conflict, not_found
from .parsing import (DEFAULT_STRIPE_SIZE, HEX32, PREFERRED_AZS_REQUEST, TENANT_CONFIG_FIELDS,
                      TENANT_CONFIG_REQUEST, TENANT_CREATE_REQUEST, TENANT_POLICY_REQUEST,
                      parse_json_body, parse_tenant_shard_id, policy_is_attached, type_error)
from .state import ScheduleError, route


class TenantRoutes:
    @route("POST", "/v1/tenant")
    def h_tenant_create(self, req):
        body = parse_json_body(req.body, TENANT_CREATE_REQUEST)
        tenant_id, number, count = body["new_tenant_id"]
        if number != 0 or count != 0:
            raise bad_request("Attempted to create a specific shard, this API is for creating the whole tenant")
        params = body.get("shard_parameters") or {"count": 0, "stripe_size": DEFAULT_STRIPE_SIZE}
        policy = body.get("placement_policy")
        if policy is None:
            policy = {"Attached": 0}
        config = {k: v for k, v in body.items() if k in TENANT_CONFIG_FIELDS and v is not None}
        with self.op_locks.exclusive(tenant_id):
            with self.lock:
                existing = self.tenants.get(tenant_id)
                if existing is not None:
                    if existing["count"] == params["count"]:
                        waiters = [s["reconciler"] for s in existing["shards"] if s["reconciler"]]
                        response = self._create_response(existing)        # idempotent retry
                    else:
                        raise conflict("Tenant %s already exists with shard count %d"
                                       % (tenant_id, existing["count"]))
                else:
                    tenant = self.new_tenant(tenant_id, params["count"], params["stripe_size"], policy, config)
                    load = self._attached_load()
                    tenant["preferred_az"] = self._choose_preferred_az(load)
                    affinity = {}
                    try:
                        for number in range(max(params["count"], 1)):
                            shard = self.new_shard(number, tenant["preferred_az"])
                            tenant["shards"].append(shard)
                            self._schedule_shard(tenant, shard, load, affinity)
                    except ScheduleError as e:
                        raise conflict("Failed to schedule shard(s): %s" % e)
                    self.tenants[tenant_id] = tenant
                    response = self._create_response(tenant)
                    waiters = [self._spawn_reconcile_locked(tenant, s, "attach", creation=True)
                               for s in tenant["shards"] if s["attached"] is not None]
                    self._maybe_drop_tenant(tenant)
            # storcon waits up to 30 s and answers 201 even if a reconcile (its compute
            # notification) failed or is still going on.
            try:
                self._wait_reconciles(waiters)
            except ApiError:
                pass
        return 201, response

    @route("DELETE", "/v1/tenant/{tenant_id}")
    def h_tenant_delete(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        with self.op_locks.exclusive(tenant_id):
            with self.lock:
                tenant = self._load_tenant(tenant_id)
                delay = self.config["tenant_delete_seconds"]
                waiters = self._detach_locked(tenant, delay)
            # Detach first (408 "Timeout waiting for shard" after 30 s: the tenant stays,
            # Detached, and the detach goes on), then delete remote data and forget the tenant.
            self._wait_reconciles(waiters)
            with self.lock:
                if not any(self.nodes[n]["availability"] == "Active" for n in self.nodes):
                    raise ApiError(503, "No pageservers available")
                self.tenants.pop(tenant_id, None)
                for key in [k for k in self.sk_timelines if k[0] == tenant_id]:
                    del self.sk_timelines[key]
                for key in [k for k in self.imports if k[0] == tenant_id]:
                    self.imports.pop(key)["cancel"].set()
        return 200, None

    def _detach_locked(self, tenant, delay):
        """Placement Detached for every shard; with a delay, detach reconcilers run (and are
        returned), else the detach is immediate."""
        tenant["policy"] = "Detached"
        waiters = []
        for shard in tenant["shards"]:
            was_placed = shard["attached"] is not None or shard["secondaries"]
            shard["attached"] = None
            shard["secondaries"] = []
            running = shard["reconciler"]
            if delay > 0 and was_placed:
                waiters.append(self._spawn_reconcile_locked(tenant, shard, "detach", delay=delay))
            elif running is not None and running.kind == "detach":
                waiters.append(running)          # a detach already under way: wait for it
            elif running is not None:
                shard["reconciler"].superseded = True
                shard["reconciler"].cancel.set()
                shard["reconciler"] = None
        self._maybe_drop_tenant(tenant)
        return waiters

    @route("GET", "/control/v1/tenant")
    def h_tenant_list(self, req):
        limit = req.query_value("limit")
        start_after = req.query_value("start_after")
        if limit is not None:
            if not re.match(r"^\d+$", limit):
                raise bad_request("Failed to parse query param limit")
            limit = int(limit)
        if start_after is not None:
            if not HEX32.match(start_after):
                raise bad_request("Failed to parse query param start_after")
            start_after = start_after.lower()
        with self.lock:
            out = []
            for tenant_id in sorted(self.tenants):
                if self.tenants[tenant_id]["dormant"]:
                    continue
                if start_after is not None and tenant_id <= start_after:
                    continue
                if limit is not None and len(out) >= limit:
                    break
                out.append(self._describe_tenant(self.tenants[tenant_id]))
            return 200, out

    @route("GET", "/control/v1/tenant/{tenant_id}")
    def h_tenant_describe(self, req):
        tenant_id = self._param_tenant_id(req)
        with self.lock:
            return 200, self._describe_tenant(self._tenant_or_404(tenant_id))

    @route("GET", "/debug/v1/tenant/{tenant_id}/locate")
    def h_tenant_locate(self, req):
        """The intended attachment of every shard (service.rs tenant_locate): during a live
        migration it already names the destination.  400 while any shard has no attached
        location (placement Secondary or Detached)."""
        tenant_id = self._param_tenant_id(req)
        with self.lock:
            tenant = self.tenants.get(tenant_id)
            if tenant is None or tenant["dormant"]:
                raise not_found("No shards for this tenant ID found")
            shards = []
            for shard in tenant["shards"]:
                node = self.nodes.get(shard["attached"]) if shard["attached"] is not None else None
                if node is None:
                    raise bad_request("Cannot locate a tenant that is not attached")
                shards.append({
                    "shard_id": self._shard_text(tenant, shard),
                    "node_id": node["id"],
                    "listen_pg_addr": node["listen_pg_addr"],
                    "listen_pg_port": node["listen_pg_port"],
                    "listen_grpc_addr": node["listen_grpc_addr"],
                    "listen_grpc_port": node["listen_grpc_port"],
                    "listen_http_addr": node["listen_http_addr"],
                    "listen_http_port": node["listen_http_port"],
                    "listen_https_port": node["listen_https_port"],
                })
            return 200, {"shards": shards,
                         "shard_params": {"count": tenant["count"],
                                          "stripe_size": tenant["stripe_size"]}}

    @route("POST", "/debug/v1/tenant/{tenant_id}/drop")
    def h_tenant_drop(self, req):
        tenant_id = self._param_tenant_id(req)
        with self.lock:
            tenant = self.tenants.pop(tenant_id, None)
            if tenant is not None:
                for shard in tenant["shards"]:
                    if shard["reconciler"] is not None:
                        shard["reconciler"].cancel.set()
        return 200, None

    @route("GET", "/v1/tenant/{tenant_id}/config")
    def h_tenant_config_get(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        with self.lock:
            tenant = self._tenant_or_404(tenant_id, "Tenant not found")
            return 200, {"tenant_specific_overrides": dict(tenant["config"]),
                         "effective_config": dict(tenant["config"])}

    @route("PUT", "/v1/tenant/config")
    def h_tenant_config_put(self, req):
        body = parse_json_body(req.body, TENANT_CONFIG_REQUEST)
        tenant_id = body["tenant_id"]
        with self.op_locks.exclusive(tenant_id), self.lock:
            tenant = self._load_tenant(tenant_id)
            tenant["config"] = {k: v for k, v in body.items()
                                if k in TENANT_CONFIG_FIELDS and v is not None}
        return 200, None

    @route("PATCH", "/v1/tenant/config")
    def h_tenant_config_patch(self, req):
        body = parse_json_body(req.body, TENANT_CONFIG_REQUEST)
        tenant_id = body["tenant_id"]
        with self.op_locks.exclusive(tenant_id), self.lock:
            tenant = self._load_tenant(tenant_id)
            for key, value in body.items():
                if key not in TENANT_CONFIG_FIELDS:
                    continue
                if value is None:
                    tenant["config"].pop(key, None)     # null removes the override
                else:
                    tenant["config"][key] = value
        return 200, None

    @route("PUT", "/control/v1/tenant/{tenant_id}/policy")
    def h_tenant_policy(self, req):
        tenant_id = self._param_tenant_id(req)
        body = parse_json_body(req.body, TENANT_POLICY_REQUEST)
        with self.op_locks.exclusive(tenant_id), self.lock:
            tenant = self._load_tenant(tenant_id)
            placement = body.get("placement")
            scheduling = body.get("scheduling")
            if placement is not None and not policy_is_attached(placement) and scheduling is None:
                scheduling = "Active"    # storcon forces Active so that the detach happens
            if placement is not None:
                tenant["policy"] = placement
            if scheduling is not None:
                tenant["scheduling"] = scheduling
            load = self._attached_load()
            affinity = self._tenant_affinity(tenant)
            for shard in tenant["shards"]:
                try:
                    if self._schedule_shard(tenant, shard, load, affinity):
                        self._spawn_reconcile_locked(tenant, shard, "attach")
                except ScheduleError:
                    pass   # storcon keeps the policy and retries in the background
            if not policy_is_attached(tenant["policy"]):
                for shard in tenant["shards"]:
                    if shard["reconciler"] is not None and shard["attached"] is None:
                        shard["reconciler"].superseded = True
                        shard["reconciler"].cancel.set()
                        shard["reconciler"] = None
            self._maybe_drop_tenant(tenant)
        return 200, None

    @route("PUT", "/control/v1/preferred_azs")
    def h_preferred_azs(self, req):
        """Sets the preferred AZ per shard; answers every shard that exists (changed or not)."""
        body = parse_json_body(req.body, PREFERRED_AZS_REQUEST)
        if not isinstance(body, dict):
            raise bad_request("Failed to parse json request: "
                              + type_error("", body, "a map").text())
        updated = []
        parsed_items = []
        for key, az in body.items():
            parsed = parse_tenant_shard_id(key)
            if parsed is None:
                raise bad_request("Failed to parse json request: invalid tenant shard id `%s`" % key)
            if az is not None and not isinstance(az, str):
                raise bad_request("Failed to parse json request: %s"
                                  % type_error(key, az, "a string").text())
            parsed_items.append((key, parsed, az))
        with self.lock:
            for key, parsed, az in parsed_items:
                tenant, shard = self._find_shard(*parsed)
                if tenant is None:
                    continue
                shard["preferred_az"] = az
                tenant["preferred_az"] = az      # the simulator's scheduler uses one AZ per tenant
                updated.append(self._shard_text(tenant, shard))
        return 200, {"updated": updated}

    @route("POST", "/v1/tenant/{tenant_id}/secondary/download")
    def h_tenant_secondary_download(self, req):
        """Ask every secondary location to download: the aggregate SecondaryProgress.  The
        simulator's secondaries are always complete (200, nothing left to download)."""
        tenant_id = self._param_tenant_id(req)
        self._query_u64(req, "wait_ms")
        with self.op_locks.shared(tenant_id), self.lock:
            tenant = self.tenants.get(tenant_id)
            targets = 0
            if tenant is not None and not tenant["dormant"]:
                targets = sum(len(s["secondaries"]) for s in tenant["shards"])
            if targets == 0:
                raise not_found("Tenant %s not found" % tenant_id)
        return 200, {"heatmap_mtime": None, "layers_downloaded": 0, "layers_total": 0,
                     "bytes_downloaded": 0, "bytes_total": 0}

