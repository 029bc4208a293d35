"""Strict, serde-like parsing of request bodies and identifiers (contract §3, §5).

Why this file exists: storcon rejects bad input with serde's wording ("unknown field `x`",
"invalid type: ...", "missing field `y`"), and the product turns those texts into SQL errors.
Each parser here is a function (value, path) -> python value that raises FieldError with a text
shaped like serde's; the path prefix follows serde_path_to_error ("a.b[2]: ...").  serde_json's
" at line L column C" suffix is not reproduced.  The request structs of every route live at the
bottom, next to the identifier helpers.
"""

import datetime
import json
import re

from .errors import bad_request

DEFAULT_STRIPE_SIZE = 2048           # pages of 8 KiB (contract §5)

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

# migration_config is #[serde(default)] but not an Option: null is refused.
TENANT_SHARD_MIGRATE_REQUEST = struct("TenantShardMigrateRequest", [
    ("node_id", int_of("u64"), True),
    ("origin_node_id", optional(int_of("u64")), False),
    ("migration_config", MIGRATION_CONFIG, False),
])

# TimelineCreateRequest: new_timeline_id + a flattened #[serde(untagged)] mode (models.rs).  serde
# tries Branch (needs ancestor_timeline_id), then ImportPgdata (needs a valid import_pgdata), then
# Bootstrap (all optional, unknown fields ignored); see parse_timeline_create().
TIMELINE_CREATE_ID = struct("TimelineCreateRequest", [
    ("new_timeline_id", hex_id("timeline id"), True),
])

def pg_major_version(v, path):
    v = int_of("u32")(v, path)
    if not 14 <= v <= 17:
        raise FieldError(path, "invalid value: integer `%d`, expected a supported PostgreSQL major "
                               "version (14..=17)" % v)
    return v


TIMELINE_CREATE_BRANCH = struct("Branch", [
    ("ancestor_timeline_id", hex_id("timeline id"), True),
    ("ancestor_start_lsn", optional(lsn_field), False),
    ("pg_version", optional(pg_major_version), False),
    ("read_only", boolean, False),
])

IMPORT_PGDATA_LOCATION_S3 = struct("AwsS3", [
    ("region", string, True),
    ("bucket", string, True),
    ("key", string, True),
])


def import_pgdata_location(v, path):
    """ImportPgdataLocation: {"AwsS3": {...}} (LocalFs exists only in testing builds)."""
    if isinstance(v, dict) and len(v) == 1:
        (key, inner), = v.items()
        if key == "AwsS3":
            return {"AwsS3": IMPORT_PGDATA_LOCATION_S3(inner, sub_path(path, key))}
        raise FieldError(path, "unknown variant `%s`, expected `AwsS3`" % key)
    raise type_error(path, v, "enum ImportPgdataLocation")


IMPORT_PGDATA = struct("TimelineCreateRequestModeImportPgdata", [
    ("location", import_pgdata_location, True),
    ("idempotency_key", string, True),
])

TIMELINE_CREATE_IMPORT = struct("ImportPgdata", [
    ("import_pgdata", IMPORT_PGDATA, True),
])

TIMELINE_CREATE_BOOTSTRAP = struct("Bootstrap", [
    ("existing_initdb_timeline_id", optional(hex_id("timeline id")), False),
    ("pg_version", optional(pg_major_version), False),
])


def parse_timeline_create(body):
    """Returns (mode, fields): mode is "branch", "import" or "bootstrap"."""
    head = parse_json_body(body, TIMELINE_CREATE_ID)
    value = decode_json(body)
    for mode, parser in (("branch", TIMELINE_CREATE_BRANCH), ("import", TIMELINE_CREATE_IMPORT),
                         ("bootstrap", TIMELINE_CREATE_BOOTSTRAP)):
        try:
            fields = parser(value, "")
        except FieldError:
            continue
        fields["new_timeline_id"] = head["new_timeline_id"]
        return mode, fields
    raise bad_request("Failed to parse json request: data did not match any variant of untagged "
                      "enum TimelineCreateRequestMode")


SAFEKEEPER_MIGRATE_REQUEST = struct("TimelineSafekeeperMigrateRequest", [
    ("new_sk_set", list_of(int_of("u64")), True),
])

TIMELINE_IMPORT_REQUEST = struct("TimelineImportRequest", [
    ("tenant_id", hex_id("tenant id"), True),
    ("timeline_id", hex_id("timeline id"), True),
    ("start_lsn", lsn_field, True),
    ("sk_set", list_of(int_of("u64")), True),
    ("force_upsert", boolean, True),
])

TIMELINE_ARCHIVAL_CONFIG_REQUEST = struct("TimelineArchivalConfigRequest", [
    ("state", enum_of("TimelineArchivalState", ["Archived", "Unarchived"]), True),
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



def policy_debug(policy):
    """PlacementPolicy's {:?}: Attached(1), Secondary, Detached."""
    return "Attached(%d)" % policy["Attached"] if isinstance(policy, dict) else policy
