// Why this file exists: a safekeeper migration reaches the compute as PUT notify-safekeepers
// (contract §1.3) and must end as one neon.safekeepers value (§2.5) on the timeline's primary.
// Everything between the body and that value — validation, id resolution, what the walproposer
// would see, and whether anything must change — is decided here, without PostgreSQL.
#include "control/notify_safekeepers.hpp"

#include "control/ids.hpp"
#include "control/json_fields.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace storcon {

namespace {
std::string join_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out;
}

// The walproposer takes the host to be everything before the first ':' and splits entries at ',',
// so only hostnames and IPv4 literals survive the round trip (valid_host also admits IPv6).
bool valid_safekeeper_host(std::string_view host) {
  return valid_host(host) && host.find(':') == std::string_view::npos;
}

}  // namespace

SafekeepersRequest parse_safekeepers(std::string_view body) {
  SafekeepersRequest req;
  try {
    const auto j = parse_strict(body, kMaxHookBodyDepth);
    if (!j.is_object()) throw HookError(400, "request body must be a JSON object");
    std::string tenant = get_string(j, "tenant_id");
    if (!is_hex_id(tenant)) throw HookError(400, "tenant_id must be 32 hexadecimal characters");
    std::string timeline = get_string(j, "timeline_id");
    if (!is_hex_id(timeline)) throw HookError(400, "timeline_id must be 32 hexadecimal characters");
    req.tenant_id = to_lower(tenant);
    req.timeline_id = to_lower(timeline);
    // Generation 0 means "no generations" to the walproposer; storcon's first valid one is 1.
    req.generation = static_cast<uint32_t>(get_int(j, "generation", 1, UINT32_MAX));

    const auto& sks = require_field(j, "safekeepers");
    if (!sks.is_array()) throw HookError(400, "field \"safekeepers\" must be an array");
    if (sks.empty()) throw HookError(400, "field \"safekeepers\" must not be empty");
    if (sks.size() > kMaxSafekeepers)
      throw HookError(400, "timeline has " + std::to_string(sks.size()) +
                               " safekeepers; a compute supports at most " + std::to_string(kMaxSafekeepers));
    for (const auto& sk : sks) {
      req.ids.push_back(get_int(sk, "id", 0, INT64_MAX));
      get_opt_string(sk, "hostname");  // type-checked only: "for debuggability" (contract §1.3)
    }
  } catch (const DecodeError& e) {
    throw HookError(400, e.what());
  }
  // storcon de-duplicates the union of old and new members; a repeated id is a broken sender.
  std::vector<int64_t> sorted = req.ids;
  std::sort(sorted.begin(), sorted.end());
  auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end())
    throw HookError(400, "safekeeper id " + std::to_string(*dup) + " appears more than once (request had ids " +
                             join_ids(req.ids) + ")");
  return req;
}


std::string render_safekeepers(const SafekeepersRequest& req, const SafekeeperDirectory& dir,
                               bool with_generation) {
  // Generation 0 means "no generations" to the walproposer: never a prefix then.
  std::string out = with_generation && req.generation > 0 ? "g#" + std::to_string(req.generation) + ":" : "";
  for (size_t i = 0; i < req.ids.size(); i++) {
    const SafekeeperRecord* sk = dir.find(req.ids[i]);
    if (sk == nullptr) throw HookError(503, "safekeeper " + std::to_string(req.ids[i]) + " is unknown");
    if (!valid_safekeeper_host(sk->host))
      throw HookError(503, "safekeeper " + std::to_string(sk->id) +
                               " has a host that is not a hostname or IPv4 address (neon.safekeepers "
                               "cannot carry IPv6 literals)");
    if (sk->port <= 0 || sk->port > 65535)
      throw HookError(503, "safekeeper " + std::to_string(sk->id) + " has an invalid port");
    if (i > 0) out += ',';
    out += sk->host + ":" + std::to_string(sk->port);
  }
  return out;
}

std::optional<SafekeepersSetting> parse_safekeepers_setting(std::string_view value) {
  SafekeepersSetting out;
  std::string_view list = value;
  if (value.substr(0, 2) == "g#") {
    // Stricter than the walproposer's strtoul: digits only, within u32, then a ':'.
    size_t i = 2;
    uint64_t gen = 0;
    for (; i < value.size() && value[i] >= '0' && value[i] <= '9'; i++) {
      gen = gen * 10 + static_cast<uint64_t>(value[i] - '0');
      if (gen > UINT32_MAX) return std::nullopt;
    }
    if (i == 2 || i >= value.size() || value[i] != ':') return std::nullopt;
    out.generation = static_cast<uint32_t>(gen);
    list = value.substr(i + 1);
  }
  size_t start = 0;
  // Like the walproposer's loop, stop at the end of the string, so one trailing ',' is tolerated.
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    std::string_view entry = list.substr(start, comma == std::string_view::npos ? comma : comma - start);
    size_t colon = entry.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == entry.size()) return std::nullopt;
    if (out.entries.size() == kMaxSafekeepers) return std::nullopt;  // "too many safekeepers"
    out.entries.emplace_back(entry);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::optional<SafekeepersDecision> precheck_safekeepers(const SafekeepersRequest& req,
                                                        const std::string& my_tenant,
                                                        const std::string& my_timeline, bool is_primary,
                                                        const std::string& in_effect_value) {
  const std::string which = req.tenant_id + "/" + req.timeline_id;
  // One storcon URL receives every timeline's notifications: the others are answered 200.
  if ((!my_tenant.empty() && !setting_names_id(my_tenant, req.tenant_id)) ||
      (!my_timeline.empty() && !setting_names_id(my_timeline, req.timeline_id)))
    return SafekeepersDecision{SafekeepersDecision::NotHosted, "",
                               "timeline " + which + " is not served by this compute (neon.tenant_id is '" +
                                   my_tenant + "', neon.timeline_id is '" + my_timeline + "')"};
  // Only a primary runs a walproposer; Neon gives replicas no safekeeper list (contract §2.5).
  if (!is_primary)
    return SafekeepersDecision{SafekeepersDecision::Replica, "",
                               "this compute is a replica; only the primary writes to safekeepers"};
  // RFC 035: apply only a generation at least as new as the one in effect.
  auto now = parse_safekeepers_setting(in_effect_value);
  if (now && req.generation < now->generation)
    return SafekeepersDecision{SafekeepersDecision::Stale, "",
                               "generation " + std::to_string(req.generation) + " is older than generation " +
                                   std::to_string(now->generation) + " in effect"};
  return std::nullopt;
}

SafekeepersDecision decide_safekeepers(const SafekeepersRequest& req, const std::string& my_tenant,
                                       const std::string& my_timeline, bool is_primary,
                                       const std::string& in_effect_value,
                                       const std::string& rendered_value) {
  if (auto early = precheck_safekeepers(req, my_tenant, my_timeline, is_primary, in_effect_value))
    return *early;
  auto now = parse_safekeepers_setting(in_effect_value);
  auto next = parse_safekeepers_setting(rendered_value);
  if (now && next && now->generation == next->generation) {
    // The walproposer restarts only when the generation or the set of entries changes.
    std::sort(now->entries.begin(), now->entries.end());
    std::sort(next->entries.begin(), next->entries.end());
    if (now->entries == next->entries)
      return SafekeepersDecision{SafekeepersDecision::Unchanged, "",
                                 "generation " + std::to_string(req.generation) +
                                     " with the same safekeepers is already in effect"};
  }
  // A malformed value in effect has no generation to respect: storcon's notification replaces it.
  std::string from = now ? "generation " + std::to_string(now->generation)
                         : "an unreadable value ('" + in_effect_value + "')";
  return SafekeepersDecision{SafekeepersDecision::Apply, rendered_value,
                             "neon.safekeepers changes from " + from + " to generation " +
                                 std::to_string(req.generation)};
}

}  // namespace storcon
