// The neon settings a new compute for a timeline must start with, from what storcon knows: the
// tenant's placement (GET /debug/v1/tenant/:t/locate), the timeline's safekeeper set and generation
// (GET /debug/v1/tenant/:t/timeline/:tl/locate) and the safekeepers' addresses. Rendered with the
// same rules as the hook, in the order postgresql.conf needs (stripe size before the connstring).
#pragma once
#include "control/guard.hpp"

#include "control/auto_conf.hpp"
#include "control/catalog.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace storcon {

// timeline_locate may be absent (storcon does not place this timeline on safekeepers): then
// neon.safekeepers is left out. with_generation: the "g#N:" prefix (the compute's neon speaks
// safekeeper protocol 3). Throws DecodeError / HookError with a readable message.
std::vector<ConfEntry> compute_config(const std::string& tenant_id, const std::string& timeline_id,
                                      const nlohmann::json& tenant_locate,
                                      const std::optional<nlohmann::json>& timeline_locate,
                                      const std::vector<SafekeeperRecord>& safekeepers,
                                      bool with_generation = true);

// Shard number from a TenantShardId ("<tenant>" -> 0, "<tenant>-NNCC" -> NN).
int shard_number_of(const std::string& tenant_shard_id);

}  // namespace storcon
