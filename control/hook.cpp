#include "control/hook.hpp"


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
  if (ends_with(path, "/import_complete")) return Endpoint::ImportComplete;
  if (path.substr(0, 10) == "/computes/" && path.size() > 10) return Endpoint::Computes;
  if (path == "/healthz") return Endpoint::Healthz;
  if (path == "/status") return Endpoint::Status;
  if (path == "/metrics") return Endpoint::Metrics;
  if (path == "/reconcile") return Endpoint::Reconcile;
  if (path == "/") return Endpoint::Page;
  return Endpoint::NotFound;
}

const char* endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::NotifyAttach: return "notify-attach";
    case Endpoint::NotifySafekeepers: return "notify-safekeepers";
    case Endpoint::ImportComplete: return "import_complete";
    case Endpoint::Computes: return "computes";
    case Endpoint::Reconcile: return "reconcile";
    case Endpoint::Healthz: return "healthz";
    case Endpoint::Status: return "status";
    case Endpoint::Metrics: return "metrics";
    case Endpoint::Page: return "page";
    case Endpoint::NotFound: break;
  }
  return "unknown";
}

const char* allowed_methods(Endpoint e) {
  switch (e) {
    case Endpoint::NotifyAttach:
    case Endpoint::NotifySafekeepers:
    case Endpoint::ImportComplete: return "PUT";
    case Endpoint::Computes: return "PUT, DELETE";
    case Endpoint::Reconcile: return "POST";
    case Endpoint::Healthz:
    case Endpoint::Status:
    case Endpoint::Metrics:
    case Endpoint::Page: return "GET";
    case Endpoint::NotFound: break;
  }
  return "";
}

bool method_allowed(Endpoint e, std::string_view method) {
  if (e == Endpoint::Computes) return method == "PUT" || method == "DELETE";
  return !method.empty() && method == allowed_methods(e);
}

HookReply error_reply(int status, const std::string& msg) {
  return HookReply{status, nlohmann::json{{"msg", msg}}};
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

}  // namespace storcon
