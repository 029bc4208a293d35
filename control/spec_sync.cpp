#include "control/spec_sync.hpp"

#include "control/notify_safekeepers.hpp"
#include "control/status_view.hpp"

namespace storcon {

ComputeSpecUpdate spec_update_in_effect(const InEffect& now, const Catalog& catalog) {
  ComputeSpecUpdate update;
  if (!now.pageserver_connstring.empty()) {
    ShardMapUpdate map;
    for (const auto& shard : shard_map_view(now, catalog.nodes)) {
      if (shard["node_id"].is_null())
        throw ComputeSpecError("no pageserver of the catalog listens on " + shard["url"].get<std::string>());
      map.shards.push_back(PageserverTarget{shard["node_id"].get<int64_t>(), shard["url"].get<std::string>(), std::nullopt});
    }
    if (map.shards.size() > 1 && now.stripe_size) map.stripe_size = static_cast<uint32_t>(*now.stripe_size);
    update.shard_map = std::move(map);
  }
  if (now.primary && !now.safekeepers.empty()) {
    auto parsed = parse_safekeepers_setting(now.safekeepers);
    if (!parsed) throw ComputeSpecError("neon.safekeepers in effect cannot be read: " + now.safekeepers);
    update.safekeepers = SafekeeperSetUpdate{parsed->generation, parsed->entries};
    update.generation_prefix = parsed->generation > 0;
  }
  return update;
}

}  // namespace storcon
