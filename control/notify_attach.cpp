#include "control/notify_attach.hpp"

#include "control/ids.hpp"
#include "control/json_fields.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <nlohmann/json.hpp>

namespace storcon {

AttachRequest parse_attach(std::string_view body) {
  AttachRequest req;
  try {
    const auto j = parse_strict(body, kMaxHookBodyDepth);
    if (!j.is_object()) throw HookError(400, "request body must be a JSON object");
    std::string tenant = get_string(j, "tenant_id");
    if (!is_hex_id(tenant)) throw HookError(400, "tenant_id must be 32 hexadecimal characters");
    req.tenant_id = to_lower(tenant);
    req.preferred_az = get_opt_string(j, "preferred_az");
    req.stripe_size = get_opt_int(j, "stripe_size", 1, INT32_MAX);  // neon.stripe_size is an int

    const auto& shards = require_field(j, "shards");
    if (!shards.is_array()) throw HookError(400, "field \"shards\" must be an array");
    if (shards.empty()) throw HookError(400, "field \"shards\" must not be empty");
    if (shards.size() > kMaxShards)
      throw HookError(400, "tenant has " + std::to_string(shards.size()) +
                               " shards; a compute supports at most " + std::to_string(kMaxShards));
    const size_t n = shards.size();
    req.node_by_shard.assign(n, -1);
    for (const auto& s : shards) {
      int64_t node = get_int(s, "node_id", 0, INT64_MAX);
      int64_t number = get_int(s, "shard_number", 0, 255);
      if (static_cast<size_t>(number) >= n)
        throw HookError(400, "shard_number " + std::to_string(number) + " is out of range for " +
                                 std::to_string(n) + " shards");
      if (req.node_by_shard[number] != -1)
        throw HookError(400, "shard_number " + std::to_string(number) + " appears twice");
      req.node_by_shard[number] = node;
    }
  } catch (const DecodeError& e) {
    throw HookError(400, e.what());
  }
  const size_t n = req.node_by_shard.size();
  if (n == 1 && req.stripe_size)
    throw HookError(400, "stripe_size must be null for an unsharded tenant");
  if (n > 1 && !req.stripe_size)
    throw HookError(400, "stripe_size is required for a tenant with " + std::to_string(n) + " shards");
  return req;
}


namespace {
bool is_ipv6(std::string_view host) {
  // inet_pton reads a C string: "::1\0<anything>" would pass as "::1" (found by test/fuzz).
  if (host.size() >= INET6_ADDRSTRLEN || host.find('\0') != std::string_view::npos) return false;
  std::string h(host);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

// What storcon may store as a host (any string, neon-lifecycle.md §4) narrowed to what is safe in a
// comma-separated list of libpq URIs and in postgresql.auto.conf: letters, digits, '-', '_' and
// dots between non-empty labels, one trailing dot allowed (an absolute FQDN), labels of any length,
// at most 253 characters before that dot. No comma, quote, space, '@', '/', ':' or control byte.
bool valid_hostname(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253 || host.front() == '-') return false;
  size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_') return false;
    label++;
  }
  return label > 0;
}
}  // namespace

bool valid_host(std::string_view host) { return valid_hostname(host) || is_ipv6(host); }

ShardMapSettings render_attach(const AttachRequest& req, const NodeDirectory& dir) {
  ShardMapSettings out;
  out.shard_count = req.node_by_shard.size();
  for (size_t i = 0; i < req.node_by_shard.size(); i++) {
    const NodeRecord* node = dir.find(req.node_by_shard[i]);
    if (node == nullptr)
      throw HookError(503, "pageserver node " + std::to_string(req.node_by_shard[i]) + " is unknown");
    if (!valid_host(node->listen_pg_addr))
      throw HookError(503, "pageserver node " + std::to_string(node->node_id) +
                               " has a listen_pg_addr that is not a hostname or IP address");
    if (node->listen_pg_port <= 0 || node->listen_pg_port > 65535)
      throw HookError(503, "pageserver node " + std::to_string(node->node_id) + " has an invalid listen_pg_port");
    // libpq URIs need brackets around IPv6 literals.
    std::string host = is_ipv6(node->listen_pg_addr) ? "[" + node->listen_pg_addr + "]" : node->listen_pg_addr;
    std::string entry = "postgres://no_user@" + host + ":" + std::to_string(node->listen_pg_port);
    if (entry.size() >= kMaxConnstringEntry)
      throw HookError(503, "connection string for shard " + std::to_string(i) + " is " +
                               std::to_string(entry.size()) + " bytes; the compute accepts at most " +
                               std::to_string(kMaxConnstringEntry - 1));
    if (i > 0) out.pageserver_connstring += ',';
    out.pageserver_connstring += entry;
  }
  if (out.shard_count > 1) out.stripe_size = std::to_string(*req.stripe_size);
  return out;
}

}  // namespace storcon
