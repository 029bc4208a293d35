// Convergence: what this compute must change to match what storcon says now (the tenant's
// placement and the timeline's safekeepers, rendered by control/compute_config). Used at start-up,
// every storcon.sync_interval, and by storcon.reconcile(): a compute that was down during a
// notification, or whose storcon restarted, ends up where storcon wants it.
#pragma once
#include "control/guard.hpp"

#include "control/auto_conf.hpp"
#include "control/hook_plan.hpp"

#include <string>
#include <vector>

namespace storcon {

struct SettingChange {
  std::string setting, old_value, new_value;
};

struct ReconcilePlan {
  std::vector<ConfEntry> settings;     // to write, in order (stripe size before connstring)
  std::vector<SettingChange> changes;  // what differs, for the answer and the audit log
};

// expected: storcon's view as compute_config() renders it.
// The shard map is rewritten as a whole (stripe size first) when any part differs. The safekeeper
// list only on a primary, and never to a lower generation than the one in effect.
ReconcilePlan plan_reconcile(const std::vector<ConfEntry>& expected, const InEffect& now);

nlohmann::json changes_json(const std::vector<SettingChange>& changes);

}  // namespace storcon
