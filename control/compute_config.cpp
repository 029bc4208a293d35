#include "control/compute_config.hpp"

#include "control/hook_plan.hpp"
#include "control/json_fields.hpp"
#include "control/notify_attach.hpp"
#include "control/notify_safekeepers.hpp"
#include "control/placement.hpp"

#include <algorithm>

namespace storcon {

int shard_number_of(const std::string& tenant_shard_id) {
  if (tenant_shard_id.size() != 37) return 0;
  return std::stoi(tenant_shard_id.substr(33, 2), nullptr, 16);
}

std::vector<ConfEntry> compute_config(const std::string& tenant_id, const std::string& timeline_id,
                                      const nlohmann::json& tenant_locate,
                                      const std::optional<nlohmann::json>& timeline_locate,
                                      const std::vector<SafekeeperRecord>& safekeepers, bool with_generation) {
  // The shard map, as a notify-attach for the located placement would render it.
  const auto& shards = require_field(tenant_locate, "shards");
  const auto& params = require_field(tenant_locate, "shard_params");
  if (!shards.is_array() || shards.empty()) throw DecodeError("tenant locate returned no shards");
  int64_t count = get_int(params, "count", 0, 255);
  AttachRequest attach;
  attach.tenant_id = tenant_id;
  attach.node_by_shard.assign(shards.size(), -1);
  std::vector<NodeRecord> nodes;
  for (const auto& s : shards) {
    NodeRecord n;
    n.node_id = get_int(s, "node_id", 0, INT64_MAX);
    n.listen_pg_addr = get_string(s, "listen_pg_addr");
    n.listen_pg_port = static_cast<int32_t>(get_int(s, "listen_pg_port", 0, 65535));
    size_t number = static_cast<size_t>(shard_number_of(get_string(s, "shard_id")));
    if (number >= attach.node_by_shard.size() || attach.node_by_shard[number] != -1)
      throw DecodeError("tenant locate returned an incomplete shard list");
    attach.node_by_shard[number] = n.node_id;
    nodes.push_back(std::move(n));
  }
  if (count > 1) attach.stripe_size = get_int(params, "stripe_size", 1, INT32_MAX);
  NodeDirectory dir;
  dir.replace(nodes);
  ShardMapSettings map = render_attach(attach, dir);

  std::vector<ConfEntry> out = {{"neon.tenant_id", tenant_id}, {"neon.timeline_id", timeline_id}};
  if (timeline_locate) {
    // During a safekeeper migration the compute must talk to both sets, current members first.
    SafekeepersRequest sk = safekeepers_of_locate(*timeline_locate);
    SafekeeperDirectory sks;
    sks.replace(safekeepers);
    out.push_back({kSafekeepersGuc, render_safekeepers(sk, sks, with_generation)});
  }
  for (auto& e : shard_map_entries(map)) out.push_back(std::move(e));
  return out;
}

}  // namespace storcon
