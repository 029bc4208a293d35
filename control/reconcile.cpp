#include "control/reconcile.hpp"

#include "control/notify_safekeepers.hpp"

#include <algorithm>
#include <set>

namespace storcon {

namespace {
std::string stripe_text(const InEffect& now) { return now.stripe_size ? std::to_string(*now.stripe_size) : ""; }
}  // namespace

ReconcilePlan plan_reconcile(const std::vector<ConfEntry>& expected, const InEffect& now) {
  ReconcilePlan plan;
  std::vector<ConfEntry> shard_map;
  std::optional<std::string> safekeepers;
  for (const auto& e : expected) {
    if (e.name == kStripeSizeGuc || e.name == kConnstringGuc) shard_map.push_back(e);
    if (e.name == kSafekeepersGuc) safekeepers = e.value;
  }
  std::sort(shard_map.begin(), shard_map.end(),
            [](const ConfEntry& a, const ConfEntry& b) { return a.name == kStripeSizeGuc && b.name != kStripeSizeGuc; });
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
