"""Routes for storcon's safekeeper timelines table: locate, import, migrate, abort
(safekeeper_service.rs).

Why this file exists: a safekeeper migration is the only thing that sends notify-safekeepers, and
its generations end up in the compute's neon.safekeepers ("g#<generation>:...").  Like storcon:
- migrate bumps the generation to a joint configuration (current + new members, notified first),
  then to the final one (generation + 1, the new set, notified after the safekeepers switched);
  the call answers when both are done; a hook failure answers 500 "failed to notify cplane about
  safekeeper membership change: <error>" and a retry resumes where it stopped;
- before starting, a migration (or abort) whose last configuration was never acknowledged by the
  compute hook (cplane_notified_generation != generation; true for every timeline created through
  storcon) first notifies that configuration again;
- only unknown ids and Decomissioned newcomers are refused (Pause/Activating safekeepers are
  accepted); sets are compared in order.
The simulator's safekeepers apply every membership change at once.
"""

from .errors import bad_request, conflict, internal_error, not_found
from .parsing import (SAFEKEEPER_MIGRATE_REQUEST, TIMELINE_IMPORT_REQUEST, parse_json_body)
from .state import TIMELINE_SAFEKEEPER_COUNT, route


class SafekeeperTimelineRoutes:
    @route("GET", "/debug/v1/tenant/{tenant_id}/timeline/{timeline_id}/locate")
    def h_timeline_locate(self, req):
        tenant_id = self._param_tenant_id(req)
        timeline_id = self._param_timeline_id(req)
        with self.lock:
            row = self.sk_timelines.get((tenant_id, timeline_id))
            if row is None:
                raise not_found("Timeline %s/%s not found" % (tenant_id, timeline_id))
            return 200, {"generation": row["generation"], "sk_set": list(row["sk_set"]),
                         "new_sk_set": list(row["new_sk_set"]) if row["new_sk_set"] is not None else None}

    @route("POST", "/debug/v1/tenant/{tenant_id}/timeline/{timeline_id}/import")
    def h_timeline_sk_import(self, req):
        """Put an existing timeline under storcon's safekeeper management (no safekeeper calls,
        no checks of the ids): a new row starts at generation 1, already notified; an existing
        row gets the new start_lsn and sk_set, keeps its generation, and loses new_sk_set."""
        tenant_id = self._param_tenant_id(req)
        timeline_id = self._param_timeline_id(req)
        body = parse_json_body(req.body, TIMELINE_IMPORT_REQUEST)
        if body["tenant_id"] != tenant_id or body["timeline_id"] != timeline_id:
            raise bad_request("tenant id or timeline id mismatch: url=%s/%s, body=%s/%s"
                              % (tenant_id, timeline_id, body["tenant_id"], body["timeline_id"]))
        with self.lock:
            key = (tenant_id, timeline_id)
            row = self.sk_timelines.get(key)
            if row is None:
                self.sk_timelines[key] = {"generation": 1, "sk_set": list(body["sk_set"]),
                                          "new_sk_set": None, "cplane_notified_generation": 1,
                                          "start_lsn": body["start_lsn"]}
            else:
                row.update(sk_set=list(body["sk_set"]), new_sk_set=None, start_lsn=body["start_lsn"])
        return 200, None

    # ---- helpers -------------------------------------------------------------------------

    def _registered_safekeepers_locked(self, ids):
        """get_safekeepers(): 500 for an id that is not registered."""
        for sk_id in ids:
            if sk_id not in self.safekeepers:
                raise internal_error("safekeeper %d is not registered" % sk_id)
        return [(sk_id, self.safekeepers[sk_id]["host"]) for sk_id in ids]

    def _sk_row_or_404(self, tenant_id, timeline_id):
        row = self.sk_timelines.get((tenant_id, timeline_id))
        if row is None:
            raise not_found("timeline %s/%s doesn't exist in timelines table" % (tenant_id, timeline_id))
        return row

    def _cplane_notify(self, tenant_id, timeline_id, row, generation, members):
        """cplane_notify_safekeepers: notify the hook of one configuration; on success record
        it as the compute's (cplane_notified_generation)."""
        error = self.hook.notify_safekeepers(tenant_id, timeline_id, generation, members, self.epoch_cancel)
        if error is not None:
            raise internal_error("failed to notify cplane about safekeeper membership change: %s" % error)
        with self.lock:
            row["cplane_notified_generation"] = max(row["cplane_notified_generation"], generation)

    def _finish_retry(self, tenant_id, timeline_id, row):
        """finish_safekeeper_migration_retry: tell the hook the committed configuration again
        if it never acknowledged it."""
        with self.lock:
            if row["cplane_notified_generation"] == row["generation"]:
                return
            if row["new_sk_set"] is not None:
                raise internal_error("can't finish timeline migration for %s/%s: new_sk_set is not None"
                                     % (tenant_id, timeline_id))
            generation = row["generation"]
            members = self._registered_safekeepers_locked(row["sk_set"])
        self._cplane_notify(tenant_id, timeline_id, row, generation, members)

    # ---- migrate / abort -----------------------------------------------------------------

    @route("POST", "/v1/tenant/{tenant_id}/timeline/{timeline_id}/safekeeper_migrate")
    def h_timeline_sk_migrate(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        new_set = parse_json_body(req.body, SAFEKEEPER_MIGRATE_REQUEST)["new_sk_set"]
        with self.lock:
            for sk_id in new_set:
                if sk_id not in self.safekeepers:
                    raise bad_request("safekeeper %d does not exist" % sk_id)
            if not new_set:
                raise bad_request("new safekeeper set is empty")
            if len(new_set) < TIMELINE_SAFEKEEPER_COUNT:
                raise bad_request("new safekeeper set must have at least %d safekeepers"
                                  % TIMELINE_SAFEKEEPER_COUNT)
            if len(set(new_set)) != len(new_set):
                raise bad_request("duplicate safekeeper id in the set [%s]" % ", ".join(
                    'SafekeeperId { id: NodeId(%d), host: "%s", pg_port: %d }'
                    % (i, self.safekeepers[i]["host"], self.safekeepers[i]["port"]) for i in new_set))
            new_members = self._registered_safekeepers_locked(new_set)
        with self.op_locks.shared(tenant_id):
            with self.lock:
                row = self._sk_row_or_404(tenant_id, timeline_id)
                for sk_id in new_set:
                    if sk_id not in row["sk_set"] and self.safekeepers[sk_id]["scheduling_policy"] == "Decomissioned":
                        raise bad_request("safekeeper %d is decomissioned" % sk_id)
                resuming = row["new_sk_set"] is not None
                if resuming and row["new_sk_set"] != new_set:
                    raise conflict("the timeline is already migrating to a different safekeeper set: [%s]"
                                   % ", ".join(str(i) for i in row["new_sk_set"]))
            if not resuming:
                self._finish_retry(tenant_id, timeline_id, row)
                with self.lock:
                    if row["sk_set"] == new_set:
                        return 200, None         # already there
                    row["generation"] += 1
                    row["new_sk_set"] = list(new_set)
            with self.lock:
                generation = row["generation"]
                current = self._registered_safekeepers_locked(row["sk_set"])
            joint = current + [m for m in new_members if m[0] not in row["sk_set"]]
            # 4. the joint configuration, before the safekeepers switch to it
            self._cplane_notify(tenant_id, timeline_id, row, generation, joint)
            # 5-8. the safekeepers catch up (at once here); commit the final configuration
            with self.lock:
                generation += 1
                row.update(generation=generation, sk_set=list(new_set), new_sk_set=None)
            # 9. the final configuration, after the safekeepers switched
            self._cplane_notify(tenant_id, timeline_id, row, generation, new_members)
        return 200, None

    @route("POST", "/v1/tenant/{tenant_id}/timeline/{timeline_id}/safekeeper_migrate_abort")
    def h_timeline_sk_migrate_abort(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        with self.op_locks.shared(tenant_id):
            with self.lock:
                row = self._sk_row_or_404(tenant_id, timeline_id)
                migrating = row["new_sk_set"] is not None
            if not migrating:
                self._finish_retry(tenant_id, timeline_id, row)
                return 200, None
            with self.lock:
                current = self._registered_safekeepers_locked(row["sk_set"])
                self._registered_safekeepers_locked(row["new_sk_set"])
                row["generation"] += 1
                row["new_sk_set"] = None
                generation = row["generation"]
            self._cplane_notify(tenant_id, timeline_id, row, generation, current)
        return 200, None

