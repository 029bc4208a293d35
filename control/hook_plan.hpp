// What one notification asks of THIS compute, decided from memory alone: the body parsed and
// validated, whether the tenant/timeline is this compute's, and — for its own — the neon settings
// to write (stripe size before connstring; safekeepers with or without the generation prefix the
// compute's neon understands), or why nothing must be written. No I/O, no waiting: ids the catalog
// lacks come back as NeedCatalog, and the state machine (hook_engine) refreshes and plans again.
#pragma once
#include "control/guard.hpp"

#include "control/auto_conf.hpp"
#include "control/hook.hpp"
#include "control/notify_attach.hpp"
#include "control/notify_safekeepers.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace storcon {

// How a notification ended, as the answer, the audit log and /metrics name it.
enum class Outcome {
  Applied,        // written, reloaded, verified in effect
  Unchanged,      // already in effect
  NotHosted,      // not this compute's tenant/timeline (forwarded to its computes, if any)
  Stale,          // a safekeeper generation older than the one in effect
  Replica,        // a safekeeper change for a standby (no walproposer there)
  Superseded,     // a newer notification's placement is in effect
  Forwarded,      // not this compute's; every registered compute of the tenant accepted it
  Recorded,       // import_complete: accepted and logged
  Rejected,       // 400: not a valid notification
  Unresolved,     // 503: ids storcon does not know, or a record that cannot be rendered safely
  WriteFailed,    // 503: the configuration could not be written
  NotInEffect,    // 503: the reload did not take the values (undone)
  Deadline,       // 503: not done within storcon.hook_apply_timeout (finished later)
  ForwardFailed,  // 503: a running compute of the tenant answered an error or not in time
};
const char* outcome_word(Outcome o);
bool outcome_ok(Outcome o);  // answered 200

// The two independent groups of settings a notification can change.
enum class SettingGroup { ShardMap, Safekeepers };

struct ParsedNotification {
  Endpoint endpoint = Endpoint::NotifyAttach;
  std::string tenant_id;
  std::string timeline_id;  // notify-safekeepers only
  std::variant<AttachRequest, SafekeepersRequest> request;
  SettingGroup group() const {
    return endpoint == Endpoint::NotifySafekeepers ? SettingGroup::Safekeepers : SettingGroup::ShardMap;
  }
};

// Throws HookError(400) for a body that is not a valid notification of that endpoint.
ParsedNotification parse_notification(Endpoint endpoint, std::string_view body);

// Whether this compute serves the notification at all: its tenant is neon.tenant_id (a server
// without neon.tenant_id serves none) and, for safekeepers, its timeline is neon.timeline_id.
bool hosted_here(const ParsedNotification& n, const InEffect& now);

struct LocalPlan {
  enum Kind { Decided, NeedCatalog, Write } kind = Decided;
  Outcome outcome = Outcome::NotHosted;  // Decided: how it ended
  HookReply reply;                       // Decided: the answer (200 or 503)
  // Write: what to write, in this order, and the answer once it is in effect. Also set for
  // Unchanged, so that the engine can tell it from a write still pending.
  std::vector<ConfEntry> settings;
  HookReply applied;
};

struct Catalog {
  NodeDirectory nodes;
  SafekeeperDirectory safekeepers;
};

// The local decision for a hosted notification. `refreshed`: the catalog was refreshed for this
// very notification, so ids still missing are final (503) rather than NeedCatalog.
LocalPlan plan_local(const ParsedNotification& n, const InEffect& now, const Catalog& catalog, bool refreshed);

// The answer for a notification that is not hosted here.
HookReply not_hosted_reply(const ParsedNotification& n, const InEffect& now);

// The settings that carry a shard map, in the one order that works: neon.stripe_size (sharded
// tenants only) BEFORE neon.pageserver_connstring, because the postmaster captures the stripe size
// in effect when the connstring's assign hook runs (contract §2.3). Every writer uses this.
std::vector<ConfEntry> shard_map_entries(const ShardMapSettings& target);

// True when the worker's view shows exactly these settings (the stripe size compared as a number).
bool settings_in_effect(const std::vector<ConfEntry>& settings, const InEffect& now);

// Whether a compute with this neon.safekeeper_proto_version understands the "g#N:" prefix
// (walproposer protocol 3; empty = a neon without the setting, which does not).
bool generation_prefix_supported(const std::string& proto_version_setting);

// {"status", "tenant_id", "shard_count", "stripe_size", "pageserver_connstring"}
HookReply shard_map_reply(const char* status_word, const std::string& tenant_id, const ShardMapSettings& target);

}  // namespace storcon
