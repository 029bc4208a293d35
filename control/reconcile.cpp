#include "control/reconcile.hpp"

#include "control/json_fields.hpp"
#include "control/notify_safekeepers.hpp"
#include "control/placement.hpp"

#include <set>

namespace storcon {

namespace {
std::string stripe_text(const InEffect& now) { return now.stripe_size ? std::to_string(*now.stripe_size) : ""; }
}  // namespace

ReconcileExpectation expected_from_storcon(const InEffect& now, const std::optional<nlohmann::json>& describe,
                                           const std::optional<nlohmann::json>& timeline_locate,
                                           const Catalog& catalog) {
  ReconcileExpectation out;
  if (!describe) {
    out.notes.push_back("storcon does not know tenant " + now.tenant_id);
    return out;
  }
  TenantPlacement placement = decode_tenant_placement(*describe);
  if (placement.policy != PlacementPolicy::Attached) {
    out.notes.push_back("tenant " + now.tenant_id + " has placement policy " + policy_text(placement) +
                        ": no shard map to apply");
  } else if (!placement.settled) {
    out.notes.push_back("storcon is moving tenant " + now.tenant_id + " (" + placement.unsettled_reason +
                        "): its notification brings the new shard map");
  } else {
    for (auto& e : shard_map_entries(render_attach(attach_request_of(placement), catalog.nodes)))
      out.settings.push_back(std::move(e));
  }
  if (timeline_locate && now.primary) {
    const auto& next = timeline_locate->find("new_sk_set");
    if (next != timeline_locate->end() && next->is_array() && !next->empty()) {
      out.notes.push_back("a safekeeper migration of timeline " + now.timeline_id +
                          " is in progress: its notifications bring the new set");
    } else {
      SafekeepersRequest req = safekeepers_of_locate(*timeline_locate);
      out.settings.push_back({kSafekeepersGuc, render_safekeepers(req, catalog.safekeepers,
                                                                  generation_prefix_supported(now.safekeeper_proto_version))});
    }
  }
  return out;
}

ReconcilePlan plan_reconcile(const std::vector<ConfEntry>& expected, const InEffect& now) {
  ReconcilePlan plan;
  std::vector<ConfEntry> shard_map;
  std::optional<std::string> safekeepers;
  for (const auto& e : expected) {
    if (e.name == kStripeSizeGuc || e.name == kConnstringGuc) shard_map.push_back(e);
    if (e.name == kSafekeepersGuc) safekeepers = e.value;
  }
  if (!shard_map.empty() && !settings_in_effect(shard_map, now)) {
    for (const auto& e : shard_map) {
      std::string old = e.name == kStripeSizeGuc ? stripe_text(now) : now.pageserver_connstring;
      if (old != e.value) plan.changes.push_back({e.name, old, e.value});
      plan.settings.push_back(e);
    }
  }
  if (safekeepers && now.primary && *safekeepers != now.safekeepers) {
    auto want = parse_safekeepers_setting(*safekeepers);
    auto have = parse_safekeepers_setting(now.safekeepers);
    bool same_set = want && have && want->generation == have->generation &&
                    std::set<std::string>(want->entries.begin(), want->entries.end()) ==
                        std::set<std::string>(have->entries.begin(), have->entries.end());
    bool newer_here = want && have && have->generation > want->generation;
    if (want && !same_set && !newer_here) {
      plan.changes.push_back({kSafekeepersGuc, now.safekeepers, *safekeepers});
      plan.settings.push_back({kSafekeepersGuc, *safekeepers});
    }
  }
  return plan;
}

nlohmann::json changes_json(const std::vector<SettingChange>& changes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : changes)
    out.push_back({{"setting", c.setting}, {"old_value", c.old_value}, {"new_value", c.new_value}});
  return out;
}

}  // namespace storcon
