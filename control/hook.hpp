// The compute hook's vocabulary, independent of PostgreSQL and of the HTTP library: the endpoints a
// path names, the answer type, the neon settings as the worker sees them, and the counters behind
// GET /status and GET /metrics. The decisions live in hook_router (per request, on its headers),
// hook_plan (what a notification asks of this compute) and hook_engine (the state machine).
#pragma once
#include "control/guard.hpp"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace storcon {

enum class Endpoint {
  NotifyAttach,       // PUT  <prefix>/notify-attach        (storcon)
  NotifySafekeepers,  // PUT  <prefix>/notify-safekeepers   (storcon)
  ImportComplete,     // PUT  <prefix>/import_complete      (storcon, timeline imports)
  Computes,           // PUT / DELETE /computes/<id>         (computes registering with a hub)
  Reconcile,          // POST /reconcile                    (operators)
  Healthz,            // GET  /healthz                      (open)
  Status,             // GET  /status
  Metrics,            // GET  /metrics
  Page,               // GET  /                             (the status page)
  NotFound,
};

// Any path prefix for storcon's calls: ".../notify-attach" under whatever --control-plane-url carries.
Endpoint match_endpoint(std::string_view path);
const char* endpoint_name(Endpoint e);
// Whether `method` is one the endpoint accepts, and the list for a 405's message.
bool method_allowed(Endpoint e, std::string_view method);
const char* allowed_methods(Endpoint e);

struct HookReply {
  HookReply(int status = 200, nlohmann::json body = nullptr) : status(status), body(std::move(body)) {}
  int status;
  nlohmann::json body;
  std::string text;          // when not empty, sent as is instead of body ...
  std::string content_type;  // ... with this type (text/plain for /metrics, text/html for the page)
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers (the page's CSP)
};

HookReply error_reply(int status, const std::string& msg);  // {"msg": ...}, storcon's error shape

// The neon settings as the worker sees them after its last reload.
struct InEffect {
  std::string tenant_id;  // neon.tenant_id, "" when unset
  std::string timeline_id;
  std::string pageserver_connstring;
  std::optional<int64_t> stripe_size;  // pages
  std::string safekeepers;             // neon.safekeepers
  std::string safekeeper_proto_version;  // neon.safekeeper_proto_version, "" when neon lacks it
  bool primary = true;                 // false on a hot standby
};

inline constexpr const char* kStripeSizeGuc = "neon.stripe_size";
inline constexpr const char* kConnstringGuc = "neon.pageserver_connstring";

// Counters and the last notification, for GET /status and GET /metrics.
class HookStats {
 public:
  static constexpr double kLatencyBucketsMs[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

  void count(Endpoint e, int status);
  // Time from receiving a notification to answering it, for those that wrote the config.
  void observe_apply(double ms);
  // Named events: catalog_refresh, catalog_refresh_failure, storcon_error, reconcile, ...
  void event(const std::string& name) { events_[name]++; }
  uint64_t events(const std::string& name) const;
  // Prometheus text exposition (control/metrics.cpp).
  std::string prometheus(const InEffect& now) const;
  // Records the notification's outcome; returns its sequence number in this worker's lifetime.
  uint64_t record_notification(const std::string& tenant_id, int status, const std::string& outcome,
                               const std::string& detail);
  nlohmann::json to_json() const;

 private:
  std::map<std::string, std::map<int, uint64_t>> requests_;
  std::map<std::string, uint64_t> outcomes_;
  nlohmann::json last_ = nullptr;
  uint64_t seq_ = 0;
  std::map<std::string, uint64_t> events_;
  uint64_t latency_buckets_[sizeof(kLatencyBucketsMs) / sizeof(double)] = {};
  uint64_t latency_count_ = 0;
  double latency_sum_ms_ = 0;
};

}  // namespace storcon
