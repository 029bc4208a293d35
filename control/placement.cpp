#include "control/placement.hpp"

#include "control/ids.hpp"
#include "control/json_fields.hpp"

#include <algorithm>
#include <cctype>

namespace storcon {

namespace {

struct ShardId {
  int number = 0;
  int count = 0;
};

// TenantShardId text (contract §5): "<tenant>" (count 0) or "<tenant>-NNCC" (hex number, count).
ShardId parse_shard_id(const std::string& text, const std::string& tenant_id) {
  const std::string what = "tenant_shard_id \"" + text.substr(0, 64) + "\"";
  if (text.size() != 32 && text.size() != 37) throw DecodeError(what + " is not a tenant shard id");
  if (!is_hex_id(text.substr(0, 32)) || to_lower(text.substr(0, 32)) != tenant_id)
    throw DecodeError(what + " does not belong to tenant " + tenant_id);
  if (text.size() == 32) return {};
  auto hex = [&](size_t at) {
    int v = 0;
    for (size_t i = at; i < at + 2; i++) {
      char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
      if (c >= '0' && c <= '9')
        v = v * 16 + (c - '0');
      else if (c >= 'a' && c <= 'f')
        v = v * 16 + (c - 'a' + 10);
      else
        throw DecodeError(what + " is not a tenant shard id");
    }
    return v;
  };
  if (text[32] != '-') throw DecodeError(what + " is not a tenant shard id");
  ShardId id{hex(33), hex(35)};
  if (id.count == 0 || id.number >= id.count) throw DecodeError(what + " names a shard outside its count");
  return id;
}

bool flag(const nlohmann::json& shard, const char* key) { return get_opt_bool(shard, key).value_or(false); }

std::string grpc_url_of(const NodeRecord& node) {
  if (!node.listen_grpc_addr || !node.listen_grpc_port) return "";
  if (!valid_host(*node.listen_grpc_addr) || *node.listen_grpc_port <= 0 || *node.listen_grpc_port > 65535)
    throw HookError(503, "pageserver node " + std::to_string(node.node_id) + " has an unusable gRPC address");
  const std::string& h = *node.listen_grpc_addr;
  std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : h;  // an IPv6 literal
  return "grpc://no_user@" + host + ":" + std::to_string(*node.listen_grpc_port);
}

SafekeeperSetUpdate from_rendered(const SafekeepersRequest& req, const SafekeeperDirectory& sks) {
  auto parsed = parse_safekeepers_setting(render_safekeepers(req, sks));
  if (!parsed) throw HookError(503, "the safekeeper list of this timeline cannot be written for neon");
  return SafekeeperSetUpdate{req.generation, parsed->entries};
}

}  // namespace

std::string policy_text(const TenantPlacement& p) {
  switch (p.policy) {
    case PlacementPolicy::Attached: return "Attached(" + std::to_string(p.secondaries) + ")";
    case PlacementPolicy::Secondary: return "Secondary";
    case PlacementPolicy::Detached: return "Detached";
  }
  return "unknown";
}

TenantPlacement decode_tenant_placement(const nlohmann::json& describe) {
  if (!describe.is_object()) throw DecodeError("the tenant describe is not a JSON object");
  TenantPlacement p;
  p.tenant_id = get_string(describe, "tenant_id");
  if (!is_hex_id(p.tenant_id)) throw DecodeError("field \"tenant_id\" is not a tenant id");
  p.tenant_id = to_lower(p.tenant_id);
  p.stripe_size = static_cast<uint32_t>(get_int(describe, "stripe_size", 0, UINT32_MAX));

  const auto& policy = require_field(describe, "policy");
  if (policy == "Secondary") {
    p.policy = PlacementPolicy::Secondary;
  } else if (policy == "Detached") {
    p.policy = PlacementPolicy::Detached;
  } else if (policy.is_object() && policy.size() == 1 && policy.contains("Attached")) {
    p.policy = PlacementPolicy::Attached;
    p.secondaries = get_int(policy, "Attached", 0, INT32_MAX);
  } else {
    throw DecodeError("field \"policy\" is not a placement policy");
  }

  const auto& shards = require_field(describe, "shards");
  if (!shards.is_array()) throw DecodeError("field \"shards\" must be an array");
  if (shards.size() > 512) throw DecodeError("field \"shards\" lists more shards than storcon can have");

  struct Row {
    ShardId id;
    std::string text;
    std::optional<int64_t> node;
    bool reconciling, pending, splitting, importing;
  };
  std::vector<Row> rows;
  for (const auto& s : shards) {
    Row r;
    r.text = get_string(s, "tenant_shard_id");
    r.id = parse_shard_id(r.text, p.tenant_id);
    r.node = get_opt_int(s, "node_attached", 0, INT64_MAX);
    r.reconciling = get_bool(s, "is_reconciling");
    r.pending = get_bool(s, "is_pending_compute_notification");
    // Newer fields (is_splitting, is_importing): absent means not set.
    r.splitting = flag(s, "is_splitting");
    r.importing = flag(s, "is_importing");
    rows.push_back(std::move(r));
  }

  auto unsettled = [&](const std::string& reason) {
    p.settled = false;
    p.unsettled_reason = reason;
    return p;
  };
  if (rows.empty()) return unsettled("storcon lists no shards for the tenant");
  p.shard_count = rows.front().id.count;
  for (const auto& r : rows)
    if (r.id.count != p.shard_count)
      return unsettled("a shard split is in progress (shards of counts " + std::to_string(p.shard_count) +
                       " and " + std::to_string(r.id.count) + ")");
  for (const auto& r : rows) {
    if (r.splitting) return unsettled("shard " + r.text + " is splitting");
    if (r.importing) return unsettled("shard " + r.text + " is importing a timeline");
    if (r.reconciling) return unsettled("shard " + r.text + " is reconciling");
    if (r.pending) return unsettled("shard " + r.text + " has a compute notification pending");
  }

  const size_t n = static_cast<size_t>(std::max(p.shard_count, 1));
  std::vector<std::optional<int64_t>> nodes(n);
  std::vector<bool> seen(n, false);
  for (const auto& r : rows) {
    if (seen[static_cast<size_t>(r.id.number)]) throw DecodeError("shard " + r.text + " is listed twice");
    seen[static_cast<size_t>(r.id.number)] = true;
    nodes[static_cast<size_t>(r.id.number)] = r.node;
  }
  p.node_by_shard = nodes;
  for (size_t i = 0; i < n; i++)
    if (!seen[i])
      return unsettled("storcon lists " + std::to_string(rows.size()) + " of " + std::to_string(n) +
                       " shards");
  if (p.policy == PlacementPolicy::Attached)
    for (size_t i = 0; i < n; i++)
      if (!nodes[i]) return unsettled("shard " + std::to_string(i) + " has no attached pageserver");
  p.settled = true;
  return p;
}

AttachRequest attach_request_of(const TenantPlacement& p) {
  if (p.policy != PlacementPolicy::Attached)
    throw DecodeError("tenant " + p.tenant_id + " is " + policy_text(p) + ": no pageserver is attached");
  if (!p.settled) throw DecodeError("tenant " + p.tenant_id + " is not settled: " + p.unsettled_reason);
  AttachRequest req;
  req.tenant_id = p.tenant_id;
  for (const auto& node : p.node_by_shard) req.node_by_shard.push_back(*node);
  if (req.node_by_shard.size() > 1) req.stripe_size = p.stripe_size;
  return req;
}

ShardMapUpdate shard_map_update(const AttachRequest& req, const NodeDirectory& nodes) {
  ShardMapSettings rendered = render_attach(req, nodes);  // the hook's own rendering and checks
  ShardMapUpdate out;
  size_t start = 0;
  for (size_t i = 0; i < req.node_by_shard.size(); i++) {
    size_t comma = rendered.pageserver_connstring.find(',', start);
    PageserverTarget t;
    t.node_id = req.node_by_shard[i];
    t.libpq_url =
        rendered.pageserver_connstring.substr(start, comma == std::string::npos ? comma : comma - start);
    std::string grpc = grpc_url_of(*nodes.find(t.node_id));
    if (!grpc.empty()) t.grpc_url = grpc;
    out.shards.push_back(std::move(t));
    start = comma + 1;
  }
  if (req.stripe_size) out.stripe_size = static_cast<uint32_t>(*req.stripe_size);
  return out;
}

ShardMapUpdate shard_map_update(const TenantPlacement& p, const NodeDirectory& nodes) {
  ShardMapUpdate out = shard_map_update(attach_request_of(p), nodes);
  if (p.stripe_size > 0) out.stripe_size = p.stripe_size;
  out.shard_count = p.shard_count;
  return out;
}

SafekeepersRequest safekeepers_of_locate(const nlohmann::json& locate) {
  if (!locate.is_object()) throw DecodeError("the timeline locate is not a JSON object");
  SafekeepersRequest req;
  req.generation = static_cast<uint32_t>(get_int(locate, "generation", 0, UINT32_MAX));
  for (const char* key : {"sk_set", "new_sk_set"}) {
    auto it = locate.find(key);
    if (it == locate.end() || it->is_null()) {
      if (std::string(key) == "sk_set") throw DecodeError("missing field \"sk_set\"");
      continue;
    }
    if (!it->is_array()) throw DecodeError(std::string("field \"") + key + "\" must be an array");
    if (it->size() > kMaxSafekeepers)
      throw DecodeError(std::string("field \"") + key + "\" lists more safekeepers than neon accepts");
    for (const auto& id : *it) {
      if (!id.is_number_integer() || id.get<int64_t>() <= 0)
        throw DecodeError(std::string("field \"") + key + "\" must hold safekeeper ids");
      int64_t v = id.get<int64_t>();
      if (std::find(req.ids.begin(), req.ids.end(), v) == req.ids.end()) req.ids.push_back(v);
    }
  }
  if (req.ids.empty()) throw DecodeError("storcon lists no safekeepers for the timeline");
  if (req.ids.size() > kMaxSafekeepers)
    throw DecodeError("the timeline has " + std::to_string(req.ids.size()) +
                      " safekeepers; neon accepts at most " + std::to_string(kMaxSafekeepers));
  return req;
}

SafekeeperSetUpdate safekeeper_set_update(const nlohmann::json& locate, const SafekeeperDirectory& sks) {
  return from_rendered(safekeepers_of_locate(locate), sks);
}

SafekeeperSetUpdate safekeeper_set_update(const SafekeepersRequest& req, const SafekeeperDirectory& sks) {
  return from_rendered(req, sks);
}

}  // namespace storcon
