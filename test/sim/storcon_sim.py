#!/usr/bin/env python3
"""storcon_sim.py - an in-memory simulator of Neon's storage controller (storcon) HTTP API.

Why this file exists: pg_storcon's tests need a storage controller to talk to, but the real
one needs a Neon build, a database and pageservers.  This simulator follows the contract in
/work/shared/reference/neon-contract.md (JSON shapes, field order, status codes, error texts)
closely enough to test the extension's storcon client and its compute-hook receiver.
It keeps all state in memory and uses only the Python 3.11 standard library.

Besides storcon's own routes it offers test knobs under /__sim/ (never authenticated):
request log, fault injection, reset, bulk seeding, runtime config, safekeeper heartbeat,
a "storcon restart" that re-sends every notification, and a state dump.

Where the simulator has to make something up (storcon's scheduler, which pageserver or
safekeeper errors look like, ...) the choice is simple, deterministic and commented.

Usage: storcon_sim.py --help
"""

import argparse
import datetime
import http.server
import json
import os
import re
import signal
import ssl
import socket
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http import HTTPStatus

DEFAULT_STRIPE_SIZE = 2048           # pages of 8 KiB (contract §5)
BOOTSTRAP_LSN = "0/169AD58"          # last_record_lsn of a freshly bootstrapped timeline
TIMELINE_SAFEKEEPER_COUNT = 3        # storcon's default timeline_safekeeper_count
DEFAULT_PG_VERSION = 17

NODE_AVAILABILITY = ["Active", "WarmingUp", "Offline"]
NODE_SCHEDULING = ["Active", "Filling", "Pause", "PauseForRestart", "Draining", "Deleting"]
SHARD_SCHEDULING = ["Active", "Essential", "Pause", "Stop"]
SK_SCHEDULING = ["Active", "Activating", "Pause", "Decomissioned"]

HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
HEX4 = re.compile(r"^[0-9a-fA-F]{4}$")
LSN_RE = re.compile(r"^([0-9a-fA-F]{1,8})/([0-9a-fA-F]{1,8})$")
# humantime-style durations: "30s", "1h", "7 days", "1h 30m", "100ms"
DURATION_UNITS = ("nanos|nsec|ns|usec|us|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|"
                  "mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|w|months|month|M|"
                  "years|year|y")
DURATION_RE = re.compile(r"^\s*(\d+\s*(%s)\s*)+$" % DURATION_UNITS)


# --------------------------------------------------------------------------------------------
# Errors (contract §3.0): every error is {"msg": "<text>"} with storcon's prefixes.
# --------------------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status = status
        self.msg = msg


def bad_request(msg):
    return ApiError(400, msg)


def not_found(msg):
    return ApiError(404, "NotFound: " + msg)


def conflict(msg):
    return ApiError(409, "Conflict: " + msg)


def precondition_failed(msg):
    return ApiError(412, "Precondition failed: " + msg)


def unavailable(msg):
    return ApiError(503, msg)


def internal_error(msg):
    return ApiError(500, msg)


def rust_debug_str(s):
    """Render s the way Rust's {:?} renders a str (used by --rust-debug-400)."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_bytes(value):
    """Compact JSON like serde_json emits (field order = dict insertion order)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Strict, serde-like request parsing.
#
# Each parser is a function (value, path) -> python value that raises FieldError with a text
# shaped like serde's.  The path prefix follows serde_path_to_error ("a.b[2]: ...").
# serde_json's " at line L column C" suffix is not reproduced.
# --------------------------------------------------------------------------------------------

class FieldError(Exception):
    def __init__(self, path, msg):
        super().__init__(msg)
        self.path = path
        self.msg = msg

    def text(self):
        return "%s: %s" % (self.path, self.msg) if self.path else self.msg


def sub_path(path, key):
    return "%s.%s" % (path, key) if path else str(key)


def describe_unexpected(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean `%s`" % ("true" if v else "false")
    if isinstance(v, int):
        return "integer `%d`" % v
    if isinstance(v, float):
        return "floating point `%r`" % v
    if isinstance(v, str):
        return "string " + json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "sequence"
    return "map"


def type_error(path, v, expected):
    return FieldError(path, "invalid type: %s, expected %s" % (describe_unexpected(v), expected))


def expected_list(names):
    """serde's wording for a list of allowed fields/variants."""
    quoted = ["`%s`" % n for n in names]
    if len(quoted) == 1:
        return "expected " + quoted[0]
    if len(quoted) == 2:
        return "expected %s or %s" % (quoted[0], quoted[1])
    return "expected one of " + ", ".join(quoted)


INT_RANGES = {
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
    "usize": (0, 2**64 - 1),
    "i32": (-2**31, 2**31 - 1),
    "i64": (-2**63, 2**63 - 1),
}


def int_of(kind):
    lo, hi = INT_RANGES[kind]

    def parse(v, path):
        # bool is an int subclass in Python but never an integer in JSON.
        if isinstance(v, bool) or not isinstance(v, int):
            raise type_error(path, v, kind)
        if not lo <= v <= hi:
            raise FieldError(path, "invalid value: integer `%d`, expected %s" % (v, kind))
        return v
    return parse


def nonzero_u64(v, path):
    v = int_of("u64")(v, path)
    if v == 0:
        raise FieldError(path, "invalid value: integer `0`, expected a nonzero u64")
    return v


def string(v, path):
    if not isinstance(v, str):
        raise type_error(path, v, "a string")
    return v


def boolean(v, path):
    if not isinstance(v, bool):
        raise type_error(path, v, "a boolean")
    return v


def anything(v, path):
    return v


def optional(parser):
    """Rust Option<T>: null means None."""
    def parse(v, path):
        return None if v is None else parser(v, path)
    return parse


def list_of(parser):
    def parse(v, path):
        if not isinstance(v, list):
            raise type_error(path, v, "a sequence")
        return [parser(item, "%s[%d]" % (path, i)) for i, item in enumerate(v)]
    return parse


def hex_id(what):
    """TenantId / TimelineId: 32 hex chars, any case; normalised to lowercase."""
    def parse(v, path):
        if not isinstance(v, str):
            raise type_error(path, v, "a string")
        if not HEX32.match(v):
            raise FieldError(path, "invalid value: string %s, expected a 32-character hex %s"
                             % (json.dumps(v), what))
        return v.lower()
    return parse


def tenant_shard_id_field(v, path):
    if not isinstance(v, str):
        raise type_error(path, v, "a string")
    parsed = parse_tenant_shard_id(v)
    if parsed is None:
        raise FieldError(path, "invalid value: string %s, expected a tenant shard id" % json.dumps(v))
    return parsed


def lsn_field(v, path):
    if not isinstance(v, str):
        raise type_error(path, v, "a string")
    m = LSN_RE.match(v)
    if not m:
        raise FieldError(path, "invalid value: string %s, expected an LSN in X/X form" % json.dumps(v))
    return "%X/%X" % (int(m.group(1), 16), int(m.group(2), 16))


def duration_field(v, path):
    if not isinstance(v, str):
        raise type_error(path, v, "a string")
    if not DURATION_RE.match(v):
        raise FieldError(path, "invalid value: string %s, expected a duration like \"30s\" or \"1h\""
                         % json.dumps(v))
    return v


def enum_of(name, variants):
    """A Rust enum with unit variants only, serialised as the variant name."""
    def parse(v, path):
        if not isinstance(v, str):
            raise type_error(path, v, "enum " + name)
        if v not in variants:
            raise FieldError(path, "unknown variant `%s`, %s" % (v, expected_list(variants)))
        return v
    return parse


def placement_policy(v, path):
    """PlacementPolicy: {"Attached": N} | "Secondary" | "Detached"."""
    variants = ["Attached", "Secondary", "Detached"]
    if isinstance(v, str):
        if v == "Attached":
            raise FieldError(path, "invalid type: unit variant, expected newtype variant")
        if v not in variants:
            raise FieldError(path, "unknown variant `%s`, %s" % (v, expected_list(variants)))
        return v
    if isinstance(v, dict) and len(v) == 1:
        (key, inner), = v.items()
        if key not in variants:
            raise FieldError(path, "unknown variant `%s`, %s" % (key, expected_list(variants)))
        if key != "Attached":
            raise FieldError(path, "invalid type: newtype variant, expected unit variant")
        return {"Attached": int_of("usize")(inner, sub_path(path, "Attached"))}
    raise type_error(path, v, "enum PlacementPolicy")


def struct(name, fields, deny_unknown=False, flattened=False):
    """A Rust struct.  fields: list of (key, parser, required).

    Keys are processed in document order like serde does (so an unknown or badly typed
    field is reported before a missing one).  The result holds only the keys that were
    present; optional fields given as null are present with value None.
    """
    spec = {key: (parser, required) for key, parser, required in fields}

    def parse(v, path):
        if not isinstance(v, dict):
            raise type_error(path, v, "struct " + name)
        out = {}
        for key, value in v.items():
            if key not in spec:
                if deny_unknown:
                    # With #[serde(flatten)] serde cannot list the expected fields.
                    if flattened:
                        raise FieldError(path, "unknown field `%s`" % key)
                    raise FieldError(path, "unknown field `%s`, %s" % (key, expected_list(list(spec))))
                continue
            out[key] = spec[key][0](value, sub_path(path, key))
        for key, (_, required) in spec.items():
            if required and key not in v:
                raise FieldError(path, "missing field `%s`" % key)
        return out
    return parse


class DuplicateField(ValueError):
    pass


def _object_pairs(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateField("duplicate field `%s`" % key)
        obj[key] = value
    return obj


def _reject_constant(name):
    raise ValueError("invalid number `%s`" % name)


def decode_json(raw):
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_object_pairs,
                      parse_constant=_reject_constant)


def parse_json_body(body, parser):
    """storcon's json_request(): empty body -> 400, bad JSON or shape -> 400."""
    if not body:
        raise bad_request("missing request body")
    try:
        value = decode_json(body)
    except json.JSONDecodeError as e:
        raise bad_request("Failed to parse json request: %s at line %d column %d"
                          % (e.msg, e.lineno, e.colno))
    except (ValueError, UnicodeDecodeError) as e:
        raise bad_request("Failed to parse json request: %s" % e)
    try:
        return parser(value, "")
    except FieldError as e:
        raise bad_request("Failed to parse json request: " + e.text())


# TenantConfig fields accepted at the top level of tenant create / config requests.
# Types follow libs/pageserver_api/src/models.rs; composite values are accepted as-is.
TENANT_CONFIG_FIELDS = {
    "checkpoint_distance": int_of("u64"),
    "checkpoint_timeout": duration_field,
    "compaction_target_size": int_of("u64"),
    "compaction_period": duration_field,
    "compaction_threshold": int_of("usize"),
    "compaction_upper_limit": int_of("usize"),
    "compaction_algorithm": anything,
    "compaction_shard_ancestor": boolean,
    "compaction_l0_first": boolean,
    "compaction_l0_semaphore": boolean,
    "l0_flush_delay_threshold": int_of("usize"),
    "l0_flush_stall_threshold": int_of("usize"),
    "gc_horizon": int_of("u64"),
    "gc_period": duration_field,
    "image_creation_threshold": int_of("usize"),
    "image_creation_preempt_threshold": int_of("usize"),
    "image_layer_creation_check_threshold": int_of("u8"),
    "pitr_interval": duration_field,
    "walreceiver_connect_timeout": duration_field,
    "lagging_wal_timeout": duration_field,
    "max_lsn_wal_lag": nonzero_u64,
    "eviction_policy": anything,
    "min_resident_size_override": int_of("u64"),
    "evictions_low_residence_duration_metric_threshold": duration_field,
    "heatmap_period": duration_field,
    "lazy_slru_download": boolean,
    "timeline_get_throttle": anything,
    "lsn_lease_length": duration_field,
    "lsn_lease_length_for_ts": duration_field,
    "timeline_offloading": boolean,
    "rel_size_v2_enabled": boolean,
    "gc_compaction_enabled": boolean,
    "gc_compaction_verification": boolean,
    "gc_compaction_initial_threshold_kb": int_of("u64"),
    "gc_compaction_ratio_percent": int_of("u64"),
    "sampling_ratio": anything,
    "relsize_snapshot_cache_capacity": int_of("usize"),
    "basebackup_cache_enabled": boolean,
    "wal_receiver_protocol_override": anything,
    "switch_aux_file_policy": anything,
    "trace_read_requests": boolean,
}


def config_fields():
    return [(key, optional(parser), False) for key, parser in TENANT_CONFIG_FIELDS.items()]


SHARD_PARAMETERS = struct("ShardParameters", [
    ("count", int_of("u8"), True),
    ("stripe_size", int_of("u32"), True),
], deny_unknown=True)

TENANT_CREATE_REQUEST = struct("TenantCreateRequest", [
    ("new_tenant_id", tenant_shard_id_field, True),
    ("generation", optional(int_of("u32")), False),
    ("shard_parameters", SHARD_PARAMETERS, False),   # #[serde(default)], not an Option
    ("placement_policy", optional(placement_policy), False),
] + config_fields(), deny_unknown=True, flattened=True)

TENANT_CONFIG_REQUEST = struct("TenantConfigRequest", [
    ("tenant_id", hex_id("tenant id"), True),
] + config_fields(), deny_unknown=True, flattened=True)

NODE_REGISTER_REQUEST = struct("NodeRegisterRequest", [
    ("node_id", int_of("u64"), True),
    ("listen_pg_addr", string, True),
    ("listen_pg_port", int_of("u16"), True),
    ("listen_grpc_addr", optional(string), False),
    ("listen_grpc_port", optional(int_of("u16")), False),
    ("listen_http_addr", string, True),
    ("listen_http_port", int_of("u16"), True),
    ("listen_https_port", optional(int_of("u16")), False),
    ("availability_zone_id", string, True),
    ("node_ip_addr", optional(string), False),
])

NODE_CONFIGURE_REQUEST = struct("NodeConfigureRequest", [
    ("node_id", int_of("u64"), True),
    ("availability", optional(enum_of("NodeAvailabilityWrapper", NODE_AVAILABILITY)), False),
    ("scheduling", optional(enum_of("NodeSchedulingPolicy", NODE_SCHEDULING)), False),
])

SAFEKEEPER_UPSERT = struct("SafekeeperUpsert", [
    ("id", int_of("i64"), True),
    ("region_id", string, True),
    ("version", int_of("i64"), True),
    ("host", string, True),
    ("port", int_of("i32"), True),
    ("http_port", int_of("i32"), True),
    ("https_port", optional(int_of("i32")), False),
    ("availability_zone_id", string, True),
    ("active", optional(boolean), False),
])

SAFEKEEPER_SCHEDULING_REQUEST = struct("SafekeeperSchedulingPolicyRequest", [
    ("scheduling_policy", enum_of("SkSchedulingPolicy", SK_SCHEDULING), True),
])

TENANT_POLICY_REQUEST = struct("TenantPolicyRequest", [
    ("placement", optional(placement_policy), False),
    ("scheduling", optional(enum_of("ShardSchedulingPolicy", SHARD_SCHEDULING)), False),
])

TENANT_SHARD_SPLIT_REQUEST = struct("TenantShardSplitRequest", [
    ("new_shard_count", int_of("u8"), True),
    ("new_stripe_size", optional(int_of("u32")), False),
])

MIGRATION_CONFIG = struct("MigrationConfig", [
    ("override_scheduler", boolean, False),
    ("prewarm", boolean, False),
    ("secondary_warmup_timeout", optional(duration_field), False),
    ("secondary_download_request_timeout", optional(duration_field), False),
])

TENANT_SHARD_MIGRATE_REQUEST = struct("TenantShardMigrateRequest", [
    ("node_id", int_of("u64"), True),
    ("origin_node_id", optional(int_of("u64")), False),
    ("migration_config", optional(MIGRATION_CONFIG), False),
])

TIMELINE_CREATE_REQUEST = struct("TimelineCreateRequest", [
    ("new_timeline_id", hex_id("timeline id"), True),
    ("ancestor_timeline_id", optional(hex_id("timeline id")), False),
    ("ancestor_start_lsn", optional(lsn_field), False),
    ("pg_version", optional(int_of("u32")), False),
    ("read_only", optional(boolean), False),
    ("existing_initdb_timeline_id", optional(hex_id("timeline id")), False),
    ("import_pgdata", anything, False),
])

SAFEKEEPER_MIGRATE_REQUEST = struct("TimelineSafekeeperMigrateRequest", [
    ("new_sk_set", list_of(int_of("u64")), True),
])

PREFERRED_AZS_REQUEST = anything   # a flat map, checked by the handler


# --------------------------------------------------------------------------------------------
# Identifiers (contract §5)
# --------------------------------------------------------------------------------------------

def parse_tenant_shard_id(text):
    """Returns (tenant_id, shard_number, shard_count) or None.

    32 hex -> unsharded (count 0); 37 chars -> <32hex>-<NNCC>.  Like storcon, the parse is
    length based and the '-' at index 32 is not checked.
    """
    if len(text) == 32 and HEX32.match(text):
        return (text.lower(), 0, 0)
    if len(text) == 37 and HEX32.match(text[:32]) and HEX4.match(text[33:]):
        return (text[:32].lower(), int(text[33:35], 16), int(text[35:37], 16))
    return None


def shard_id_text(tenant_id, number, count):
    if count == 0:
        return tenant_id
    return "%s-%02x%02x" % (tenant_id, number, count)


def az_for(ident):
    """Seeded objects spread over three AZs: id 1 -> az-1, 2 -> az-2, 3 -> az-3, 4 -> az-1."""
    return "az-%d" % ((ident - 1) % 3 + 1)


def port_for(base, ident):
    """base + id, folded back into 1024..65535 for very large seeds."""
    port = base + ident
    if port > 65535:
        port = 1024 + (port - 1024) % (65536 - 1024)
    return port


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def policy_secondaries(policy):
    if isinstance(policy, dict):
        return policy["Attached"]
    return 1 if policy == "Secondary" else 0


def policy_is_attached(policy):
    return isinstance(policy, dict)


def policy_name(policy):
    return "Attached" if isinstance(policy, dict) else policy


def notify_error_text(status, error):
    """Roughly storcon's NotifyError display for a failed hook call."""
    if status is None:
        return "Sending request: %s" % error
    try:
        phrase = "%d %s" % (status, HTTPStatus(status).phrase)
    except ValueError:
        phrase = str(status)
    if status == 423:
        return "Control plane tenant busy"
    if status == 429:
        return "Too many requests"
    if status in (502, 503, 504):
        return "Control plane unavailable (%s)" % phrase
    if status in (400, 401, 403):
        return "Non-retryable error %s" % phrase
    return "Unexpected status %s" % phrase


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


NO_AUTH_PATHS = ("/status", "/ready", "/live", "/metrics")


# --------------------------------------------------------------------------------------------
# The simulator.  All state lives in plain dicts guarded by self.lock.  The lock is never held
# while sleeping or while calling the compute hook.
# --------------------------------------------------------------------------------------------

class Sim:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.started_at = now_rfc3339()
        self.address = "http://%s:%s" % (args.host, args.port)
        self.log_file = open(args.log_file, "a", encoding="utf-8") if args.log_file else None
        self.log_file_lock = threading.Lock()
        self.send_locks = {}           # hook send serialisation per tenant / per timeline
        self.stop_event = threading.Event()
        # Never use an HTTP proxy from the environment for hook calls.
        handlers = [urllib.request.ProxyHandler({})]
        if getattr(args, "control_plane_ca_file", None):  # an https hook signed by this CA
            handlers.append(urllib.request.HTTPSHandler(
                context=ssl.create_default_context(cafile=args.control_plane_ca_file)))
        self.opener = urllib.request.build_opener(*handlers)
        self.faults = []               # active faults, first match wins
        self.fault_events = []         # release events of every fault since the last clear
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
        self._release_faults_locked()
        self.nodes = {}                # node_id -> NodeDescribeResponse-ordered dict
        self.tombstones = {}           # node_id -> last describe of a deleted node
        self.safekeepers = {}          # id -> SafekeeperDescribeResponse-ordered dict
        self.tenants = {}              # tenant_id -> tenant dict (see _new_tenant)
        self.requests = []             # request log
        self.next_fault_id = 1
        self.config = {
            "control_plane_url": self.args.control_plane_url,
            "control_plane_token": self.args.control_plane_token,
            "pending_retry_interval": self.args.pending_retry_interval,
            "auto_activate_safekeepers": self.args.auto_activate_safekeepers,
            "timelines_onto_safekeepers": not self.args.no_timelines_onto_safekeepers,
            "hook_timeout": 10.0,
        }
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

    def log_line(self, text):
        if self.log_file is None:
            return
        with self.log_file_lock:
            self.log_file.write("%s %s\n" % (now_rfc3339(), text))
            self.log_file.flush()

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
        with self.lock:
            self.requests.append(entry)
        return entry

    def finish_incoming(self, entry, status):
        with self.lock:
            entry["status"] = status
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

    # ---- path parameters ---------------------------------------------------------------

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
        wanted = policy_secondaries(policy)
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
                and len(shard["secondaries"]) < policy_secondaries(tenant["policy"])):
            shard["secondaries"].append(old)

    def _evacuate_node(self, node_id, detach_if_stuck, drop_secondaries):
        """Move every shard attached to node_id elsewhere.  Returns the affected tenant ids."""
        load = self._attached_load()
        affected = []
        for tenant in self.tenants.values():
            affinity = self._tenant_affinity(tenant)
            changed = False
            for shard in tenant["shards"]:
                if drop_secondaries and node_id in shard["secondaries"]:
                    shard["secondaries"].remove(node_id)
                    changed = True
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
                        changed = True
                    continue
                self._move_attached(tenant, shard, target)
                load[target] = load.get(target, 0) + 1
                load[node_id] = load.get(node_id, 1) - 1
                affinity[target] = affinity.get(target, 0) + 1
                changed = True
            if changed:
                affected.append(tenant["id"])
        return affected

    # ---- tenant helpers ----------------------------------------------------------------

    @staticmethod
    def _new_tenant(tenant_id, count, stripe_size, policy, config):
        return {
            "id": tenant_id,
            "count": count,                 # literal ShardCount (0 = legacy unsharded)
            "stripe_size": stripe_size,
            "policy": policy,               # {"Attached": n} | "Secondary" | "Detached"
            "scheduling": "Active",         # ShardSchedulingPolicy
            "config": config,               # TenantConfig: only the set fields
            "preferred_az": None,
            "shards": [],                   # sorted by shard number
            "timelines": {},                # timeline_id -> timeline dict
            "last_notified": None,          # last notify-attach body acked with 2xx
        }

    @staticmethod
    def _new_shard(number):
        return {"number": number, "attached": None, "secondaries": [], "generation": None,
                "pending": False}

    @staticmethod
    def _shard_text(tenant, shard):
        return shard_id_text(tenant["id"], shard["number"], tenant["count"])

    def _tenant_or_404(self, tenant_id, msg=None):
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            raise not_found(msg or "Tenant %s not found" % tenant_id)
        return tenant

    def _describe_tenant(self, tenant):
        shards = []
        for shard in tenant["shards"]:
            shards.append({
                "tenant_shard_id": self._shard_text(tenant, shard),
                "node_attached": shard["attached"],
                "node_secondary": list(shard["secondaries"]),
                "last_error": "",
                "is_reconciling": False,
                "is_pending_compute_notification": shard["pending"],
                "is_splitting": False,
                "is_importing": False,
                "scheduling_policy": tenant["scheduling"],
                "preferred_az_id": tenant["preferred_az"],
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
        if tenant is None or tenant["count"] != count:
            return None, None
        for shard in tenant["shards"]:
            if shard["number"] == number:
                return tenant, shard
        return None, None

    # ---- compute hook (contract §1) ------------------------------------------------------

    def _send_lock(self, key):
        with self.lock:
            lock = self.send_locks.get(key)
            if lock is None:
                lock = self.send_locks[key] = threading.Lock()
            return lock

    def _attach_body(self, tenant):
        """The exact notify-attach body (§1.2), or None if not every shard is attached."""
        if not policy_is_attached(tenant["policy"]):
            return None
        shards = []
        for shard in tenant["shards"]:
            if shard["attached"] is None:
                return None
            shards.append({"node_id": shard["attached"], "shard_number": shard["number"]})
        return json_bytes({
            "tenant_id": tenant["id"],
            "preferred_az": tenant["preferred_az"],
            "stripe_size": tenant["stripe_size"] if tenant["count"] > 1 else None,
            "shards": shards,
        })

    def _send_hook(self, api_path, body, url, token, timeout):
        """One PUT to the hook.  Returns (status or None, error text or None)."""
        full_url = url.rstrip("/") + "/" + api_path
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        entry = {
            "direction": "out",
            "method": "PUT",
            "url": full_url,
            "path": urllib.parse.urlsplit(full_url).path,
            "query": "",
            "body": json.loads(body),
            "raw_body": body.decode("utf-8"),
            "authorization": headers.get("Authorization"),
            "status": None,
            "error": None,
            "time": time.time(),
        }
        with self.lock:
            self.requests.append(entry)
        status, error = None, None
        try:
            request = urllib.request.Request(full_url, data=body, method="PUT", headers=headers)
            with self.opener.open(request, timeout=timeout) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
            try:
                e.read()
            except Exception:
                pass
            e.close()
        except Exception as e:
            error = "%s: %s" % (type(e).__name__, e)
        with self.lock:
            entry["status"] = status
            entry["error"] = error
        self.log_line("out PUT %s -> %s" % (full_url, status if status is not None else error))
        return status, error

    def notify_attach(self, tenant_id):
        """Send notify-attach for one tenant if its shard map changed since the last 2xx.

        Sent once (no retry loop).  A non-2xx answer marks the tenant's shards
        is_pending_compute_notification; the pending-retry thread and
        /debug/v1/reconcile_all send again.  Returns the hook status, or None if nothing
        was sent.
        """
        with self._send_lock(("attach", tenant_id)):
            with self.lock:
                url = self.config["control_plane_url"]
                token = self.config["control_plane_token"]
                timeout = self.config["hook_timeout"]
                tenant = self.tenants.get(tenant_id)
                if not url or tenant is None:
                    return None
                body = self._attach_body(tenant)
                if body is None or body == tenant["last_notified"]:
                    return None
            status, error = self._send_hook("notify-attach", body, url, token, timeout)
            ok = status is not None and 200 <= status < 300
            with self.lock:
                tenant = self.tenants.get(tenant_id)
                if tenant is not None:
                    tenant["last_notified"] = body if ok else None
                    for shard in tenant["shards"]:
                        shard["pending"] = not ok
            return status

    def notify_tenants(self, tenant_ids):
        for tenant_id in tenant_ids:
            self.notify_attach(tenant_id)

    def retry_pending(self):
        """Re-send notify-attach for tenants with a pending notification.  Returns the count."""
        with self.lock:
            pending = [t["id"] for t in self.tenants.values()
                       if any(s["pending"] for s in t["shards"])]
        for tenant_id in pending:
            self.notify_attach(tenant_id)
        return len(pending)

    def notify_safekeepers(self, tenant_id, timeline_id):
        """notify-safekeepers for the timeline's current membership (§1.3).

        Returns None on success, else the error text.  Skipped if this generation was already
        acknowledged (2xx or 423, §1.5).
        """
        with self._send_lock(("safekeepers", tenant_id, timeline_id)):
            with self.lock:
                url = self.config["control_plane_url"]
                token = self.config["control_plane_token"]
                timeout = self.config["hook_timeout"]
                tenant = self.tenants.get(tenant_id)
                timeline = tenant["timelines"].get(timeline_id) if tenant else None
                if not url or timeline is None:
                    return None
                generation = timeline["sk_generation"]
                if timeline["sk_notified_gen"] is not None and timeline["sk_notified_gen"] >= generation:
                    return None
                members = list(timeline["sk_set"])
                for sk_id in timeline["new_sk_set"] or []:
                    if sk_id not in members:
                        members.append(sk_id)
                body = json_bytes({
                    "tenant_id": tenant_id,
                    "timeline_id": timeline_id,
                    "generation": generation,
                    "safekeepers": [
                        {"id": sk_id,
                         "hostname": self.safekeepers[sk_id]["host"] if sk_id in self.safekeepers else None}
                        for sk_id in members],
                })
            status, error = self._send_hook("notify-safekeepers", body, url, token, timeout)
            with self.lock:
                if status is not None and (200 <= status < 300 or status == 423):
                    timeline["sk_notified_gen"] = generation
                else:
                    timeline["sk_notified_gen"] = None
            if status is not None and 200 <= status < 300:
                return None
            return notify_error_text(status, error)

    def pending_retry_loop(self):
        """Like storcon's 20 s background reconcile: retry pending notifications forever."""
        last = time.monotonic()
        while not self.stop_event.wait(0.5):
            with self.lock:
                interval = self.config["pending_retry_interval"]
            if not interval or interval <= 0:
                last = time.monotonic()
                continue
            if time.monotonic() - last >= interval:
                last = time.monotonic()
                try:
                    self.retry_pending()
                except Exception:
                    self.log_line("pending retry failed: " + traceback.format_exc())

    # =====================================================================================
    # Routes: health
    # =====================================================================================

    @route("GET", "/status")
    def h_status(self, req):
        return 200, None

    @route("GET", "/ready")
    def h_ready(self, req):
        return 200, None

    @route("GET", "/live")
    def h_live(self, req):
        return 200, None

    @route("GET", "/metrics")
    def h_metrics(self, req):
        with self.lock:
            text = ("# storcon_sim metrics\nstorcon_sim_nodes %d\nstorcon_sim_safekeepers %d\n"
                    "storcon_sim_tenants %d\n" % (len(self.nodes), len(self.safekeepers),
                                                  len(self.tenants)))
        return Reply(200, text.encode(), "text/plain; version=0.0.4")

    @route("GET", "/control/v1/leader")
    def h_leader(self, req):
        return 200, {"address": self.address + "/", "started_at": self.started_at}

    # =====================================================================================
    # Routes: pageserver nodes (§3.5)
    # =====================================================================================

    @route("POST", "/control/v1/node")
    def h_node_register(self, req):
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
        affected = []
        with self.lock:
            node = self._node_or_404(node_id)
            availability = body.get("availability")
            if availability is not None:
                was = node["availability"]
                node["availability"] = availability
                if availability == "Offline" and was != "Offline":
                    # storcon reschedules attachments away from an offline node.
                    affected = self._evacuate_node(node_id, detach_if_stuck=False,
                                                   drop_secondaries=False)
            if body.get("scheduling") is not None:
                node["scheduling"] = body["scheduling"]
        self.notify_tenants(affected)
        return 200, None

    @route("GET", "/control/v1/node/{node_id}/shards")
    def h_node_shards(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            self._node_or_404(node_id)
            shards = []
            for tenant_id in sorted(self.tenants):
                tenant = self.tenants[tenant_id]
                for shard in tenant["shards"]:
                    if shard["attached"] == node_id:
                        secondary = False
                    elif node_id in shard["secondaries"]:
                        secondary = True
                    else:
                        continue
                    # The sim's observed state always equals the intent.
                    shards.append({"tenant_shard_id": self._shard_text(tenant, shard),
                                   "is_observed_secondary": secondary,
                                   "is_intended_secondary": secondary})
            return 200, {"node_id": node_id, "shards": shards}

    @route("PUT", "/control/v1/node/{node_id}/drain")
    def h_node_drain(self, req):
        # The sim drains instantly: attachments move, then the node is PauseForRestart.
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            node = self._node_or_404(node_id)
            if node["availability"] != "Active":
                raise unavailable("Node %d is currently unavailable" % node_id)
            if not any(self._schedulable(n, exclude=(node_id,)) for n in self.nodes):
                raise precondition_failed("No other schedulable nodes to drain to")
            if node["scheduling"] == "Draining":
                raise conflict("Node %d has drain in progress" % node_id)
            if node["scheduling"] != "Active":
                raise precondition_failed("Node %d cannot be drained due to %s policy"
                                          % (node_id, node["scheduling"]))
            node["scheduling"] = "Draining"
            affected = self._evacuate_node(node_id, detach_if_stuck=False, drop_secondaries=False)
            node["scheduling"] = "PauseForRestart"
        self.notify_tenants(affected)
        return 202, None

    @route("DELETE", "/control/v1/node/{node_id}/drain")
    def h_node_drain_cancel(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            node = self._node_or_404(node_id)
            if node["availability"] != "Active":
                raise unavailable("Node %d is currently unavailable" % node_id)
            # Drains complete instantly, so there is never one to cancel.
            raise precondition_failed("Node %d has no drain in progress" % node_id)

    @route("PUT", "/control/v1/node/{node_id}/fill")
    def h_node_fill(self, req):
        # Sim deviation: storcon only fills an Active node (after the restart that resets
        # PauseForRestart); the sim has no restarts, so PauseForRestart is accepted too.
        node_id = self._param_u64(req, "node_id")
        affected = []
        with self.lock:
            node = self._node_or_404(node_id)
            if node["availability"] != "Active":
                raise unavailable("Node %d is currently unavailable" % node_id)
            if len(self.nodes) <= 1:
                raise precondition_failed("No other nodes to fill from")
            if node["scheduling"] == "Filling":
                raise conflict("Node %d has fill in progress" % node_id)
            if node["scheduling"] not in ("Active", "PauseForRestart"):
                raise precondition_failed("Node %d cannot be filled due to %s policy"
                                          % (node_id, node["scheduling"]))
            node["scheduling"] = "Active"
            # Promote secondaries on this node back to attached, up to a fair share.
            load = self._attached_load()
            schedulable = sum(1 for n in self.nodes if self._schedulable(n))
            fair_share = -(-sum(load.values()) // max(schedulable, 1))
            for tenant_id in sorted(self.tenants):
                tenant = self.tenants[tenant_id]
                for shard in tenant["shards"]:
                    if load.get(node_id, 0) >= fair_share:
                        break
                    if node_id in shard["secondaries"] and shard["attached"] not in (None, node_id):
                        old = shard["attached"]
                        self._move_attached(tenant, shard, node_id)
                        load[node_id] = load.get(node_id, 0) + 1
                        load[old] = load.get(old, 1) - 1
                        if tenant_id not in affected:
                            affected.append(tenant_id)
        self.notify_tenants(affected)
        return 202, None

    @route("DELETE", "/control/v1/node/{node_id}/fill")
    def h_node_fill_cancel(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            node = self._node_or_404(node_id)
            if node["availability"] != "Active":
                raise unavailable("Node %d is currently unavailable" % node_id)
            raise precondition_failed("Node %d has no fill in progress" % node_id)

    def _delete_node_locked(self, node_id):
        affected = self._evacuate_node(node_id, detach_if_stuck=True, drop_secondaries=True)
        self.tombstones[node_id] = dict(self.nodes.pop(node_id))
        for tenant in self.tenants.values():
            for shard in tenant["shards"]:
                if node_id in shard["secondaries"]:
                    shard["secondaries"].remove(node_id)
                    if tenant["id"] not in affected:
                        affected.append(tenant["id"])
        # Re-place secondaries lost with the node (best effort).
        load = self._attached_load()
        for tenant_id in affected:
            tenant = self.tenants[tenant_id]
            affinity = self._tenant_affinity(tenant)
            for shard in tenant["shards"]:
                if shard["attached"] is None:
                    continue
                try:
                    self._schedule_shard(tenant, shard, load, affinity)
                except ScheduleError:
                    pass
        return affected

    @route("PUT", "/control/v1/node/{node_id}/delete")
    def h_node_start_delete(self, req):
        # Completes instantly: shards move away, the node is removed and tombstoned.
        node_id = self._param_u64(req, "node_id")
        force = self._query_bool(req, "force")
        with self.lock:
            node = self._node_or_404(node_id)
            if not force and not any(self._schedulable(n, exclude=(node_id,)) for n in self.nodes):
                raise precondition_failed("No other schedulable nodes to move shards")
            if node["scheduling"] == "Deleting":
                raise conflict("Node %d has delete in progress" % node_id)
            if node["scheduling"] not in ("Active", "Pause"):
                raise precondition_failed("Node %d cannot be deleted due to %s policy"
                                          % (node_id, node["scheduling"]))
            affected = self._delete_node_locked(node_id)
        self.notify_tenants(affected)
        return 200, None

    @route("DELETE", "/control/v1/node/{node_id}/delete")
    def h_node_cancel_delete(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            self._node_or_404(node_id)
            raise precondition_failed("Node %d has no delete in progress" % node_id)

    @route("DELETE", "/control/v1/node/{node_id}")
    def h_node_delete_sync(self, req):
        node_id = self._param_u64(req, "node_id")
        with self.lock:
            self._node_or_404(node_id)
            affected = self._delete_node_locked(node_id)
        self.notify_tenants(affected)
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

    # =====================================================================================
    # Routes: safekeepers (§3.6)
    # =====================================================================================

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

    # =====================================================================================
    # Routes: tenants (§3.2, §3.3)
    # =====================================================================================

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
        with self.lock:
            existing = self.tenants.get(tenant_id)
            if existing is not None:
                if existing["count"] == params["count"]:
                    return 201, self._create_response(existing)   # idempotent retry
                raise conflict("Tenant %s already exists with shard count %d"
                               % (tenant_id, existing["count"]))
            tenant = self._new_tenant(tenant_id, params["count"], params["stripe_size"], policy, config)
            load = self._attached_load()
            tenant["preferred_az"] = self._choose_preferred_az(load)
            affinity = {}
            try:
                for number in range(max(params["count"], 1)):
                    shard = self._new_shard(number)
                    tenant["shards"].append(shard)
                    self._schedule_shard(tenant, shard, load, affinity)
            except ScheduleError as e:
                raise conflict("Failed to schedule shard(s): %s" % e)
            self.tenants[tenant_id] = tenant
            response = self._create_response(tenant)
        self.notify_attach(tenant_id)
        return 201, response

    @route("DELETE", "/v1/tenant/{tenant_id}")
    def h_tenant_delete(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        with self.lock:
            self._tenant_or_404(tenant_id)
            del self.tenants[tenant_id]
        return 200, None

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
        tenant_id = self._param_tenant_id(req)
        with self.lock:
            tenant = self.tenants.get(tenant_id)
            if tenant is None:
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
            self.tenants.pop(tenant_id, None)
        return 200, None

    @route("POST", "/debug/v1/reconcile_all")
    def h_reconcile_all(self, req):
        # In the sim the only thing a reconcile can retry is a pending compute notification.
        return 200, self.retry_pending()

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
        with self.lock:
            tenant = self._tenant_or_404(tenant_id)
            tenant["config"] = {k: v for k, v in body.items()
                                if k in TENANT_CONFIG_FIELDS and v is not None}
        return 200, None

    @route("PATCH", "/v1/tenant/config")
    def h_tenant_config_patch(self, req):
        body = parse_json_body(req.body, TENANT_CONFIG_REQUEST)
        tenant_id = body["tenant_id"]
        with self.lock:
            tenant = self._tenant_or_404(tenant_id)
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
        notify = False
        with self.lock:
            tenant = self._tenant_or_404(tenant_id)
            placement = body.get("placement")
            scheduling = body.get("scheduling")
            if placement is not None:
                tenant["policy"] = placement
                if not policy_is_attached(placement) and scheduling is None:
                    scheduling = "Active"
                load = self._attached_load()
                affinity = self._tenant_affinity(tenant)
                for shard in tenant["shards"]:
                    try:
                        notify |= self._schedule_shard(tenant, shard, load, affinity)
                    except ScheduleError:
                        pass   # storcon keeps the policy and retries in the background
            if scheduling is not None:
                tenant["scheduling"] = scheduling
        if notify:
            self.notify_attach(tenant_id)
        return 200, None

    @route("PUT", "/control/v1/preferred_azs")
    def h_preferred_azs(self, req):
        body = parse_json_body(req.body, PREFERRED_AZS_REQUEST)
        if not isinstance(body, dict):
            raise bad_request("Failed to parse json request: "
                              + type_error("", body, "a map").text())
        updated = []
        with self.lock:
            for key, az in body.items():
                parsed = parse_tenant_shard_id(key)
                if parsed is None:
                    raise bad_request("Failed to parse json request: invalid tenant shard id `%s`" % key)
                if az is not None and not isinstance(az, str):
                    raise bad_request("Failed to parse json request: %s"
                                      % type_error(key, az, "a string").text())
                tenant, shard = self._find_shard(*parsed)
                if tenant is None:
                    continue
                # The sim keeps one preferred AZ per tenant.
                if tenant["preferred_az"] != az:
                    tenant["preferred_az"] = az
                    updated.append(key)
        return 200, {"updated": updated}

    @route("PUT", "/control/v1/tenant/{tenant_id}/shard_split")
    def h_tenant_split(self, req):
        tenant_id = self._param_tenant_id(req)
        body = parse_json_body(req.body, TENANT_SHARD_SPLIT_REQUEST)
        new_count = body["new_shard_count"]
        new_stripe = body.get("new_stripe_size")
        with self.lock:
            tenant = self._tenant_or_404(tenant_id)
            old_count = max(tenant["count"], 1)
            if new_count == old_count or new_count == tenant["count"]:
                # A retry after success: report the existing shards.
                return 200, {"new_shards": [self._shard_text(tenant, s) for s in tenant["shards"]]}
            if new_count < old_count:
                raise bad_request("Requested count %d but already have shards at count %d"
                                  % (new_count, old_count))
            if not policy_is_attached(tenant["policy"]) or any(s["attached"] is None for s in tenant["shards"]):
                raise bad_request("Cannot split a tenant that is not attached")
            if new_stripe is not None and new_stripe != tenant["stripe_size"] and old_count > 1:
                raise bad_request("Attempted to change stripe size (%d->%d) on a tenant with multiple shards"
                                  % (tenant["stripe_size"], new_stripe))
            factor = new_count // old_count
            if new_count % old_count != 0 or factor & (factor - 1) != 0:
                # Sim text: the pageserver requires a power-of-two growth factor.
                raise bad_request("Requested split %d->%d is not a power-of-two multiple of the shard count"
                                  % (old_count, new_count))
            children = []
            new_ids = []
            for parent in tenant["shards"]:
                for number in range(new_count):
                    if number % old_count != parent["number"]:
                        continue
                    # Children start on their parent's pageservers with its generation.
                    child = {"number": number, "attached": parent["attached"],
                             "secondaries": list(parent["secondaries"]),
                             "generation": parent["generation"], "pending": False}
                    children.append(child)
                    new_ids.append(shard_id_text(tenant_id, number, new_count))
            tenant["shards"] = sorted(children, key=lambda s: s["number"])
            tenant["count"] = new_count
            if new_stripe is not None:
                tenant["stripe_size"] = new_stripe
        self.notify_attach(tenant_id)   # one body with the new count (§1.6)
        return 200, {"new_shards": new_ids}

    @route("PUT", "/control/v1/tenant/{tenant_shard_id}/migrate")
    def h_shard_migrate(self, req):
        tenant_id, number, count = self._param_tenant_shard_id(req)
        body = parse_json_body(req.body, TENANT_SHARD_MIGRATE_REQUEST)
        config = body.get("migration_config") or {}
        override = config.get("override_scheduler", False)
        target_id = body["node_id"]
        with self.lock:
            target = self.nodes.get(target_id)
            if target is None:
                raise bad_request("Node %d not found" % target_id)
            if target["availability"] != "Active" and not override:
                raise precondition_failed("Node %d is unavailable" % target_id)
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
                return 200, {}
            self._move_attached(tenant, shard, target_id)
        self.notify_attach(tenant_id)
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
        tenant_id, number, count = self._param_tenant_shard_id(req)
        with self.lock:
            tenant, shard = self._find_shard(tenant_id, number, count)
            if shard is None:
                raise not_found("Tenant shard not found")
        return 200, None

    # =====================================================================================
    # Routes: timelines (§3.4)
    # =====================================================================================

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
            "state": "Active",
            "walreceiver_status": "",
            "is_archived": False,
        }

    def _safekeepers_info(self, tenant_id, timeline):
        if timeline["sk_set"] is None:
            return None
        return {
            "tenant_id": tenant_id,
            "timeline_id": timeline["id"],
            "generation": timeline["sk_generation"],
            "safekeepers": [{"id": sk_id,
                             "hostname": self.safekeepers[sk_id]["host"] if sk_id in self.safekeepers else None}
                            for sk_id in timeline["sk_set"]],
        }

    def _pick_safekeepers(self):
        """Active safekeepers in distinct AZs, least loaded first (ties: lowest id)."""
        active = [sk for sk in self.safekeepers.values() if sk["scheduling_policy"] == "Active"]
        load = {}
        for tenant in self.tenants.values():
            for timeline in tenant["timelines"].values():
                for sk_id in (timeline["sk_set"] or []) + (timeline["new_sk_set"] or []):
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

    @route("POST", "/v1/tenant/{tenant_id}/timeline")
    def h_timeline_create(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        body = parse_json_body(req.body, TIMELINE_CREATE_REQUEST)
        pg_version = body.get("pg_version")
        if pg_version is not None and not 14 <= pg_version <= 17:
            raise bad_request("Failed to parse json request: pg_version: invalid value: integer `%d`, "
                              "expected a supported PostgreSQL major version (14..=17)" % pg_version)
        timeline_id = body["new_timeline_id"]
        ancestor_id = body.get("ancestor_timeline_id")
        with self.lock:
            tenant = self._tenant_or_404(tenant_id, "Tenant not found")
            if not tenant["shards"] or any(s["attached"] is None for s in tenant["shards"]):
                raise unavailable("Tenant %s is not attached" % tenant_id)
            existing = tenant["timelines"].get(timeline_id)
            if existing is not None:
                same = (existing["ancestor_timeline_id"] == ancestor_id
                        and (pg_version is None or pg_version == existing["pg_version"])
                        and (body.get("ancestor_start_lsn") is None
                             or body["ancestor_start_lsn"] == existing["ancestor_lsn"]))
                if not same:
                    raise conflict("Timeline %s/%s already exists with different parameters"
                                   % (tenant_id, timeline_id))
                info = self._timeline_info(tenant, existing)
                info["safekeepers"] = self._safekeepers_info(tenant_id, existing)
                return 201, info
            if ancestor_id is not None:
                ancestor = tenant["timelines"].get(ancestor_id)
                if ancestor is None:
                    raise not_found("Ancestor timeline %s not found" % ancestor_id)
                ancestor_lsn = body.get("ancestor_start_lsn") or ancestor["last_record_lsn"]
                last_lsn, version, initdb = ancestor_lsn, ancestor["pg_version"], ancestor["initdb_lsn"]
            else:
                ancestor_lsn, last_lsn, initdb = None, BOOTSTRAP_LSN, BOOTSTRAP_LSN
                version = pg_version or DEFAULT_PG_VERSION
            sk_set = None
            if self.config["timelines_onto_safekeepers"]:
                sk_set = [] if body.get("read_only") else self._pick_safekeepers()
            timeline = {
                "id": timeline_id,
                "ancestor_timeline_id": ancestor_id,
                "ancestor_lsn": ancestor_lsn,
                "last_record_lsn": last_lsn,
                "initdb_lsn": initdb,
                "pg_version": version,
                "sk_generation": 1,
                "sk_set": sk_set,            # None when not managed by storcon
                "new_sk_set": None,
                "sk_notified_gen": None,
            }
            tenant["timelines"][timeline_id] = timeline
            info = self._timeline_info(tenant, timeline)
            info["safekeepers"] = self._safekeepers_info(tenant_id, timeline)
        return 201, info

    @route("GET", "/v1/tenant/{tenant_id}/timeline")
    def h_timeline_list(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        with self.lock:
            tenant = self._tenant_or_404(tenant_id, "Tenant not found")
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
            return 200, self._timeline_info(tenant, self._timeline_or_404(tenant, tenant_id, timeline_id))

    @route("GET", "/control/v1/tenant/{tenant_id}/timeline/{timeline_id}")
    def h_timeline_describe(self, req):
        tenant_id = self._param_tenant_id(req)
        timeline_id = self._param_timeline_id(req)
        with self.lock:
            tenant = self._tenant_or_404(tenant_id)
            timeline = self._timeline_or_404(tenant, tenant_id, timeline_id)
            return 200, {"shards": [self._timeline_info(tenant, timeline, s) for s in tenant["shards"]]}

    @route("DELETE", "/v1/tenant/{tenant_id}/timeline/{timeline_id}")
    def h_timeline_delete(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        with self.lock:
            tenant = self._tenant_or_404(tenant_id, "Tenant not found")
            children = [tl["id"] for tl in tenant["timelines"].values()
                        if tl["ancestor_timeline_id"] == timeline_id]
            if children:
                raise precondition_failed("Cannot delete timeline which has child timelines: %s"
                                          % ", ".join(children))
            tenant["timelines"].pop(timeline_id, None)    # deleting a missing timeline is "done"
        return 200, None

    def _sk_timeline_or_404(self, tenant_id, timeline_id):
        tenant = self.tenants.get(tenant_id)
        timeline = tenant["timelines"].get(timeline_id) if tenant else None
        if timeline is None or timeline["sk_set"] is None:
            raise not_found("timeline %s/%s doesn't exist in timelines table" % (tenant_id, timeline_id))
        return timeline

    @route("GET", "/debug/v1/tenant/{tenant_id}/timeline/{timeline_id}/locate")
    def h_timeline_locate(self, req):
        tenant_id = self._param_tenant_id(req)
        timeline_id = self._param_timeline_id(req)
        with self.lock:
            timeline = self._sk_timeline_or_404(tenant_id, timeline_id)
            return 200, {"generation": timeline["sk_generation"], "sk_set": list(timeline["sk_set"]),
                         "new_sk_set": list(timeline["new_sk_set"]) if timeline["new_sk_set"] is not None else None}

    @route("POST", "/v1/tenant/{tenant_id}/timeline/{timeline_id}/safekeeper_migrate")
    def h_timeline_sk_migrate(self, req):
        """Instant migration: joint config (generation + 1, old ∪ new) is notified, then the
        final config (generation + 2, new set).  A failed notification leaves the timeline in
        that step; calling migrate again with the same set resumes (re-sends)."""
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        body = parse_json_body(req.body, SAFEKEEPER_MIGRATE_REQUEST)
        new_set = body["new_sk_set"]
        if not new_set:
            raise bad_request("new safekeeper set is empty")
        if len(set(new_set)) != len(new_set):
            raise bad_request("new safekeeper set has duplicate ids")
        if len(new_set) < TIMELINE_SAFEKEEPER_COUNT:
            raise bad_request("new safekeeper set must have at least %d safekeepers"
                              % TIMELINE_SAFEKEEPER_COUNT)
        with self.lock:
            for sk_id in new_set:
                sk = self.safekeepers.get(sk_id)
                if sk is None:
                    raise bad_request("safekeeper %d does not exist" % sk_id)
                if sk["scheduling_policy"] == "Decomissioned":
                    raise bad_request("safekeeper %d is decomissioned" % sk_id)
            timeline = self._sk_timeline_or_404(tenant_id, timeline_id)
            if timeline["new_sk_set"] is not None:
                if set(timeline["new_sk_set"]) != set(new_set):
                    raise conflict("the timeline is already migrating to a different safekeeper set: %s"
                                   % timeline["new_sk_set"])
                joint_needed = True
            elif set(timeline["sk_set"]) == set(new_set):
                joint_needed = False      # nothing to move; maybe re-send the current config
            else:
                timeline["sk_generation"] += 1
                timeline["new_sk_set"] = list(new_set)
                joint_needed = True
        if joint_needed:
            error = self.notify_safekeepers(tenant_id, timeline_id)
            if error:
                raise internal_error("failed to notify cplane about safekeeper membership change: " + error)
            with self.lock:
                timeline["sk_generation"] += 1
                timeline["sk_set"] = list(new_set)
                timeline["new_sk_set"] = None
        error = self.notify_safekeepers(tenant_id, timeline_id)
        if error:
            raise internal_error("failed to notify cplane about safekeeper membership change: " + error)
        return 200, None

    @route("POST", "/v1/tenant/{tenant_id}/timeline/{timeline_id}/safekeeper_migrate_abort")
    def h_timeline_sk_migrate_abort(self, req):
        tenant_id = self._param_tenant_id(req, allow_shard=True)
        timeline_id = self._param_timeline_id(req)
        with self.lock:
            timeline = self._sk_timeline_or_404(tenant_id, timeline_id)
            if timeline["new_sk_set"] is None:
                return 200, None
            timeline["sk_generation"] += 1
            timeline["new_sk_set"] = None
        error = self.notify_safekeepers(tenant_id, timeline_id)
        if error:
            raise internal_error("failed to notify cplane about safekeeper membership change: " + error)
        return 200, None

    # =====================================================================================
    # Test knobs under /__sim/ (no auth, not in the request log, never faulted)
    # =====================================================================================

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
            with self.lock:
                for key, v in value.items():
                    if key not in self.config:
                        raise bad_request("unknown config key %s" % key)
                    self.config[key] = v
                    if key in ("control_plane_url", "control_plane_token"):
                        # A different hook is like a storcon restart: forget what was acked.
                        self._forget_notifications_locked()
                return 200, dict(self.config)
        if name == "heartbeat" and method == "POST":
            with self.lock:
                activated = []
                for sk in self.safekeepers.values():
                    if sk["scheduling_policy"] == "Activating":
                        sk["scheduling_policy"] = "Active"
                        activated.append(sk["id"])
            return 200, {"activated": activated}
        if name == "restart" and method == "POST":
            # Like a storcon restart: hook memory is lost and every attached tenant is
            # notified again (§1.5).
            with self.lock:
                self._forget_notifications_locked()
                tenant_ids = sorted(self.tenants)
            self.notify_tenants(tenant_ids)
            return 200, {"notified": len(tenant_ids)}
        m = re.match(r"^node/(\d+)/restart$", name)
        if m and method == "POST":
            # Like a pageserver restart + re-attach: transient scheduling states reset.
            node_id = int(m.group(1))
            with self.lock:
                node = self._node_or_404(node_id)
                node["availability"] = "Active"
                if node["scheduling"] in ("PauseForRestart", "Draining", "Filling", "Deleting"):
                    node["scheduling"] = "Active"
                return 200, dict(node)
        if name == "state" and method == "GET":
            with self.lock:
                return 200, self._state_dump_locked()
        raise not_found("unknown sim knob %s %s" % (method, name))

    def _forget_notifications_locked(self):
        for tenant in self.tenants.values():
            tenant["last_notified"] = None
            for timeline in tenant["timelines"].values():
                timeline["sk_notified_gen"] = None

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
            t = dict(tenant)
            t["last_notified"] = tenant["last_notified"].decode() if tenant["last_notified"] else None
            t["shards"] = [dict(s, tenant_shard_id=self._shard_text(tenant, s)) for s in tenant["shards"]]
            t["timelines"] = {k: dict(v) for k, v in tenant["timelines"].items()}
            tenants[tenant_id] = t
        return {
            "address": self.address,
            "started_at": self.started_at,
            "config": dict(self.config),
            "nodes": [dict(self.nodes[i]) for i in sorted(self.nodes)],
            "tombstones": [dict(self.tombstones[i]) for i in sorted(self.tombstones)],
            "safekeepers": [dict(self.safekeepers[i]) for i in sorted(self.safekeepers)],
            "tenants": tenants,
            "faults": [self._fault_view(f) for f in self.faults],
            "request_count": len(self.requests),
        }


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive; every response has a Content-Length
    server_version = "storcon_sim"

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):
        self.server.sim.log_line("http %s - %s" % (self.address_string(), format % args))

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, status, payload, content_type):
        try:
            self.send_response(status)
            if status not in (204, 304):
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-request-id", self.headers.get("x-request-id") or str(uuid.uuid4()))
            self.end_headers()
            if status not in (204, 304) and self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _serve(self):
        sim = self.server.sim
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._write(400, json_bytes({"msg": "Failed to read request body"}), "application/json")
            return
        split = urllib.parse.urlsplit(self.path)
        path, query = split.path, split.query
        if path.startswith("/__sim/"):
            self._write(*sim.handle_knob(self.command, path, body))
            return
        entry = sim.log_incoming(self.command, path, query, body, self.headers.get("Authorization"))
        reply = None
        fault = sim.take_fault(self.command, path)
        if fault is not None:
            if fault["delay_ms"]:
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault["hang"]:
                fault["release"].wait(60)
                sim.finish_incoming(entry, None)
                self.close_connection = True      # close without ever answering
                return
            if fault["garbage"]:
                reply = (200, b"<html>storcon_sim: this is not JSON", "application/json")
            elif fault["status"] is not None:
                reply = (fault["status"], fault["body"].encode("utf-8"), "application/json")
        if reply is None:
            reply = sim.dispatch(self.command, path, query, self.headers, body)
        sim.finish_incoming(entry, reply[0])
        self._write(*reply)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve
    do_HEAD = _serve


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, sim):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self.sim = sim


def parse_args(argv):
    p = argparse.ArgumentParser(description="In-memory simulator of Neon's storage controller HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the chosen port here (atomically)")
    p.add_argument("--control-plane-url", help="compute hook base URL (notify-attach / notify-safekeepers)")
    p.add_argument("--control-plane-token", help="sent to the hook as 'Authorization: Bearer <token>'")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on storcon routes")
    p.add_argument("--seed-nodes", type=int, default=0, metavar="N")
    p.add_argument("--seed-safekeepers", type=int, default=0, metavar="N")
    p.add_argument("--log-file", help="append a line per request / hook call here")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM) ...")
    p.add_argument("--tls-key", help="... and this private key (PEM)")
    p.add_argument("--control-plane-ca-file", help="CA (PEM) trusted for an https:// compute hook")
    p.add_argument("--pending-retry-interval", type=float, default=20.0, metavar="SECONDS",
                   help="retry pending compute notifications this often (storcon: 20 s; 0 = never)")
    p.add_argument("--auto-activate-safekeepers", action="store_true",
                   help="new safekeepers start Active instead of Activating")
    p.add_argument("--no-timelines-onto-safekeepers", action="store_true",
                   help="like storcon without --timelines-onto-safekeepers: timeline create "
                        "returns \"safekeepers\": null")
    p.add_argument("--rust-debug-400", action="store_true",
                   help="render 400 messages the way storcon really does ({:#?} of an anyhow "
                        "message: the text in double quotes, Rust-escaped)")
    return p.parse_args(argv)


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    stop_requested = threading.Event()
    server = None

    def stop(signum, frame):
        # serve_forever() must be stopped from another thread.
        stop_requested.set()
        if server is not None:
            threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sim = Sim(args)
    server = Server((args.host, args.port), Handler, sim)
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    port = server.server_address[1]
    sim.address = "%s://%s:%d" % (scheme, args.host, port)
    if args.port_file:
        write_port_file(args.port_file, port)
    print("storcon_sim listening on %s://%s:%d" % (scheme, args.host, port), flush=True)

    threading.Thread(target=sim.pending_retry_loop, daemon=True).start()
    try:
        if not stop_requested.is_set():
            server.serve_forever(poll_interval=0.2)
    finally:
        sim.stop_event.set()
        with sim.lock:
            sim._release_faults_locked()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
