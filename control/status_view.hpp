// What GET /status shows, and so what the status page draws (one source of truth): where this
// compute reads from — each shard of neon.pageserver_connstring with the pageserver it names (id,
// host:port, availability zone, as the catalog knows it), the stripe size, the safekeepers with the
// generation in effect — next to the counters and the worker's state, which the worker adds.
#pragma once
#include "control/guard.hpp"

#include "control/hook.hpp"
#include "control/hook_plan.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace storcon {

// [{"shard": i, "url", "host", "port", "node_id"|null, "availability_zone_id"|null}, ...]
nlohmann::json shard_map_view(const InEffect& now, const NodeDirectory& nodes);
// {"generation": n|null, "members": [{"host", "port", "id"|null, "availability_zone_id"|null}]}
nlohmann::json safekeepers_view(const InEffect& now, const SafekeeperDirectory& safekeepers);

// {"listen", "tenant_id", "timeline_id", "primary", "in_effect", "shard_map", "safekeeper_set"}
// + the counters.
nlohmann::json status_json(const std::string& listen, const InEffect& now, const HookStats& stats,
                           const Catalog& catalog);

}  // namespace storcon
