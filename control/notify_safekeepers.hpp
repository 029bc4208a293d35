// storcon's PUT notify-safekeepers (contract §1.3): parse and validate the body, resolve safekeeper
// ids to their pg host and port, render neon.safekeepers ('g#<generation>:host:port,...', contract
// §2.5), read back the value in effect the way Neon's walproposer does, and decide whether this
// compute must change anything. PostgreSQL-free, like the rest of control/; bgworker/ does the
// writing and reloading.
#pragma once
#include "control/guard.hpp"

#include "control/catalog.hpp"
#include "control/notify_attach.hpp"  // HookError

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace storcon {

inline constexpr const char* kSafekeepersGuc = "neon.safekeepers";
// Neon's MAX_SAFEKEEPERS is 32 and the walproposer refuses the 32nd entry ("too many safekeepers").
constexpr size_t kMaxSafekeepers = 31;

struct SafekeepersRequest {
  std::string tenant_id;    // lower-case 32 hex
  std::string timeline_id;  // lower-case 32 hex
  uint32_t generation = 0;  // >= 1
  std::vector<int64_t> ids; // in the order of the body, unique
};

// Throws HookError(400) naming what is wrong, duplicate keys and nesting deeper than
// kMaxHookBodyDepth included (parse_strict). The body's "hostname" fields (string or null) are
// checked for type and otherwise ignored: storcon sends them for debuggability only.
SafekeepersRequest parse_safekeepers(std::string_view body);

// "g#3:sk2:5454,sk3:5454", entries in the order of the body; without the "g#N:" prefix when
// with_generation is false (a compute whose walproposer speaks protocol 2 stops with FATAL on it)
// or the generation is 0 (no generations).
// Throws HookError(503) when an id is unknown or a record's host/port cannot be written safely
// (IPv6 literals included: Neon's parser takes the host to be everything before the first ':').
std::string render_safekeepers(const SafekeepersRequest& req, const SafekeeperDirectory& dir,
                               bool with_generation = true);

// A neon.safekeepers value as the walproposer reads it: an optional "g#<n>:" prefix, then
// comma-separated host:port entries. generation is 0 without the prefix; "" is an empty list.
struct SafekeepersSetting {
  uint32_t generation = 0;
  std::vector<std::string> entries;
};
// nullopt when malformed: a bad prefix, an empty entry, an entry without host, ':' or port, or more
// than kMaxSafekeepers entries.
std::optional<SafekeepersSetting> parse_safekeepers_setting(std::string_view value);

struct SafekeepersDecision {
  enum Kind { NotHosted, Replica, Stale, Unchanged, Apply } kind = NotHosted;  // default: change nothing
  std::string value;   // Apply: the neon.safekeepers value to write
  std::string detail;  // one readable sentence for the answer and the log
};

// The decisions that need no id lookup: NotHosted, Replica, Stale; nullopt = resolve the ids,
// render, and call decide_safekeepers. Lets the hook answer 200 for other timelines and stale
// generations without a directory refresh or a 503 for ids it cannot resolve.
// my_tenant / my_timeline: neon.tenant_id / neon.timeline_id, "" = accept any.
std::optional<SafekeepersDecision> precheck_safekeepers(const SafekeepersRequest& req,
                                                        const std::string& my_tenant,
                                                        const std::string& my_timeline, bool is_primary,
                                                        const std::string& in_effect_value);

// The whole decision: the prechecks, then Unchanged when the generation in effect equals the
// request's and the entries are the same set (order-insensitive, as the walproposer compares them),
// otherwise Apply with value = rendered_value.
SafekeepersDecision decide_safekeepers(const SafekeepersRequest& req, const std::string& my_tenant,
                                       const std::string& my_timeline, bool is_primary,
                                       const std::string& in_effect_value,
                                       const std::string& rendered_value);

}  // namespace storcon
