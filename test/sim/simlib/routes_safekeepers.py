"""Routes for safekeeper records (§3.6): upsert, list, describe, scheduling policy.

Why this file exists: safekeepers do not register themselves; operators upsert them and set their
scheduling policy, and only Active ones receive new timelines.  A new safekeeper is Activating
until its first heartbeat (POST /__sim/heartbeat, or --auto-activate-safekeepers).
"""

from .errors import bad_request, internal_error, not_found
from .parsing import SAFEKEEPER_SCHEDULING_REQUEST, SAFEKEEPER_UPSERT, parse_json_body
from .state import Reply, route


class SafekeeperRoutes:
    @route("GET", "/control/v1/safekeeper")
    def h_sk_list(self, req):
        with self.lock:
            return 200, [dict(self.safekeepers[i]) for i in sorted(self.safekeepers)]

    @route("GET", "/control/v1/safekeeper/{id}")
    def h_sk_get(self, req):
        sk_id = self._param_i64(req, "id")
        with self.lock:
            sk = self.safekeepers.get(sk_id)
            if sk is None:
                raise not_found("unknown instance id")
            return 200, dict(sk)

    @route("POST", "/control/v1/safekeeper/{id}")
    def h_sk_upsert(self, req):
        sk_id = self._param_i64(req, "id")
        body = parse_json_body(req.body, SAFEKEEPER_UPSERT)
        if body["id"] != sk_id:
            raise bad_request("id mismatch: url=%d, body=%d" % (sk_id, body["id"]))
        if sk_id <= 0:
            raise bad_request("id not allowed to be zero or negative")
        with self.lock:
            existing = self.safekeepers.get(sk_id)
            if existing is not None:
                policy = existing["scheduling_policy"]
            else:
                # storcon starts new safekeepers as Activating until the first heartbeat;
                # the sim's heartbeat is POST /__sim/heartbeat (or auto_activate_safekeepers).
                policy = "Active" if self.config["auto_activate_safekeepers"] else "Activating"
            self.safekeepers[sk_id] = self._make_safekeeper(
                sk_id, body["region_id"], body["version"], body["host"], body["port"],
                body["http_port"], body.get("https_port"), body["availability_zone_id"], policy)
        return Reply(204, b"")

    @route("POST", "/control/v1/safekeeper/{id}/scheduling_policy")
    def h_sk_policy(self, req):
        sk_id = self._param_i64(req, "id")
        body = parse_json_body(req.body, SAFEKEEPER_SCHEDULING_REQUEST)
        with self.lock:
            sk = self.safekeepers.get(sk_id)
            if sk is None:
                raise internal_error("unexpected number of rows (0)")
            sk["scheduling_policy"] = body["scheduling_policy"]
        return 200, None
