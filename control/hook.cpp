#include "control/hook.hpp"

#include "control/ids.hpp"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace storcon {

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}
}  // namespace

Endpoint match_endpoint(std::string_view path) {
  if (ends_with(path, "/notify-attach")) return Endpoint::NotifyAttach;
  if (ends_with(path, "/notify-safekeepers")) return Endpoint::NotifySafekeepers;
  if (path == "/healthz") return Endpoint::Healthz;
  if (path == "/status") return Endpoint::Status;
  if (path == "/metrics") return Endpoint::Metrics;
  if (path == "/reconcile") return Endpoint::Reconcile;
  return Endpoint::NotFound;
}

const char* endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::NotifyAttach: return "notify-attach";
    case Endpoint::NotifySafekeepers: return "notify-safekeepers";
    case Endpoint::Healthz: return "healthz";
    case Endpoint::Status: return "status";
    case Endpoint::Metrics: return "metrics";
    case Endpoint::Reconcile: return "reconcile";
    case Endpoint::NotFound: break;
  }
  return "unknown";
}

const char* endpoint_method(Endpoint e) {
  switch (e) {
    case Endpoint::NotifyAttach:
    case Endpoint::NotifySafekeepers: return "PUT";
    case Endpoint::Healthz:
    case Endpoint::Status:
    case Endpoint::Metrics: return "GET";
    case Endpoint::Reconcile: return "POST";
    case Endpoint::NotFound: break;
  }
  return "";
}

HookReply error_reply(int status, const std::string& msg) {
  return HookReply{status, nlohmann::json{{"msg", msg}}};
}

bool settings_in_effect(const std::vector<ConfEntry>& settings, const InEffect& now) {
  for (const auto& s : settings) {
    if (s.name == kConnstringGuc && now.pageserver_connstring != s.value) return false;
    if (s.name == kSafekeepersGuc && now.safekeepers != s.value) return false;
    if (s.name == kStripeSizeGuc && !(now.stripe_size && std::to_string(*now.stripe_size) == s.value))
      return false;
  }
  return true;
}

HookReply shard_map_reply(const char* status_word, const std::string& tenant_id,
                          const ShardMapSettings& target) {
  nlohmann::json j = {{"status", status_word},
                      {"tenant_id", tenant_id},
                      {"shard_count", target.shard_count},
                      {"stripe_size", nullptr},
                      {"pageserver_connstring", target.pageserver_connstring}};
  if (target.stripe_size) j["stripe_size"] = std::stoll(*target.stripe_size);
  return HookReply{200, j};
}

namespace {
// Ids the directories lack get one refresh from storcon. False when that decides the plan (a refresh
// is under way, storcon could not be asked, or ids are still unknown: 503, storcon retries).
template <typename MissingIds>
bool resolve_ids(HookEnv& env, MissingIds missing, const char* what, HookPlan& plan) {
  if (missing().empty()) return true;
  try {
    if (!env.refresh_catalog()) {
      plan.outcome = "refreshing";
      return false;
    }
  } catch (const std::exception& e) {
    plan.outcome = "unresolved";
    plan.reply = error_reply(503, std::string("could not refresh the catalog from storcon: ") + e.what());
    return false;
  }
  std::string ids;
  for (int64_t id : missing()) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
  if (ids.empty()) return true;
  plan.outcome = "unresolved";
  plan.reply = error_reply(503, std::string(what) + " ids unknown to storcon: " + ids);
  return false;
}
}  // namespace

HookPlan plan_attach(std::string_view body, HookEnv& env) {
  HookPlan plan;
  AttachRequest req;
  try {
    req = parse_attach(body);
  } catch (const HookError& e) {
    plan.outcome = "rejected";
    plan.reply = error_reply(e.status, e.what());
    return plan;
  }
  plan.tenant_id = req.tenant_id;
  InEffect now = env.in_effect();

  // storcon sends every tenant's notifications to one URL: others' are not ours, and a non-2xx
  // answer would make storcon retry them forever and block their migrations.
  if (!now.tenant_id.empty() && to_lower(now.tenant_id.substr(0, 32)) != req.tenant_id) {
    plan.outcome = "not_hosted";
    plan.reply = HookReply{200, nlohmann::json{{"status", "not_hosted"},
                                               {"tenant_id", req.tenant_id},
                                               {"detail", "tenant " + req.tenant_id +
                                                              " is not hosted by this compute (neon.tenant_id is " +
                                                              now.tenant_id + ")"}}};
    return plan;
  }

  if (!resolve_ids(env, [&] { return missing_nodes(req, env.directory()); }, "pageserver node", plan)) return plan;

  ShardMapSettings target;
  try {
    target = render_attach(req, env.directory());
  } catch (const HookError& e) {
    plan.outcome = "unresolved";
    plan.reply = error_reply(e.status, e.what());
    return plan;
  }

  // neon.stripe_size must precede the connstring: the postmaster captures the stripe size in
  // effect when the connstring's assign hook runs (contract §2.3).
  if (target.stripe_size) plan.settings.push_back({kStripeSizeGuc, *target.stripe_size});
  plan.settings.push_back({kConnstringGuc, target.pageserver_connstring});
  if (settings_in_effect(plan.settings, now)) {
    plan.settings.clear();
    plan.outcome = "unchanged";
    plan.reply = shard_map_reply("unchanged", req.tenant_id, target);
    return plan;
  }
  plan.outcome = "apply";
  plan.applied = shard_map_reply("applied", req.tenant_id, target);
  return plan;
}

namespace {
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
}  // namespace

HookPlan plan_safekeepers(std::string_view body, HookEnv& env) {
  HookPlan plan;
  SafekeepersRequest req;
  try {
    req = parse_safekeepers(body);
  } catch (const HookError& e) {
    plan.outcome = "rejected";
    plan.reply = error_reply(e.status, e.what());
    return plan;
  }
  plan.tenant_id = req.tenant_id;
  InEffect now = env.in_effect();
  // Not ours, a replica, or an older generation: answered 200 before any lookup.
  if (auto early = precheck_safekeepers(req, now.tenant_id, now.timeline_id, now.primary, now.safekeepers)) {
    plan.outcome = decision_word(early->kind);
    plan.reply = safekeepers_reply(plan.outcome.c_str(), req, now.safekeepers, early->detail);
    return plan;
  }
  if (!resolve_ids(env, [&] { return missing_safekeepers(req, env.safekeeper_directory()); }, "safekeeper", plan))
    return plan;
  std::string value;
  try {
    value = render_safekeepers(req, env.safekeeper_directory());
  } catch (const HookError& e) {
    plan.outcome = "unresolved";
    plan.reply = error_reply(e.status, e.what());
    return plan;
  }
  SafekeepersDecision d = decide_safekeepers(req, now.tenant_id, now.timeline_id, now.primary, now.safekeepers, value);
  if (d.kind != SafekeepersDecision::Apply) {
    plan.outcome = decision_word(d.kind);
    plan.reply = safekeepers_reply(plan.outcome.c_str(), req, now.safekeepers, d.detail);
    return plan;
  }
  plan.outcome = "apply";
  plan.settings.push_back({kSafekeepersGuc, d.value});
  plan.applied = safekeepers_reply("applied", req, d.value, "");
  return plan;
}

void HookStats::count(Endpoint e, int status) { requests_[endpoint_name(e)][status]++; }

void HookStats::observe_apply(double ms) {
  for (size_t i = 0; i < sizeof(kLatencyBucketsMs) / sizeof(double); i++)
    if (ms <= kLatencyBucketsMs[i]) latency_buckets_[i]++;
  latency_count_++;
  latency_sum_ms_ += ms;
}

uint64_t HookStats::events(const std::string& name) const {
  auto it = events_.find(name);
  return it == events_.end() ? 0 : it->second;
}

uint64_t HookStats::record_notification(const std::string& tenant_id, int status, const std::string& outcome,
                                        const std::string& detail) {
  outcomes_[outcome]++;
  last_ = {{"seq", ++seq_},
           {"at", now_iso8601()},
           {"tenant_id", tenant_id},
           {"http_status", status},
           {"outcome", outcome},
           {"detail", detail}};
  return seq_;
}

nlohmann::json HookStats::to_json() const {
  nlohmann::json requests = nlohmann::json::object();
  for (const auto& [ep, by_status] : requests_)
    for (const auto& [status, n] : by_status) requests[ep][std::to_string(status)] = n;
  return {{"requests", requests}, {"outcomes", outcomes_}, {"events", events_}, {"last_notification", last_}};
}

nlohmann::json status_json(const std::string& listen, const InEffect& now, const HookStats& stats,
                           size_t queued, bool applying) {
  nlohmann::json in_effect = {{"pageserver_connstring", now.pageserver_connstring},
                              {"stripe_size", nullptr},
                              {"safekeepers", now.safekeepers}};
  if (now.stripe_size) in_effect["stripe_size"] = *now.stripe_size;
  nlohmann::json j = {{"listen", listen},
                      {"tenant_id", now.tenant_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(now.tenant_id)},
                      {"timeline_id", now.timeline_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(now.timeline_id)},
                      {"in_effect", in_effect},
                      {"primary", now.primary},
                      {"queued", queued},
                      {"applying", applying}};
  j.update(stats.to_json());
  return j;
}

}  // namespace storcon
