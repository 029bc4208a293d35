// Identifier formats of Neon (contract §5): tenant and timeline ids are 32 hex characters, a
// TenantShardId is the tenant id or "<tenant>-<NNCC>" (shard number, shard count, two hex digits each).
#pragma once
#include "control/guard.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace storcon {

bool is_hex_id(std::string_view s);            // exactly 32 hex digits, either case
bool is_tenant_shard_id(std::string_view s);   // 32 hex, or 32 hex + '-' + 4 hex
std::string to_lower(std::string_view s);

// Lower-cased id; throws std::invalid_argument naming `what` when it is not a 32-hex id.
std::string normalize_hex_id(std::string_view s, std::string_view what);
std::string normalize_tenant_shard_id(std::string_view s);

// The TenantShardId text of one shard (count 0 = legacy unsharded: the bare tenant id).
std::string tenant_shard_id(std::string_view tenant_id, unsigned shard_number, unsigned shard_count);

// A fresh random 32-hex id (for tenant_create / timeline_create without an id).
std::string random_hex_id();

}  // namespace storcon
