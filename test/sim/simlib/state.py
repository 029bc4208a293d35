"""The simulator's state and plumbing: bookkeeping, request log, faults, dispatch, scheduling.

Why this file exists: the routes (routes_*.py), the reconcilers (reconcile.py) and the test knobs
(knobs.py) all work on one in-memory picture of storcon: nodes, safekeepers, tenants with their
shards and pageserver timelines, and storcon's safekeeper "timelines table".  This class owns that
picture and everything shared around it.  All state lives in plain dicts guarded by self.lock;
the lock is never held while sleeping or while calling the compute hook.

Where the simulator has to make something up (storcon's scheduler, pageserver behaviour) the
choice is simple, deterministic and commented.
"""

import re
import sys
import threading
import time
import traceback
import urllib.parse

from . import timing
from .errors import (ApiError, bad_request, json_bytes, not_found, rust_debug_str)
from .hook import ComputeHook, HttpClient, ShardUpdate
from .parsing import (HEX32, az_for, decode_json, now_rfc3339,
                      parse_tenant_shard_id, policy_debug, policy_is_attached, port_for,
                      shard_id_text)

BOOTSTRAP_LSN = "0/169AD58"          # last_record_lsn of a freshly bootstrapped timeline
TIMELINE_SAFEKEEPER_COUNT = 3        # storcon's default timeline_safekeeper_count
DEFAULT_PG_VERSION = 17              # the pageserver's default (pageserver/src/lib.rs)

NO_AUTH_PATHS = ("/status", "/ready", "/live", "/metrics")

# Config keys of /__sim/config that hold durations or counts: name -> (minimum, allow float).
NUMERIC_CONFIG = {
    "pending_retry_interval": (0, True),
    "hook_timeout": (0, True),
    "time_scale": (0, True),
    "split_seconds": (0, True),
    "timeline_delete_seconds": (0, True),
    "tenant_delete_seconds": (0, True),
    "import_seconds": (0, True),
}


class ScheduleError(Exception):
    pass


class Request:
    def __init__(self, method, path, params, query, headers, body):
        self.method = method
        self.path = path
        self.params = params
        self.query = query
        self.headers = headers
        self.body = body

    def query_value(self, name):
        values = self.query.get(name)
        return values[0] if values else None


class Reply:
    """A non-JSON (or empty) reply."""

    def __init__(self, status, payload=b"", content_type="application/json"):
        self.status = status
        self.payload = payload
        self.content_type = content_type


ROUTES = []


def route(method, pattern):
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(fn):
        ROUTES.append((method, regex, fn.__name__))
        return fn
    return register


class SimCore:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.started_at = now_rfc3339()
        self.address = "http://%s:%s" % (args.host, args.port)
        self.log_file = open(args.log_file, "a", encoding="utf-8") if args.log_file else None
        self.log_file_lock = threading.Lock()
        self.stop_event = threading.Event()
        self.http = HttpClient(self, getattr(args, "control_plane_ca_file", None))
        self.clock = timing.Clock(args.time_scale)
        self.op_locks = timing.TenantOpLocks()
        self.faults = []               # active faults, first match wins
        self.fault_events = []         # release events of every fault since the last clear
        self.epoch_cancel = threading.Event()
        with self.lock:
            self._reset_locked()

    # ---- bookkeeping -------------------------------------------------------------------

    def _release_faults_locked(self):
        """Drop all faults and free requests hanging on any of them (even used-up ones)."""
        for event in self.fault_events:
            event.set()
        self.fault_events = []
        self.faults = []

    def _reset_locked(self):
        """Forget everything (the /__sim/reset knob): work in flight is cancelled."""
        self._release_faults_locked()
        self.epoch_cancel.set()
        self.epoch_cancel = threading.Event()
        for tenant in getattr(self, "tenants", {}).values():
            for shard in tenant["shards"]:
                if shard["reconciler"] is not None:
                    shard["reconciler"].cancel.set()
        for job in getattr(self, "imports", {}).values():
            job["cancel"].set()
        self.hook = ComputeHook(self)
        self.nodes = {}                # node_id -> NodeDescribeResponse-ordered dict
        self.node_incarnation = {}     # node_id -> count of (simulated) restarts
        self.tombstones = {}           # node_id -> last describe of a deleted node
        self.safekeepers = {}          # id -> SafekeeperDescribeResponse-ordered dict
        self.tenants = {}              # tenant_id -> tenant dict (see new_tenant)
        self.sk_timelines = {}         # (tenant_id, timeline_id) -> storcon's timelines table row
        self.imports = {}              # (tenant_id, timeline_id) -> running import
        self.requests = []             # request log
        self.next_fault_id = 1
        self.stepped_down = False
        self.ongoing_operation = None  # the running drain / fill / delete (routes_nodes.py)
        self.config = {
            "control_plane_url": self.args.control_plane_url,
            "control_plane_token": self.args.control_plane_token,
            "pending_retry_interval": self.args.pending_retry_interval,
            "auto_activate_safekeepers": self.args.auto_activate_safekeepers,
            "timelines_onto_safekeepers": not self.args.no_timelines_onto_safekeepers,
            "hook_timeout": timing.HOOK_ATTEMPT_TIMEOUT,
            "time_scale": self.args.time_scale,
            "split_seconds": 0,
            "timeline_delete_seconds": 0,
            "tenant_delete_seconds": 0,
            "import_seconds": 0,
        }
        self.clock.scale = self.args.time_scale
        self._seed_locked(self.args.seed_nodes, self.args.seed_safekeepers)

    def _seed_locked(self, n_nodes, n_safekeepers):
        first_node = max([0] + list(self.nodes) + list(self.tombstones)) + 1
        for node_id in range(first_node, first_node + n_nodes):
            self.nodes[node_id] = self._make_node(
                node_id, "127.0.0.1", port_for(6400, node_id), "127.0.0.1",
                port_for(9800, node_id), None, None, None, az_for(node_id))
        first_sk = max([0] + list(self.safekeepers)) + 1
        for sk_id in range(first_sk, first_sk + n_safekeepers):
            self.safekeepers[sk_id] = self._make_safekeeper(
                sk_id, "default", 1, "127.0.0.1", port_for(5450, sk_id),
                port_for(7670, sk_id), None, az_for(sk_id), "Active")
        return (list(range(first_node, first_node + n_nodes)),
                list(range(first_sk, first_sk + n_safekeepers)))

    @staticmethod
    def _make_node(node_id, pg_addr, pg_port, http_addr, http_port, https_port, grpc_addr,
                   grpc_port, az):
        # Field order = NodeDescribeResponse.
        return {
            "id": node_id,
            "availability": "Active",      # the sim has no heartbeats: nodes are up at once
            "scheduling": "Active",
            "availability_zone_id": az,
            "listen_http_addr": http_addr,
            "listen_http_port": http_port,
            "listen_https_port": https_port,
            "listen_pg_addr": pg_addr,
            "listen_pg_port": pg_port,
            "listen_grpc_addr": grpc_addr,
            "listen_grpc_port": grpc_port,
        }

    @staticmethod
    def _make_safekeeper(sk_id, region, version, host, port, http_port, https_port, az, policy):
        # Field order = SafekeeperDescribeResponse.
        return {
            "id": sk_id,
            "region_id": region,
            "version": version,
            "host": host,
            "port": port,
            "http_port": http_port,
            "https_port": https_port,
            "availability_zone_id": az,
            "scheduling_policy": policy,
        }

    # ---- logging and the request log -----------------------------------------------------

    def log_line(self, text):
        if self.log_file is None:
            return
        with self.log_file_lock:
            self.log_file.write("%s %s\n" % (now_rfc3339(), text))
            self.log_file.flush()

    def record_request(self, entry):
        with self.lock:
            self.requests.append(entry)

    def finish_request(self, entry, status, error=None):
        with self.lock:
            entry["status"] = status
            if entry.get("direction") == "out":
                entry["error"] = error

    def log_incoming(self, method, path, query, body, authorization):
        try:
            parsed = decode_json(body) if body else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        entry = {
            "direction": "in",
            "method": method,
            "path": path,
            "query": query,
            "body": parsed,
            "raw_body": body.decode("utf-8", "replace"),
            "authorization": authorization,
            "status": None,
            "time": time.time(),
        }
        self.record_request(entry)
        return entry

    def finish_incoming(self, entry, status):
        self.finish_request(entry, status)
        self.log_line("in  %s %s%s -> %s" % (entry["method"], entry["path"],
                                             "?" + entry["query"] if entry["query"] else "",
                                             status if status is not None else "(no answer)"))

    def take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault["path_prefix"] is not None and not path.startswith(fault["path_prefix"]):
                    continue
                if fault["method"] is not None and fault["method"] != method:
                    continue
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # ---- the control plane (hook target) --------------------------------------------------

    def hook_target(self):
        with self.lock:
            return self.config["control_plane_url"], self.config["control_plane_token"]

    def http_put(self, url, body, token, timeout):
        """One PUT to the control plane; timeout in storcon seconds (the hook_timeout config
        replaces the 10 s of a notify attempt)."""
        with self.lock:
            if timeout == timing.HOOK_ATTEMPT_TIMEOUT:
                timeout = self.config["hook_timeout"]
        return self.http.put(url, body, token, max(self.clock.real(timeout), 0.001))

    # ---- request dispatch --------------------------------------------------------------

    def dispatch(self, method, path, query, headers, body):
        """Returns (status, payload bytes, content type)."""
        try:
            if path not in NO_AUTH_PATHS and not path.startswith("/profile/"):
                self._check_auth(headers.get("Authorization"))
            handler, params = self._match(method, path)
            req = Request(method, path, params,
                          urllib.parse.parse_qs(query, keep_blank_values=True), headers, body)
            result = handler(req)
            if isinstance(result, Reply):
                return result.status, result.payload, result.content_type
            status, value = result
            return status, json_bytes(value), "application/json"
        except ApiError as e:
            msg = e.msg
            if e.status == 400 and self.args.rust_debug_400:
                msg = rust_debug_str(msg)
            return e.status, json_bytes({"msg": msg}), "application/json"
        except Exception as e:  # a bug in the simulator: say so loudly
            self.log_line("internal error: " + traceback.format_exc())
            sys.stderr.write(traceback.format_exc())
            return 500, json_bytes({"msg": "storcon_sim internal error: %r" % e}), "application/json"

    def _check_auth(self, value):
        token = self.args.token
        if token is None:
            return
        if value is None:
            raise ApiError(401, "Unauthorized: missing authorization header")
        prefix, sep, rest = value.partition(" ")
        if not sep or prefix != "Bearer":
            raise ApiError(401, "Unauthorized: malformed authorization header")
        if rest != token:
            raise ApiError(403, "Forbidden: JWT authentication error")

    def _match(self, method, path):
        path_matched = False
        for route_method, regex, name in ROUTES:
            m = regex.match(path)
            if not m:
                continue
            path_matched = True
            if route_method == method:
                return getattr(self, name), m.groupdict()
        if path_matched:
            raise ApiError(405, "Method not allowed")
        raise not_found("route not found")

    # ---- path and query parameters -----------------------------------------------------

    @staticmethod
    def _param_u64(req, name):
        text = req.params[name]
        if re.match(r"^\+?\d+$", text) and int(text) < 2**64:
            return int(text)
        raise bad_request("failed to parse %s" % name)

    @staticmethod
    def _param_i64(req, name):
        text = req.params[name]
        if re.match(r"^[+-]?\d+$", text) and -2**63 <= int(text) < 2**63:
            return int(text)
        raise bad_request("failed to parse %s" % name)

    @staticmethod
    def _param_tenant_id(req, allow_shard=False):
        """:tenant_id -> lowercase 32 hex.  /v1/tenant/:tenant_id/* also accept a shard id."""
        text = req.params["tenant_id"]
        if HEX32.match(text):
            return text.lower()
        if allow_shard:
            parsed = parse_tenant_shard_id(text)
            if parsed is not None:
                return parsed[0]
        raise bad_request("failed to parse tenant_id")

    @staticmethod
    def _param_timeline_id(req):
        text = req.params["timeline_id"]
        if HEX32.match(text):
            return text.lower()
        raise bad_request("failed to parse timeline_id")

    @staticmethod
    def _param_tenant_shard_id(req):
        parsed = parse_tenant_shard_id(req.params["tenant_shard_id"])
        if parsed is None:
            raise bad_request("failed to parse tenant_shard_id")
        return parsed

    @staticmethod
    def _query_bool(req, name):
        value = req.query_value(name)
        if value is None:
            return False
        if value in ("true", "false"):
            return value == "true"
        raise bad_request("Failed to parse query param %s" % name)

    @staticmethod
    def _query_u64(req, name):
        value = req.query_value(name)
        if value is None:
            return None
        if re.match(r"^\d+$", value) and int(value) < 2**64:
            return int(value)
        raise bad_request("Failed to parse query param %s" % name)

    # ---- scheduling helpers (sim-specific, simple and deterministic) ---------------------
    #
    # Attached placement score, lower is better (mirrors the order of storcon's
    # NodeAttachmentSchedulingScore): (not in the tenant's preferred AZ, locations of this tenant
    # already on the node, attached shards on the node, node id).  Secondaries prefer nodes
    # *outside* the preferred AZ.  Only nodes with availability Active and scheduling Active
    # are candidates.

    def _schedulable(self, node_id, exclude=()):
        node = self.nodes.get(node_id)
        return (node is not None and node_id not in exclude and node["availability"] == "Active"
                and node["scheduling"] == "Active")

    def _node_available(self, node_id):
        """storcon's Node::is_available(): availability Active."""
        node = self.nodes.get(node_id)
        return node is not None and node["availability"] == "Active"

    def _may_schedule_count(self):
        """Nodes storcon may schedule onto (availability Active; scheduling Active or Filling)."""
        return sum(1 for n in self.nodes.values()
                   if n["availability"] == "Active" and n["scheduling"] in ("Active", "Filling"))

    def _attached_load(self):
        load = {}
        for tenant in self.tenants.values():
            for shard in tenant["shards"]:
                if shard["attached"] is not None:
                    load[shard["attached"]] = load.get(shard["attached"], 0) + 1
        return load

    @staticmethod
    def _tenant_affinity(tenant):
        affinity = {}
        for shard in tenant["shards"]:
            nodes = list(shard["secondaries"])
            if shard["attached"] is not None:
                nodes.append(shard["attached"])
            for node_id in nodes:
                affinity[node_id] = affinity.get(node_id, 0) + 1
        return affinity

    def _pick_node(self, tenant, exclude, load, affinity, secondary=False):
        preferred = tenant["preferred_az"]
        best, best_key = None, None
        for node in self.nodes.values():
            node_id = node["id"]
            if node_id in exclude or node["availability"] != "Active" or node["scheduling"] != "Active":
                continue
            in_preferred = preferred is None or node["availability_zone_id"] == preferred
            if secondary:
                az_penalty = 1 if (preferred is not None and in_preferred) else 0
            else:
                az_penalty = 0 if in_preferred else 1
            key = (az_penalty, affinity.get(node_id, 0), load.get(node_id, 0), node_id)
            if best_key is None or key < best_key:
                best, best_key = node, key
        return best

    def _schedule_error(self):
        if not self.nodes:
            return ScheduleError("No pageservers found")
        return ScheduleError("No pageserver found matching constraint")

    def _choose_preferred_az(self, load):
        """The AZ of the least loaded schedulable node (ties: lowest id)."""
        best, best_key = None, None
        for node in self.nodes.values():
            if node["availability"] != "Active" or node["scheduling"] != "Active":
                continue
            key = (load.get(node["id"], 0), node["id"])
            if best_key is None or key < best_key:
                best, best_key = node, key
        return best["availability_zone_id"] if best else None

    def _schedule_shard(self, tenant, shard, load, affinity):
        """Bring one shard's locations in line with the tenant's placement policy.

        Raises ScheduleError when a required location cannot be placed (locations placed so
        far are kept, like storcon's intent).  Returns True if the shard got a new attachment.
        """
        policy = tenant["policy"]
        newly_attached = False
        if not policy_is_attached(policy) and shard["attached"] is not None:
            if policy == "Secondary" and shard["attached"] not in shard["secondaries"]:
                shard["secondaries"].insert(0, shard["attached"])
            shard["attached"] = None
        if policy_is_attached(policy) and shard["attached"] is None:
            promote = [n for n in shard["secondaries"] if self._schedulable(n)]
            if promote:
                node_id = promote[0]
                shard["secondaries"].remove(node_id)
            else:
                node = self._pick_node(tenant, set(shard["secondaries"]), load, affinity)
                if node is None:
                    raise self._schedule_error()
                node_id = node["id"]
            shard["attached"] = node_id
            shard["generation"] = (shard["generation"] or 0) + 1
            load[node_id] = load.get(node_id, 0) + 1
            affinity[node_id] = affinity.get(node_id, 0) + 1
            newly_attached = True
        wanted = policy_secondaries_of(policy)
        while len(shard["secondaries"]) > wanted:
            shard["secondaries"].pop()
        while len(shard["secondaries"]) < wanted:
            exclude = set(shard["secondaries"])
            if shard["attached"] is not None:
                exclude.add(shard["attached"])
            node = self._pick_node(tenant, exclude, load, affinity, secondary=True)
            if node is None:
                raise self._schedule_error()
            shard["secondaries"].append(node["id"])
            affinity[node["id"]] = affinity.get(node["id"], 0) + 1
        return newly_attached

    def _move_attached(self, tenant, shard, target):
        """Attach shard on target (generation + 1).  A secondary on target is promoted and
        the old attached location becomes a secondary if the policy wants one."""
        old = shard["attached"]
        if target in shard["secondaries"]:
            shard["secondaries"].remove(target)
        shard["attached"] = target
        shard["generation"] = (shard["generation"] or 0) + 1
        if (old is not None and old != target and old in self.nodes
                and len(shard["secondaries"]) < policy_secondaries_of(tenant["policy"])):
            shard["secondaries"].append(old)

    # ---- tenant helpers ----------------------------------------------------------------

    @staticmethod
    def new_tenant(tenant_id, count, stripe_size, policy, config):
        return {
            "id": tenant_id,
            "count": count,                 # literal ShardCount (0 = legacy unsharded)
            "stripe_size": stripe_size,
            "policy": policy,               # {"Attached": n} | "Secondary" | "Detached"
            "scheduling": "Active",         # ShardSchedulingPolicy
            "config": config,               # TenantConfig: only the set fields
            "preferred_az": None,           # the AZ chosen at creation / load
            "shards": [],                   # sorted by shard number
            "timelines": {},                # timeline_id -> pageserver timeline dict
            "splitting": False,             # a shard split is under way
            "dormant": False,               # Detached and dropped from memory (storcon's DB only)
        }

    @staticmethod
    def new_shard(number, preferred_az=None):
        return {"number": number, "attached": None, "secondaries": [], "generation": None,
                "pending": False,           # pending_compute_notification
                "last_error": "",
                "reconciler": None,         # the running Reconciler (reconcile.py)
                "preferred_az": preferred_az}

    @staticmethod
    def _shard_text(tenant, shard):
        return shard_id_text(tenant["id"], shard["number"], tenant["count"])

    def _tenant_or_404(self, tenant_id, msg=None):
        """A tenant in memory (a dormant Detached tenant counts as absent)."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None or tenant["dormant"]:
            raise not_found(msg or "Tenant %s not found" % tenant_id)
        return tenant

    def _load_tenant(self, tenant_id):
        """storcon's maybe_load_tenant: bring a dormant tenant back into memory (404 if the
        tenant is unknown altogether)."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            raise not_found("Tenant %s not found" % tenant_id)
        if tenant["dormant"]:
            az = self._choose_preferred_az(self._attached_load())
            if az is None:
                raise bad_request("No AZ with nodes found to load tenant")
            tenant["dormant"] = False
            tenant["preferred_az"] = az
            for shard in tenant["shards"]:
                shard["preferred_az"] = az
        return tenant

    def _maybe_drop_tenant(self, tenant):
        """storcon drops a tenant whose shards are all Detached and idle from memory."""
        if tenant["policy"] == "Detached" and not tenant["splitting"] and all(
                s["reconciler"] is None and s["attached"] is None and not s["secondaries"]
                for s in tenant["shards"]):
            tenant["dormant"] = True

    def _describe_tenant(self, tenant):
        importing = any(key[0] == tenant["id"] for key in self.imports)
        shards = []
        for shard in tenant["shards"]:
            shards.append({
                "tenant_shard_id": self._shard_text(tenant, shard),
                "node_attached": shard["attached"],
                "node_secondary": list(shard["secondaries"]),
                "last_error": shard["last_error"],
                "is_reconciling": shard["reconciler"] is not None,
                "is_pending_compute_notification": shard["pending"],
                "is_splitting": tenant["splitting"],
                "is_importing": importing,
                "scheduling_policy": tenant["scheduling"],
                "preferred_az_id": shard["preferred_az"],
            })
        return {
            "tenant_id": tenant["id"],
            "shards": shards,
            "stripe_size": tenant["stripe_size"],
            "policy": tenant["policy"],
            "config": dict(tenant["config"]),
        }

    def _create_response(self, tenant):
        return {"shards": [
            {"shard_id": self._shard_text(tenant, s), "node_id": s["attached"],
             "generation": s["generation"]}
            for s in tenant["shards"] if s["attached"] is not None]}

    def _find_shard(self, tenant_id, number, count):
        tenant = self.tenants.get(tenant_id)
        if tenant is None or tenant["dormant"] or tenant["count"] != count:
            return None, None
        for shard in tenant["shards"]:
            if shard["number"] == number:
                return tenant, shard
        return None, None

    def _shard_update(self, tenant, shard, node_id=None):
        return ShardUpdate(tenant["id"], shard["number"], tenant["count"],
                           node_id if node_id is not None else shard["attached"],
                           tenant["stripe_size"], shard["preferred_az"])

    def _node_display(self, node_id):
        """storcon's Node Display: "<id> (<listen_http_addr>)"."""
        node = self.nodes.get(node_id)
        return "%d (%s)" % (node_id, node["listen_http_addr"] if node else "?")

    def _mutation_targets(self, tenant_id):
        """storcon's tenant_remote_mutation: the attached location of every shard of an
        attached tenant.  404 if unknown, 409 for Secondary/Detached, 503 while a shard has no
        attached location."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            raise not_found("Tenant not found")
        if tenant["dormant"]:
            raise ApiError(503, "One or more shards in tenant is not yet attached")
        if not policy_is_attached(tenant["policy"]):
            raise ApiError(409, "Conflict: Shard %s tenant has policy %s"
                           % (self._shard_text(tenant, tenant["shards"][0]), policy_debug(tenant["policy"])))
        if any(s["attached"] is None for s in tenant["shards"]):
            raise ApiError(503, "One or more shards in tenant is not yet attached")
        return tenant


def policy_secondaries_of(policy):
    if isinstance(policy, dict):
        return policy["Attached"]
    return 1 if policy == "Secondary" else 0

