// Convergence: what this compute must change to match what storcon says, asked at start-up, every
// storcon.sync_interval and by storcon.reconcile(). A compute that was down during a notification,
// or whose storcon restarted, ends up where storcon wants it — but only from a SETTLED storcon:
// its tenant describe shows intent, and during a live migration, a split or an import the intent
// names a pageserver that is not attached yet and that storcon has not told computes about
// (reference/neon-lifecycle.md §4). Then the pass changes nothing and storcon's own notification,
// or the next pass, brings the change. A Secondary or Detached tenant has nothing to apply.
#pragma once
#include "control/guard.hpp"

#include "control/auto_conf.hpp"
#include "control/hook_plan.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace storcon {

struct ReconcileExpectation {
  std::vector<ConfEntry> settings;  // what storcon wants (shard map stripe-first, safekeepers)
  std::vector<std::string> notes;   // why a part is left alone ("storcon is moving the tenant: ...")
};

// From storcon's answers for this compute: the tenant describe (GET /control/v1/tenant/:t; nullopt
// = 404, storcon does not know the tenant) and the timeline locate (GET /debug/v1/tenant/:t/
// timeline/:tl/locate; nullopt = 404 or not asked: storcon does not manage its safekeepers).
// Throws DecodeError for answers of the wrong shape, HookError(503) for unusable records.
ReconcileExpectation expected_from_storcon(const InEffect& now, const std::optional<nlohmann::json>& describe,
                                           const std::optional<nlohmann::json>& timeline_locate,
                                           const Catalog& catalog);

struct SettingChange {
  std::string setting, old_value, new_value;
};

struct ReconcilePlan {
  std::vector<ConfEntry> settings;     // to write, in order (stripe size before connstring)
  std::vector<SettingChange> changes;  // what differs, for the answer and the audit log
};

// The shard map is rewritten as a whole when any part differs. The safekeeper list only on a
// primary, and never to a lower generation than the one in effect.
ReconcilePlan plan_reconcile(const std::vector<ConfEntry>& expected, const InEffect& now);

nlohmann::json changes_json(const std::vector<SettingChange>& changes);

}  // namespace storcon
