"""A small model of what Neon's compute_ctl derives from its config file at start.

Why this file exists: pg_storcon_spec (and the hook) rewrite compute_ctl's config file so that the
next compute start uses storcon's current placement. The tests must check what compute_ctl would
DO with the file, not what the file looks like: which pageserver the basebackup comes from, which
postgresql.conf lines it writes and which of them win, in what order the neon settings take effect,
which safekeepers compute_ctl itself talks to. This module mirrors neondatabase/neon (read at
6a35a3e, 2026-03-25):

- compute_tools/src/bin/compute_ctl.rs, get_config: the --config file is a ComputeConfig
  {"spec": ..., "compute_ctl_config": ...} (libs/compute_api/src/responses.rs); older setups pass a
  bare ComputeSpec (libs/compute_api/src/spec.rs), which the model accepts too.
- compute_tools/src/compute.rs, ParsedSpec::try_from + ParsedSpec::validate: tenant, timeline,
  pageserver_connection_info (else from spec.pageserver_connstring + shard_stripe_size, else from
  the neon.pageserver_connstring / neon.stripe_size settings entries), safekeeper_connstrings (else
  the neon.safekeepers entry split at ','); try_get_basebackup: shard 0's URL for prefer_protocol.
- libs/compute_api/src/spec.rs, PageserverConnectionInfo::from_connstr and shard_url.
- compute_tools/src/pg_helpers.rs: GenericOptionsSearch::find (the FIRST entry of a name, compared
  exactly), GenericOption::to_pg_setting (quoted only for vartype "string"), escape_conf_value.
- compute_tools/src/config.rs, write_postgres_conf: postgresql_conf as is, then the storage lines
  from the spec fields, then every cluster.settings entry at the end.

Lines compute_ctl writes that carry no storage meaning (locales, TLS, audit, compute_mode,
privileged_role_name) are left out. PostgreSQL then reads the file in order; the last line of a
name wins (names compare case-insensitively), and settings take effect in the order of their
winning lines. Standard library only.
"""
import json
import re

HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")


class ComputeCtlError(Exception):
    """compute_ctl would refuse this config (the message says where, like compute_ctl's error)."""


def _no_duplicate_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ComputeCtlError("duplicate field `%s`" % k)   # serde refuses duplicate fields
        out[k] = v
    return out


def loads(text):
    return json.loads(text, object_pairs_hook=_no_duplicate_keys)


def load(path):
    with open(path, encoding="utf-8") as f:
        return loads(f.read())


def spec_of(config):
    """The ComputeSpec of a ComputeConfig, or the config itself when it is a bare spec."""
    if not isinstance(config, dict):
        raise ComputeCtlError("config is not a JSON object")
    if "spec" in config or "compute_ctl_config" in config:
        if "compute_ctl_config" not in config:
            raise ComputeCtlError("missing field `compute_ctl_config`")
        if "jwks" not in config["compute_ctl_config"]:
            raise ComputeCtlError("missing field `jwks`")
        spec = config.get("spec")
        if spec is None:
            raise ComputeCtlError("no spec: compute_ctl waits for a control plane")
    else:
        spec = config
    for field in ("format_version", "cluster", "suspend_timeout_seconds"):
        if field not in spec:
            raise ComputeCtlError("missing field `%s`" % field)
    for field in ("roles", "databases"):
        if field not in spec["cluster"]:
            raise ComputeCtlError("missing field `%s`" % field)
    for opt in spec["cluster"].get("settings") or []:
        if "name" not in opt or "vartype" not in opt:
            raise ComputeCtlError("settings entry without name or vartype: %r" % (opt,))
    return spec


def settings_find(spec, name):
    """pg_helpers.rs GenericOptionsSearch::find: the first entry named exactly `name`."""
    for opt in spec["cluster"].get("settings") or []:
        if opt["name"] == name:
            return opt.get("value")
    return None


def shard_key(number, count):
    return "%02x%02x" % (number, count)


def conninfo_from_connstr(connstr, stripe_size):
    """spec.rs PageserverConnectionInfo::from_connstr."""
    urls = connstr.split(",")
    if len(urls) == 1:
        return {"shard_count": 0, "stripe_size": None, "prefer_protocol": "libpq",
                "shards": {"0000": {"pageservers": [{"id": None, "libpq_url": urls[0], "grpc_url": None}]}}}
    if stripe_size is None:
        raise ComputeCtlError("%d shards but no stripe_size" % len(urls))
    if len(urls) > 255:
        raise ComputeCtlError("too many shards")
    n = len(urls)
    return {"shard_count": n, "stripe_size": stripe_size, "prefer_protocol": "libpq",
            "shards": {shard_key(i, n): {"pageservers": [{"id": None, "libpq_url": u, "grpc_url": None}]}
                       for i, u in enumerate(urls)}}


def _u32(text, what):
    if not isinstance(text, str) or not re.match(r"^\+?[0-9]+$", text) or int(text) > 0xFFFFFFFF:
        raise ComputeCtlError("invalid %s %r" % (what, text))
    return int(text)


def _id(text, what):
    if not isinstance(text, str) or not HEX32.match(text):
        raise ComputeCtlError("invalid %s %r" % (what, text))
    return text.lower()


def is_primary(spec):
    mode = spec.get("mode", "Primary")
    return mode is None or mode == "Primary"


def parsed_spec(spec):
    """compute.rs ParsedSpec::try_from, then ParsedSpec::validate."""
    conninfo = spec.get("pageserver_connection_info")
    if conninfo is None and spec.get("pageserver_connstring") is not None:
        conninfo = conninfo_from_connstr(spec["pageserver_connstring"], spec.get("shard_stripe_size"))
    if conninfo is None:
        guc = settings_find(spec, "neon.pageserver_connstring")
        if guc is not None:
            stripe = settings_find(spec, "neon.stripe_size")
            conninfo = conninfo_from_connstr(guc, _u32(stripe, "stripe size") if stripe is not None else None)
    if conninfo is None:
        raise ComputeCtlError("pageserver connection information should be provided")

    if spec.get("safekeeper_connstrings"):
        safekeepers = list(spec["safekeeper_connstrings"])
    elif is_primary(spec):
        value = settings_find(spec, "neon.safekeepers")
        if value is None:
            raise ComputeCtlError("safekeeper connstrings should be provided")
        safekeepers = value.split(",")
    else:
        safekeepers = []

    tenant = spec.get("tenant_id")
    if tenant is None:
        tenant = settings_find(spec, "neon.tenant_id")
        if tenant is None:
            raise ComputeCtlError("tenant id should be provided")
    timeline = spec.get("timeline_id")
    if timeline is None:
        timeline = settings_find(spec, "neon.timeline_id")
        if timeline is None:
            raise ComputeCtlError("timeline id should be provided")

    if is_primary(spec):
        if not safekeepers:
            raise ComputeCtlError("safekeeper_connstrings is empty")
        if len(set(safekeepers)) != len(safekeepers):
            raise ComputeCtlError("duplicate entry in safekeeper_connstrings")
    return {"tenant_id": _id(tenant, "tenant id"), "timeline_id": _id(timeline, "timeline id"),
            "conninfo": conninfo, "safekeepers": safekeepers}


def shard_url(conninfo, number, protocol):
    """spec.rs PageserverConnectionInfo::shard_url."""
    key = shard_key(number, conninfo["shard_count"])
    shard = (conninfo.get("shards") or {}).get(key)
    if shard is None:
        raise ComputeCtlError("shard connection info missing for shard %s" % key)
    if not shard.get("pageservers"):
        raise ComputeCtlError("must have at least one pageserver")
    url = shard["pageservers"][0].get("grpc_url" if protocol == "grpc" else "libpq_url")
    if url is None:
        raise ComputeCtlError("no %s_url for shard %s" % (protocol, key))
    return url


def escape_conf_value(s):
    """pg_helpers.rs escape_conf_value."""
    return "'" + s.replace("'", "''").replace("\\", "\\\\") + "'"


def conf_text_settings(text):
    """(name, value) of the setting lines of postgresql.conf text (enough for the tests' files)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_.$-]*)\s*=?\s*('(?:[^'\\]|''|\\.)*'|[^\s#]*)", line)
        if not m or m.group(1).lower() == "include":
            continue
        value = m.group(2)
        if value.startswith("'"):
            value = re.sub(r"''|\\(.)", lambda g: "'" if g.group(0) == "''" else g.group(1), value[1:-1])
        out.append((m.group(1), value))
    return out


def conf_lines(spec):
    """The (name, value, text) lines write_postgres_conf writes that matter here, in order."""
    lines = []

    def add(name, value, quoted=True):
        lines.append((name, value, "%s=%s" % (name, escape_conf_value(value) if quoted else value)))

    conf = spec["cluster"].get("postgresql_conf")
    if conf is not None:
        for name, value in conf_text_settings(conf):
            lines.append((name, value, "%s=%s" % (name, value)))
    conninfo = spec.get("pageserver_connection_info")
    if conninfo is not None:
        if conninfo.get("stripe_size") is not None:
            add("neon.stripe_size", str(conninfo["stripe_size"]), quoted=False)
        urls = []
        for number in range(max(conninfo["shard_count"], 1)):
            key = shard_key(number, conninfo["shard_count"])
            shard = conninfo["shards"].get(key)
            if shard is None:
                raise ComputeCtlError("shard %s missing from pageserver_connection_info shard map" % key)
            if not shard.get("pageservers"):
                raise ComputeCtlError("must have at least one pageserver")   # a panic in config.rs
            url = shard["pageservers"][0].get("libpq_url")
            urls = None if urls is None or url is None else urls + [url]
        if urls is not None:
            add("neon.pageserver_connstring", ",".join(urls))
    else:
        if spec.get("shard_stripe_size") is not None:
            add("neon.stripe_size", str(spec["shard_stripe_size"]), quoted=False)
        if spec.get("pageserver_connstring") is not None:
            add("neon.pageserver_connstring", spec["pageserver_connstring"])
    if spec.get("safekeeper_connstrings"):
        prefix = "g#%d:" % spec["safekeepers_generation"] if spec.get("safekeepers_generation") is not None else ""
        add("neon.safekeepers", prefix + ",".join(spec["safekeeper_connstrings"]))
    for field in ("tenant_id", "timeline_id"):
        if spec.get(field) is not None:
            add("neon." + field, spec[field])
    for opt in spec["cluster"].get("settings") or []:
        value = opt.get("value")
        if value is None:
            lines.append((opt["name"], None, opt["name"]))
        else:
            add(opt["name"], value, quoted=opt["vartype"] == "string")
    return lines


def winning(lines):
    """{lower-case name: (index of the winning line, value)}: the last line of a name wins."""
    out = {}
    for i, (name, value, _) in enumerate(lines):
        out[name.lower()] = (i, value)
    return out


class Derived:
    """What one compute start derives from a config."""

    def __init__(self, config):
        spec = spec_of(config)
        parsed = parsed_spec(spec)
        self.tenant_id = parsed["tenant_id"]
        self.timeline_id = parsed["timeline_id"]
        self.primary = is_primary(spec)
        self.conninfo = parsed["conninfo"]
        self.protocol = self.conninfo.get("prefer_protocol") or "libpq"
        self.basebackup_url = shard_url(self.conninfo, 0, self.protocol)
        self.compute_ctl_safekeepers = parsed["safekeepers"]
        self.lines = conf_lines(spec)
        self.winners = winning(self.lines)

    def setting(self, name):
        """The value PostgreSQL ends up with (None when no line sets it)."""
        won = self.winners.get(name.lower())
        return None if won is None else won[1]

    def effect_position(self, name):
        """Index of the winning line: settings take effect in this order on every reload."""
        won = self.winners.get(name.lower())
        return None if won is None else won[0]

    def effect_order(self, *names):
        """The given names sorted by when they take effect (names not set are left out)."""
        present = [n for n in names if self.effect_position(n) is not None]
        return sorted(present, key=self.effect_position)

    def conf_text(self):
        return "\n".join(text for _, _, text in self.lines) + "\n"


def derive(config):
    return Derived(config)


def derive_file(path):
    return Derived(load(path))
