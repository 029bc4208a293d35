#include "control/hook_plan.hpp"

#include "control/ids.hpp"

#include <cstdlib>

namespace storcon {

const char* outcome_word(Outcome o) {
  switch (o) {
    case Outcome::Applied: return "applied";
    case Outcome::Unchanged: return "unchanged";
    case Outcome::NotHosted: return "not_hosted";
    case Outcome::Stale: return "stale";
    case Outcome::Replica: return "replica";
    case Outcome::Superseded: return "superseded";
    case Outcome::Forwarded: return "forwarded";
    case Outcome::Recorded: return "recorded";
    case Outcome::Rejected: return "rejected";
    case Outcome::Unresolved: return "unresolved";
    case Outcome::WriteFailed: return "write_failed";
    case Outcome::NotInEffect: return "not_in_effect";
    case Outcome::Deadline: return "deadline";
    case Outcome::ForwardFailed: return "forward_failed";
  }
  return "unknown";
}

bool outcome_ok(Outcome o) {
  switch (o) {
    case Outcome::Applied:
    case Outcome::Unchanged:
    case Outcome::NotHosted:
    case Outcome::Stale:
    case Outcome::Replica:
    case Outcome::Superseded:
    case Outcome::Forwarded:
    case Outcome::Recorded: return true;
    default: return false;
  }
}

ParsedNotification parse_notification(Endpoint endpoint, std::string_view body) {
  ParsedNotification n;
  n.endpoint = endpoint;
  if (endpoint == Endpoint::NotifySafekeepers) {
    SafekeepersRequest r = parse_safekeepers(body);
    n.tenant_id = r.tenant_id;
    n.timeline_id = r.timeline_id;
    n.request = std::move(r);
  } else if (endpoint == Endpoint::NotifyAttach) {
    AttachRequest r = parse_attach(body);
    n.tenant_id = r.tenant_id;
    n.request = std::move(r);
  } else {
    throw HookError(400, std::string(endpoint_name(endpoint)) + " is not a notification");
  }
  return n;
}

namespace {

void decided_error(LocalPlan& plan, Outcome outcome, int status, const std::string& msg) {
  plan.kind = LocalPlan::Decided;
  plan.outcome = outcome;
  plan.reply = error_reply(status, msg);
}

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out;
}

LocalPlan plan_attach_local(const AttachRequest& req, const InEffect& now, const Catalog& catalog, bool refreshed) {
  LocalPlan plan;
  auto missing = catalog.nodes.missing(req.node_by_shard);
  if (!missing.empty()) {
    if (!refreshed) {
      plan.kind = LocalPlan::NeedCatalog;
      return plan;
    }
    decided_error(plan, Outcome::Unresolved, 503, "pageserver node ids unknown to storcon: " + join_ids(missing));
    return plan;
  }
  ShardMapSettings target;
  try {
    target = render_attach(req, catalog.nodes);
  } catch (const HookError& e) {
    decided_error(plan, Outcome::Unresolved, e.status, e.what());
    return plan;
  }
  plan.settings = shard_map_entries(target);
  if (settings_in_effect(plan.settings, now)) {
    plan.kind = LocalPlan::Decided;
    plan.outcome = Outcome::Unchanged;
    plan.reply = shard_map_reply("unchanged", req.tenant_id, target);
    plan.applied = shard_map_reply("applied", req.tenant_id, target);
    return plan;  // settings kept: the engine compares them with a write still pending
  }
  plan.kind = LocalPlan::Write;
  plan.applied = shard_map_reply("applied", req.tenant_id, target);
  return plan;
}

HookReply safekeepers_reply(const char* status_word, const SafekeepersRequest& req, const std::string& value,
                            const std::string& detail) {
  nlohmann::json j = {{"status", status_word},
                      {"tenant_id", req.tenant_id},
                      {"timeline_id", req.timeline_id},
                      {"generation", req.generation},
                      {"safekeepers", value}};
  if (!detail.empty()) j["detail"] = detail;
  return HookReply{200, j};
}

Outcome outcome_of(SafekeepersDecision::Kind k) {
  switch (k) {
    case SafekeepersDecision::NotHosted: return Outcome::NotHosted;
    case SafekeepersDecision::Replica: return Outcome::Replica;
    case SafekeepersDecision::Stale: return Outcome::Stale;
    case SafekeepersDecision::Unchanged: return Outcome::Unchanged;
    case SafekeepersDecision::Apply: break;
  }
  return Outcome::Applied;
}

LocalPlan plan_safekeepers_local(const SafekeepersRequest& req, const InEffect& now, const Catalog& catalog,
                                 bool refreshed) {
  LocalPlan plan;
  // A replica or an older generation: answered before any lookup.
  if (auto early = precheck_safekeepers(req, now.tenant_id, now.timeline_id, now.primary, now.safekeepers)) {
    plan.outcome = outcome_of(early->kind);
    plan.reply = safekeepers_reply(outcome_word(plan.outcome), req, now.safekeepers, early->detail);
    return plan;
  }
  auto missing = catalog.safekeepers.missing(req.ids);
  if (!missing.empty()) {
    if (!refreshed) {
      plan.kind = LocalPlan::NeedCatalog;
      return plan;
    }
    decided_error(plan, Outcome::Unresolved, 503, "safekeeper ids unknown to storcon: " + join_ids(missing));
    return plan;
  }
  std::string value;
  try {
    value = render_safekeepers(req, catalog.safekeepers, generation_prefix_supported(now.safekeeper_proto_version));
  } catch (const HookError& e) {
    decided_error(plan, Outcome::Unresolved, e.status, e.what());
    return plan;
  }
  SafekeepersDecision d = decide_safekeepers(req, now.tenant_id, now.timeline_id, now.primary, now.safekeepers, value);
  if (d.kind != SafekeepersDecision::Apply) {
    plan.outcome = outcome_of(d.kind);
    plan.reply = safekeepers_reply(outcome_word(plan.outcome), req, now.safekeepers, d.detail);
    if (d.kind == SafekeepersDecision::Unchanged) {
      plan.settings.push_back({kSafekeepersGuc, value});
      plan.applied = safekeepers_reply("applied", req, value, "");
    }
    return plan;
  }
  plan.kind = LocalPlan::Write;
  plan.settings.push_back({kSafekeepersGuc, d.value});
  plan.applied = safekeepers_reply("applied", req, d.value, "");
  return plan;
}
}  // namespace

bool hosted_here(const ParsedNotification& n, const InEffect& now) {
  if (!setting_names_id(now.tenant_id, n.tenant_id)) return false;
  if (n.endpoint == Endpoint::NotifySafekeepers && !now.timeline_id.empty() && !setting_names_id(now.timeline_id, n.timeline_id))
    return false;
  return true;
}

LocalPlan plan_local(const ParsedNotification& n, const InEffect& now, const Catalog& catalog, bool refreshed) {
  if (!hosted_here(n, now)) {
    LocalPlan plan;
    plan.outcome = Outcome::NotHosted;
    plan.reply = not_hosted_reply(n, now);
    return plan;
  }
  if (n.endpoint == Endpoint::NotifySafekeepers)
    return plan_safekeepers_local(std::get<SafekeepersRequest>(n.request), now, catalog, refreshed);
  return plan_attach_local(std::get<AttachRequest>(n.request), now, catalog, refreshed);
}

HookReply not_hosted_reply(const ParsedNotification& n, const InEffect& now) {
  std::string which = n.endpoint == Endpoint::NotifySafekeepers ? "timeline " + n.tenant_id + "/" + n.timeline_id
                                                                 : "tenant " + n.tenant_id;
  std::string mine = now.tenant_id.empty() ? "neon.tenant_id is not set" : "neon.tenant_id is " + now.tenant_id;
  nlohmann::json j = {{"status", "not_hosted"},
                      {"tenant_id", n.tenant_id},
                      {"detail", which + " is not served by this compute (" + mine + ")"}};
  if (!n.timeline_id.empty()) j["timeline_id"] = n.timeline_id;
  return HookReply{200, j};
}

std::vector<ConfEntry> shard_map_entries(const ShardMapSettings& target) {
  std::vector<ConfEntry> out;
  if (target.stripe_size) out.push_back({kStripeSizeGuc, *target.stripe_size});
  out.push_back({kConnstringGuc, target.pageserver_connstring});
  return out;
}

bool settings_in_effect(const std::vector<ConfEntry>& settings, const InEffect& now) {
  for (const auto& s : settings) {
    if (s.name == kConnstringGuc && now.pageserver_connstring != s.value) return false;
    if (s.name == kSafekeepersGuc && now.safekeepers != s.value) return false;
    if (s.name == kStripeSizeGuc && !(now.stripe_size && std::to_string(*now.stripe_size) == s.value)) return false;
  }
  return true;
}

bool generation_prefix_supported(const std::string& setting) {
  if (setting.empty()) return false;
  char* end = nullptr;
  long v = std::strtol(setting.c_str(), &end, 10);
  return end != nullptr && *end == '\0' && v >= 3;
}

HookReply shard_map_reply(const char* status_word, const std::string& tenant_id, const ShardMapSettings& target) {
  nlohmann::json j = {{"status", status_word},
                      {"tenant_id", tenant_id},
                      {"shard_count", target.shard_count},
                      {"stripe_size", nullptr},
                      {"pageserver_connstring", target.pageserver_connstring}};
  if (target.stripe_size) j["stripe_size"] = std::stoll(*target.stripe_size);
  return HookReply{200, j};
}

}  // namespace storcon
