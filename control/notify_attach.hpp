// storcon's PUT notify-attach (contract §1.2): parse and validate the body, resolve node ids to
// pageserver addresses, and render the two neon settings that carry the shard map:
// neon.stripe_size (sharded tenants only) and neon.pageserver_connstring, one
// postgres://no_user@host:port per shard in shard order (contract §2.2).
#pragma once
#include "control/guard.hpp"

#include "control/catalog.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace storcon {

constexpr size_t kMaxShards = 128;            // neon's MAX_SHARDS
constexpr size_t kMaxConnstringEntry = 256;   // neon's MAX_PAGESERVER_CONNSTRING_SIZE (entry < 256)
// Objects and arrays a hook body may nest (both bodies need 3: body, list, entry).
constexpr int kMaxHookBodyDepth = 8;

// A request the hook refuses; status is the HTTP status to answer with.
struct HookError : std::runtime_error {
  HookError(int status, const std::string& msg) : std::runtime_error(msg), status(status) {}
  int status;
};

struct AttachRequest {
  std::string tenant_id;                   // lower-case 32 hex
  std::optional<std::string> preferred_az;
  std::optional<int64_t> stripe_size;      // pages of 8 KiB; set iff more than one shard
  std::vector<int64_t> node_by_shard;      // index = shard number
};

// Throws HookError(400) naming what is wrong, duplicate keys and nesting deeper than
// kMaxHookBodyDepth included (parse_strict).
AttachRequest parse_attach(std::string_view body);

// A hostname (RFC 1123 labels) or an IPv4 / IPv6 literal: nothing that could break the
// comma-separated shard map or the URI (commas, quotes, spaces, '@', '/', control characters).
bool valid_host(std::string_view host);

struct ShardMapSettings {
  std::optional<std::string> stripe_size;  // decimal pages, present iff sharded
  std::string pageserver_connstring;
  size_t shard_count = 0;
};

// Throws HookError(503) when a node is unknown or its record cannot be rendered safely
// (the catalog may be fixed, so storcon should retry).
ShardMapSettings render_attach(const AttachRequest& req, const NodeDirectory& dir);

}  // namespace storcon
