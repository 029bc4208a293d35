// The compute hook's decisions, independent of PostgreSQL and of the HTTP library: which endpoint a
// path names, what a notify-attach asks for, whether it is already in effect, and the JSON of every
// answer. bgworker/ supplies the environment (the settings in effect, the node directory) and does
// the writing, reloading and waiting.
#pragma once
#include "control/guard.hpp"

#include "control/auto_conf.hpp"
#include "control/notify_attach.hpp"
#include "control/notify_safekeepers.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace storcon {

enum class Endpoint { NotifyAttach, NotifySafekeepers, Healthz, Status, Metrics, Reconcile, NotFound };

// Any path prefix: ".../notify-attach" under whatever --control-plane-url carries.
Endpoint match_endpoint(std::string_view path);
const char* endpoint_name(Endpoint e);
// The one method each endpoint accepts.
const char* endpoint_method(Endpoint e);

struct HookReply {
  HookReply(int status = 200, nlohmann::json body = nullptr) : status(status), body(std::move(body)) {}
  int status;
  nlohmann::json body;
  std::string text;  // when not empty, sent as text/plain instead of body (GET /metrics)
};

HookReply error_reply(int status, const std::string& msg);  // {"msg": ...}, storcon's error shape

// The neon settings as the worker sees them after its last reload.
struct InEffect {
  std::string tenant_id;  // neon.tenant_id, "" when unset
  std::string timeline_id;
  std::string pageserver_connstring;
  std::optional<int64_t> stripe_size;  // pages
  std::string safekeepers;             // neon.safekeepers
  bool primary = true;                 // false on a hot standby
};

class HookEnv {
 public:
  virtual ~HookEnv() = default;
  virtual InEffect in_effect() = 0;
  virtual const NodeDirectory& directory() = 0;
  virtual const SafekeeperDirectory& safekeeper_directory() = 0;
  // Makes the directories fresh from storcon: true when they are (refreshed now, or just before this
  // plan), false when a refresh has been started and the plan must be made again once it is done
  // (the worker never blocks on storcon). Throws std::exception with a readable message on failure.
  virtual bool refresh_catalog() = 0;
};

inline constexpr const char* kStripeSizeGuc = "neon.stripe_size";
inline constexpr const char* kConnstringGuc = "neon.pageserver_connstring";

struct HookPlan {
  std::optional<HookReply> reply;   // set: answer this now, change nothing
  std::string tenant_id;
  // not_hosted / unchanged / rejected / unresolved / stale / replica / apply, or "refreshing": neither
  // reply nor settings, plan again once the catalog refresh is done
  std::string outcome;
  std::vector<ConfEntry> settings;  // otherwise: write these in this order, reload, verify
  HookReply applied;                // ... and answer this once they are in effect
};

HookPlan plan_attach(std::string_view body, HookEnv& env);
HookPlan plan_safekeepers(std::string_view body, HookEnv& env);

// True when the worker's view shows exactly these settings (the stripe size compared as a number).
bool settings_in_effect(const std::vector<ConfEntry>& settings, const InEffect& now);

// {"status": "applied"|"unchanged", "tenant_id", "shard_count", "stripe_size", "pageserver_connstring"}
HookReply shard_map_reply(const char* status_word, const std::string& tenant_id,
                          const ShardMapSettings& target);

// Counters and the last notification, for GET /status and GET /metrics.
class HookStats {
 public:
  static constexpr double kLatencyBucketsMs[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

  void count(Endpoint e, int status);
  // Time from receiving a notification to answering it, for those that wrote the config.
  void observe_apply(double ms);
  // Named events: catalog_refresh, catalog_refresh_failure, storcon_error, reconcile, reconcile_failure, ...
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

nlohmann::json status_json(const std::string& listen, const InEffect& now, const HookStats& stats,
                           size_t queued, bool applying);

}  // namespace storcon
