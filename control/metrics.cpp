// GET /metrics: the hook's counters in Prometheus' text exposition format (version 0.0.4).
#include "control/hook.hpp"
#include "control/notify_safekeepers.hpp"

#include <sstream>

namespace storcon {

namespace {
std::string shard_count_of(const std::string& connstring) {
  if (connstring.empty()) return "0";
  size_t n = 1;
  for (char c : connstring) n += c == ',';
  return std::to_string(n);
}
}  // namespace

std::string HookStats::prometheus(const InEffect& now) const {
  std::ostringstream out;
  out << "# HELP pg_storcon_hook_requests_total Hook requests by endpoint and HTTP status.\n"
         "# TYPE pg_storcon_hook_requests_total counter\n";
  for (const auto& [ep, by_status] : requests_)
    for (const auto& [status, n] : by_status)
      out << "pg_storcon_hook_requests_total{endpoint=\"" << ep << "\",status=\"" << status << "\"} " << n << "\n";

  out << "# HELP pg_storcon_notifications_total Notifications and reconcile passes by outcome "
         "(applied, unchanged, not_hosted, stale, replica, rejected, unresolved, ...).\n"
         "# TYPE pg_storcon_notifications_total counter\n";
  for (const auto& [outcome, n] : outcomes_)
    out << "pg_storcon_notifications_total{outcome=\"" << outcome << "\"} " << n << "\n";

  out << "# HELP pg_storcon_events_total Catalog refreshes and their failures, storcon call errors, "
         "reconcile runs, failures and actions.\n"
         "# TYPE pg_storcon_events_total counter\n";
  for (const char* name : {"catalog_refresh", "catalog_refresh_failure", "storcon_error", "reconcile",
                           "reconcile_failure", "reconcile_action"})
    out << "pg_storcon_events_total{event=\"" << name << "\"} " << events(name) << "\n";

  out << "# HELP pg_storcon_apply_duration_seconds From receiving a notification that changes the "
         "configuration to answering it, verification included.\n"
         "# TYPE pg_storcon_apply_duration_seconds histogram\n";
  for (size_t i = 0; i < sizeof(kLatencyBucketsMs) / sizeof(double); i++)
    out << "pg_storcon_apply_duration_seconds_bucket{le=\"" << kLatencyBucketsMs[i] / 1000 << "\"} "
        << latency_buckets_[i] << "\n";
  out << "pg_storcon_apply_duration_seconds_bucket{le=\"+Inf\"} " << latency_count_ << "\n"
      << "pg_storcon_apply_duration_seconds_sum " << latency_sum_ms_ / 1000 << "\n"
      << "pg_storcon_apply_duration_seconds_count " << latency_count_ << "\n";

  auto sk = parse_safekeepers_setting(now.safekeepers);
  out << "# HELP pg_storcon_shard_count Shards in the pageserver connstring in effect.\n"
         "# TYPE pg_storcon_shard_count gauge\n"
         "pg_storcon_shard_count " << shard_count_of(now.pageserver_connstring) << "\n"
      << "# HELP pg_storcon_safekeeper_generation Generation of the safekeeper list in effect (0: none).\n"
         "# TYPE pg_storcon_safekeeper_generation gauge\n"
         "pg_storcon_safekeeper_generation " << (sk ? sk->generation : 0) << "\n";
  return out.str();
}

}  // namespace storcon
