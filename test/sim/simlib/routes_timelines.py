"""Routes for pageserver timelines (§3.4): create (bootstrap, branch, import), list, describe,
delete, archival config, ancestor detach; and the pgdata import that ends with import_complete.

Why this file exists: timelines are what a compute runs on.  Like storcon, the pageservers create
the timeline first and the safekeepers are chosen afterwards (so a failed safekeeper choice leaves
the pageserver timeline behind and a retry completes it).  A deletion is polled the way http.rs
does (after 1 s, then every 5 s): 200 once done, 409 with body null after ~25 s while the
deletion goes on ("timeline_delete_seconds" knob).  An import (import_pgdata) runs for
"import_seconds" (or until POST /__sim/import), then the timeline goes onto safekeepers and
storcon calls PUT {control-plane-url}/import_complete until a 2xx; is_importing is true until
then.
"""

import threading
import traceback

from . import timing
from .errors import ApiError, bad_request, conflict, internal_error, not_found, precondition_failed
from .hook import send_import_complete
from .parsing import (LSN_RE, TIMELINE_ARCHIVAL_CONFIG_REQUEST, parse_json_body,
                      parse_timeline_create)
from .state import BOOTSTRAP_LSN, DEFAULT_PG_VERSION, TIMELINE_SAFEKEEPER_COUNT, route

DETACH_BEHAVIORS = {"no_ancestor_and_reparent": "v1", "v1": "v1",
                    "multi_level_and_no_reparent": "v2", "v2": "v2"}


def lsn_value(text):
    m = LSN_RE.match(text or "0/0")
    return (int(m.group(1), 16) << 32) | int(m.group(2), 16)


class TimelineRoutes:
    def _timeline_info(self, tenant, timeline, shard=None):
        shard = shard or tenant["shards"][0]
        lsn = timeline["last_record_lsn"]
        return {
            "tenant_id": self._shard_text(tenant, shard),
            "timeline_id": timeline["id"],
            "ancestor_timeline_id": timeline["ancestor_timeline_id"],
            "ancestor_lsn": timeline["ancestor_lsn"],
            "last_record_lsn": lsn,
            "prev_record_lsn": None,
            "applied_gc_cutoff_lsn": "0/0",
            "disk_consistent_lsn": lsn,
            "remote_consistent_lsn": lsn,
            "remote_consistent_lsn_visible": lsn,
            "initdb_lsn": timeline["initdb_lsn"],
            "current_logical_size": 0,
            "current_logical_size_is_accurate": True,
            "directory_entries_counts": [],
            "current_physical_size": 0,
            "current_logical_size_non_incremental": None,
            "timeline_dir_layer_file_size_sum": None,
            "wal_source_connstr": None,
            "last_received_msg_lsn": None,
            "last_received_msg_ts": None,
            "pg_version": timeline["pg_version"],
            "state": timeline["state"],
            "walreceiver_status": "",
            "is_archived": timeline["archived"],
        }

    def _reap_timelines_locked(self, tenant):
        """The pageservers finish a deletion on their own: drop timelines whose time is up."""
        now = self.clock.now()
        for timeline_id in [tl["id"] for tl in tenant["timelines"].values()
                            if tl["deleting_until"] is not None and now >= tl["deleting_until"]]:
            del tenant["timelines"][timeline_id]

    # ---- storcon's safekeeper timelines table ----------------------------------------------

    def _safekeepers_info(self, tenant_id, timeline_id):
        row = self.sk_timelines.get((tenant_id, timeline_id))
        if row is None:
            return None
        return {
            "tenant_id": tenant_id,
            "timeline_id": timeline_id,
            "generation": row["generation"],
            "safekeepers": [{"id": sk_id, "hostname": self.safekeepers[sk_id]["host"]}
                            for sk_id in row["sk_set"] if sk_id in self.safekeepers],
        }

    def _pick_safekeepers(self):
        """Active safekeepers in distinct AZs, least loaded first (ties: lowest id)."""
        active = [sk for sk in self.safekeepers.values() if sk["scheduling_policy"] == "Active"]
        load = {}
        for row in self.sk_timelines.values():
            for sk_id in row["sk_set"] + (row["new_sk_set"] or []):
                load[sk_id] = load.get(sk_id, 0) + 1
        active.sort(key=lambda sk: (load.get(sk["id"], 0), sk["id"]))
        chosen, zones = [], set()
        for sk in active:
            if sk["availability_zone_id"] in zones:
                continue
            chosen.append(sk["id"])
            zones.add(sk["availability_zone_id"])
            if len(chosen) == TIMELINE_SAFEKEEPER_COUNT:
                return chosen
        raise internal_error("couldn't find %d safekeepers in different AZs for new timeline "
                             "(found: %d, total active: %d)"
                             % (TIMELINE_SAFEKEEPER_COUNT, len(chosen), len(active)))

    def _create_on_safekeepers_locked(self, tenant_id, timeline, read_only):
        """tenant_timeline_create_safekeepers: insert the timelines-table row (an existing row
        wins).  cplane_notified_generation starts at 0: the compute was never told by storcon."""
        key = (tenant_id, timeline["id"])
        if key not in self.sk_timelines:
            sk_set = [] if read_only else self._pick_safekeepers()
            self.sk_timelines[key] = {"generation": 1, "sk_set": sk_set, "new_sk_set": None,
                                      "cplane_notified_generation": 0,
                                      "start_lsn": timeline["last_record_lsn"]}
        return self._safekeepers_info(tenant_id, timeline["id"])

    # ---- create / read ---------------------------------------------------------------------

    @route("POST", "/v1/tenant/{tenant_id}/timeline")
    def h_timeline_create(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        mode, body = parse_timeline_create(req.body)
        timeline_id = body["new_timeline_id"]
        with self.op_locks.shared(tenant_id), self.lock:
            tenant = self._mutation_targets(tenant_id)
            self._reap_timelines_locked(tenant)
            if mode == "import" and tenant["splitting"]:
                raise conflict("Tenant is splitting shard")
            existing = tenant["timelines"].get(timeline_id)
            read_only = mode == "branch" and body.get("read_only", False)
            if existing is not None:
                same = (existing["ancestor_timeline_id"] == body.get("ancestor_timeline_id")
                        and (mode == "branch" or body.get("pg_version") is None
                             or body["pg_version"] == existing["pg_version"])
                        and (body.get("ancestor_start_lsn") is None
                             or body["ancestor_start_lsn"] == existing["ancestor_lsn"]))
                if not same:
                    raise conflict("Timeline %s/%s already exists with different parameters"
                                   % (tenant_id, timeline_id))
                timeline = existing
            else:
                timeline = self._new_timeline(tenant, mode, body)
            info = self._timeline_info(tenant, timeline)
            if mode == "import":
                if (tenant_id, timeline_id) not in self.imports:
                    self._start_import_locked(tenant, timeline)
                info["safekeepers"] = None
            elif self.config["timelines_onto_safekeepers"] or read_only:
                # The pageserver timeline exists now even if this fails (500): a retry completes it.
                info["safekeepers"] = self._create_on_safekeepers_locked(tenant_id, timeline, read_only)
            else:
                info["safekeepers"] = None
        return 201, info

    def _new_timeline(self, tenant, mode, body):
        ancestor_id = body.get("ancestor_timeline_id") if mode == "branch" else None
        if ancestor_id is not None:
            ancestor = tenant["timelines"].get(ancestor_id)
            if ancestor is None:
                raise not_found("Ancestor timeline %s not found" % ancestor_id)
            ancestor_lsn = body.get("ancestor_start_lsn") or ancestor["last_record_lsn"]
            # A branch inherits its ancestor's PostgreSQL version (a given pg_version is ignored).
            last_lsn, version, initdb = ancestor_lsn, ancestor["pg_version"], ancestor["initdb_lsn"]
        else:
            ancestor_lsn, last_lsn, initdb = None, BOOTSTRAP_LSN, BOOTSTRAP_LSN
            version = body.get("pg_version") or DEFAULT_PG_VERSION
        timeline = {
            "id": body["new_timeline_id"],
            "ancestor_timeline_id": ancestor_id,
            "ancestor_lsn": ancestor_lsn,
            "last_record_lsn": last_lsn,
            "initdb_lsn": initdb,
            "pg_version": version,
            "state": "Loading" if mode == "import" else "Active",
            "archived": False,
            "deleting_until": None,        # clock time the deletion ends, while deleting
        }
        tenant["timelines"][timeline["id"]] = timeline
        return timeline

    @route("GET", "/v1/tenant/{tenant_id}/timeline")
    def h_timeline_list(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        with self.lock:
            tenant = self._tenant_or_404(tenant_id, "Tenant not found")
            self._reap_timelines_locked(tenant)
            return 200, [self._timeline_info(tenant, tl) for tl in tenant["timelines"].values()]

    def _timeline_or_404(self, tenant, tenant_id, timeline_id):
        timeline = tenant["timelines"].get(timeline_id)
        if timeline is None:
            raise not_found("Timeline %s/%s was not found" % (tenant_id, timeline_id))
        return timeline

    @route("GET", "/v1/tenant/{tenant_id}/timeline/{timeline_id}")
    def h_timeline_get(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        with self.lock:
            tenant = self._tenant_or_404(tenant_id, "Tenant not found")
            self._reap_timelines_locked(tenant)
            return 200, self._timeline_info(tenant, self._timeline_or_404(tenant, tenant_id, timeline_id))

    @route("GET", "/control/v1/tenant/{tenant_id}/timeline/{timeline_id}")
    def h_timeline_describe(self, req):
        """TenantTimelineDescribeResponse: the timeline as each shard's pageserver reports it."""
        tenant_id = self._param_tenant_id(req)
        timeline_id = self._param_timeline_id(req)
        with self.lock:
            tenant = self._mutation_targets(tenant_id)
            timeline = tenant["timelines"].get(timeline_id)
            if timeline is None:
                raise not_found("%s: NotFound: Timeline %s/%s was not found"
                                % (self._node_display(tenant["shards"][0]["attached"]), tenant_id, timeline_id))
            return 200, {"shards": [self._timeline_info(tenant, timeline, s) for s in tenant["shards"]]}

    # ---- delete --------------------------------------------------------------------------

    @route("DELETE", "/v1/tenant/{tenant_id}/timeline/{timeline_id}")
    def h_timeline_delete(self, req):
        """http.rs deletion_wrapper: call, then poll after 1 s and every 5 s; 200 `null` when the
        pageservers report the timeline gone, 409 `null` when the next poll would pass 25 s."""
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        with self.lock:
            running = self.imports.pop((tenant_id, timeline_id), None)
            if running is not None:
                running["cancel"].set()          # maybe_delete_timeline_import
        started = self.clock.now()
        retry_period = timing.TIMELINE_DELETE_FIRST_POLL
        cancel = self.epoch_cancel
        while True:
            status = self._timeline_delete_once(tenant_id, timeline_id)
            if status == 404:
                return 200, None
            if status == 202:
                if not self.clock.sleep(retry_period, cancel):
                    return 409, None
                retry_period = timing.TIMELINE_DELETE_POLL
            elif not self.clock.sleep(retry_period, cancel):
                return 409, None
            if self.clock.now() + self.clock.real(retry_period) > started + self.clock.real(timing.TIMELINE_DELETE_MAX_WAIT):
                return 409, None

    def _timeline_delete_once(self, tenant_id, timeline_id):
        """One pass of tenant_timeline_delete: the pageserver's answer (202 started, 409 in
        progress, 404 gone), then the timelines-table row is removed."""
        with self.op_locks.shared(tenant_id), self.lock:
            tenant = self._mutation_targets(tenant_id)
            self._reap_timelines_locked(tenant)
            timeline = tenant["timelines"].get(timeline_id)
            status = 404
            if timeline is not None:
                children = [tl["id"] for tl in tenant["timelines"].values()
                            if tl["ancestor_timeline_id"] == timeline_id]
                if children:
                    shard = tenant["shards"][0]
                    raise internal_error(
                        "Error deleting timeline %s on %s on node %s: pageserver API: Precondition failed: "
                        "Cannot delete timeline which has child timelines: [%s]"
                        % (timeline_id, self._shard_text(tenant, shard), self._node_display(shard["attached"]),
                           ", ".join(children)))
                if timeline["deleting_until"] is None:
                    timeline["deleting_until"] = (self.clock.now()
                                                  + self.clock.real(self.config["timeline_delete_seconds"]))
                    timeline["state"] = "Stopping"
                    status = 202                 # deletion started
                else:
                    status = 409                 # deletion in progress
            self.sk_timelines.pop((tenant_id, timeline_id), None)
            return status

    # ---- archival and ancestor detach -----------------------------------------------------

    def _pageserver_timeline(self, tenant, tenant_id, timeline_id):
        """The timeline on shard 0's pageserver, or storcon's passthrough of its 404."""
        timeline = tenant["timelines"].get(timeline_id)
        if timeline is None:
            raise not_found("%s: NotFound: Timeline %s/%s was not found"
                            % (self._node_display(tenant["shards"][0]["attached"]), tenant_id, timeline_id))
        return timeline

    @route("PUT", "/v1/tenant/{tenant_id}/timeline/{timeline_id}/archival_config")
    def h_timeline_archival_config(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        body = parse_json_body(req.body, TIMELINE_ARCHIVAL_CONFIG_REQUEST)
        with self.op_locks.shared(tenant_id), self.lock:
            tenant = self._mutation_targets(tenant_id)
            timeline = tenant["timelines"].get(timeline_id)
            if timeline is None:
                raise not_found("%s: NotFound: timeline not found"
                                % self._node_display(tenant["shards"][0]["attached"]))
            # The pageserver's 412 comes back with storcon's prefix added to the pageserver's.
            if body["state"] == "Archived":
                children = [tl["id"] for tl in tenant["timelines"].values()
                            if tl["ancestor_timeline_id"] == timeline_id and not tl["archived"]]
                if children:
                    raise precondition_failed("Precondition failed: Cannot archive timeline which has "
                                              "non-archived child timelines: [%s]" % ", ".join(children))
                timeline["archived"] = True
            else:
                ancestor = tenant["timelines"].get(timeline["ancestor_timeline_id"] or "")
                if ancestor is not None and ancestor["archived"]:
                    raise precondition_failed("Precondition failed: ancestor is archived: %s" % ancestor["id"])
                timeline["archived"] = False
        return 200, None

    @route("PUT", "/v1/tenant/{tenant_id}/timeline/{timeline_id}/detach_ancestor")
    def h_timeline_detach_ancestor(self, req):
        """AncestorDetached {"reparented_timelines": [...]}.  v1 (no_ancestor_and_reparent, the
        default) refuses a timeline whose ancestor has an ancestor and reparents the ancestor's
        other branches taken at or before this one's branch point; v2 does neither."""
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        behavior = req.query_value("detach_behavior")
        if behavior is not None and behavior not in DETACH_BEHAVIORS:
            raise bad_request("Failed to parse query param detach_behavior")
        behavior = DETACH_BEHAVIORS.get(behavior, "v1")
        with self.op_locks.shared(tenant_id), self.lock:
            tenant = self._mutation_targets(tenant_id)
            timeline = self._pageserver_timeline(tenant, tenant_id, timeline_id)
            node = self._node_display(tenant["shards"][0]["attached"])
            if timeline["archived"]:
                raise bad_request("%s: archived: %s" % (node, timeline_id))
            ancestor_id = timeline["ancestor_timeline_id"]
            if ancestor_id is None:
                raise conflict("%s: no ancestors" % node)
            ancestor = tenant["timelines"].get(ancestor_id)
            if behavior == "v1" and ancestor is not None and ancestor["ancestor_timeline_id"] is not None:
                raise bad_request("%s: too many ancestors" % node)
            reparented = []
            if behavior == "v1":
                for other in tenant["timelines"].values():
                    if (other["id"] != timeline_id and other["ancestor_timeline_id"] == ancestor_id
                            and lsn_value(other["ancestor_lsn"]) <= lsn_value(timeline["ancestor_lsn"])):
                        other["ancestor_timeline_id"] = timeline_id
                        reparented.append(other["id"])
            timeline["ancestor_timeline_id"] = None
            timeline["ancestor_lsn"] = None
        return 200, {"reparented_timelines": sorted(reparented)}

    # ---- pgdata import ---------------------------------------------------------------------

    def _start_import_locked(self, tenant, timeline):
        key = (tenant["id"], timeline["id"])
        job = {"cancel": threading.Event(), "finish": threading.Event(), "error": None,
               "epoch": self.epoch_cancel}
        self.imports[key] = job
        threading.Thread(target=self._run_import, args=(key, job), daemon=True,
                         name="import-" + timeline["id"]).start()

    def _run_import(self, key, job):
        tenant_id, timeline_id = key
        try:
            with self.lock:
                seconds = self.config["import_seconds"]
            deadline = self.clock.now() + self.clock.real(seconds)
            while not job["finish"].is_set():
                remaining = deadline - self.clock.now()
                if remaining <= 0:
                    break
                if job["cancel"].wait(min(remaining, 0.05)) or job["epoch"].is_set():
                    return
            error = job["error"]
            if error is None:
                # Activate the timeline, then (with --timelines-onto-safekeepers) create it on
                # safekeepers, retrying every 5 s until that works.
                while True:
                    with self.lock:
                        if job["cancel"].is_set() or job["epoch"].is_set():
                            return
                        tenant = self.tenants.get(tenant_id)
                        timeline = tenant["timelines"].get(timeline_id) if tenant else None
                        if timeline is None:
                            return
                        timeline["state"] = "Active"
                        try:
                            if self.config["timelines_onto_safekeepers"]:
                                self._create_on_safekeepers_locked(tenant_id, timeline, False)
                            break
                        except ApiError:
                            pass
                    if not self.clock.sleep(5.0, job["cancel"]):
                        return
            cancel = job["cancel"]
            if send_import_complete(self, tenant_id, timeline_id, error, cancel):
                with self.lock:
                    if self.imports.get(key) is job:
                        del self.imports[key]
        except Exception:
            self.log_line("import failed: " + traceback.format_exc())

