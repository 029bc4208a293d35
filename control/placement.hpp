// What storcon says about where a tenant lives, decoded from its tenant describe
// (GET /control/v1/tenant/:tenant_id, TenantDescribeResponse: contract §3.2,
// libs/pageserver_api/src/controller_api.rs), and whether that answer can be acted on.
//
// storcon's describe shows its intent: during a live migration the destination is named before it
// is attached and before computes were told (reference/neon-lifecycle.md §4). A placement may only
// be applied when the tenant is SETTLED: no shard is reconciling, waiting to notify computes,
// splitting or importing, every shard has the same shard count and an attached node. Then intent,
// pageserver state and what computes were told agree.
//
// Also here: the storage updates for compute_ctl's config file (control/compute_spec) built from
// a settled placement or a hook notification, with the pageserver and safekeeper addresses.
#pragma once
#include "control/guard.hpp"

#include "control/catalog.hpp"
#include "control/compute_spec.hpp"
#include "control/notify_attach.hpp"
#include "control/notify_safekeepers.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace storcon {

enum class PlacementPolicy { Attached, Secondary, Detached };

struct TenantPlacement {
  std::string tenant_id;  // lower-case 32 hex
  PlacementPolicy policy = PlacementPolicy::Detached;
  int64_t secondaries = 0;  // Attached(n): n
  bool settled = false;
  std::string unsettled_reason;  // one readable sentence when !settled
  uint32_t stripe_size = 0;      // pages of 8 KiB
  int shard_count = 0;           // storcon's literal ShardCount: 0 = legacy unsharded, 1..255
  // Index = shard number; the attached node, nullopt for a shard without one. Complete
  // (max(shard_count, 1) entries) whenever settled; on an unsettled tenant it may be empty.
  std::vector<std::optional<int64_t>> node_by_shard;
};

// "Attached(1)", "Secondary", "Detached".
std::string policy_text(const TenantPlacement& p);

// Throws DecodeError naming the field when the body is not a TenantDescribeResponse. An unsettled
// tenant is not an error: settled = false with the reason (the first one found, e.g. "shard
// <id> is reconciling", "a shard split is in progress", "shard <id> has no attached pageserver").
TenantPlacement decode_tenant_placement(const nlohmann::json& describe);

// The notify-attach storcon sends for a settled Attached placement (stripe size only when
// sharded). Throws DecodeError when the placement is not settled or not Attached.
AttachRequest attach_request_of(const TenantPlacement& p);

// "postgres://no_user@host:port" for every shard, as render_attach renders them (so the hook and
// the config file agree byte for byte), and "grpc://no_user@host:port" where the node has a gRPC
// listener (Neon: storage_controller/src/compute_hook.rs, control_plane/src/endpoint.rs).
// Throws HookError(503) like render_attach when a node is unknown or unusable.
// From a hook notification: the literal shard count is unknown (ShardMapUpdate::shard_count).
ShardMapUpdate shard_map_update(const AttachRequest& req, const NodeDirectory& nodes);
// From a settled placement: with its literal shard count and stripe size.
ShardMapUpdate shard_map_update(const TenantPlacement& p, const NodeDirectory& nodes);

// The safekeeper ids and generation of GET /debug/v1/tenant/:t/timeline/:tl/locate ({generation,
// sk_set, new_sk_set}): during a migration both sets, current members first, as storcon notifies
// them; each id once, at most neon's limit. Throws DecodeError for a malformed body.
SafekeepersRequest safekeepers_of_locate(const nlohmann::json& timeline_locate);

// The same, rendered. Throws DecodeError for a malformed body, HookError(503) for an unknown or
// unusable safekeeper.
SafekeeperSetUpdate safekeeper_set_update(const nlohmann::json& timeline_locate,
                                          const SafekeeperDirectory& sks);
// From a hook notification.
SafekeeperSetUpdate safekeeper_set_update(const SafekeepersRequest& req, const SafekeeperDirectory& sks);

}  // namespace storcon
