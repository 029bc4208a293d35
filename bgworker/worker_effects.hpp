// What the notification state machine (control/hook_engine) asks of the world, done the
// PostgreSQL way: write postgresql.auto.conf and signal the postmaster, undo, refresh the catalog
// from storcon and mirror it, forward to other computes, answer suspended HTTP requests, and keep
// the audit log and counters. Refreshes and forwards start transfers on the worker's fetcher;
// their results come back through on_transfer_done(), which feeds the engine. Nothing here blocks.
#pragma once

#include "bgworker/audit_log.hpp"
#include "bgworker/http_server.hpp"
#include "control/apply_timing.hpp"
#include "control/async_fetch.hpp"
#include "control/compute_registry.hpp"
#include "control/hook_engine.hpp"
#include "extension/catalog_sync.hpp"

#include <functional>
#include <map>
#include <set>

namespace storcon::worker {

// Monotonic microseconds (deadlines must not jump with the wall clock).
class SteadyClock : public Clock {
 public:
  int64_t now_us() const override;
};

class WorkerEffects : public HookEffects {
 public:
  WorkerEffects(AsyncFetcher& fetcher, const Clock& clock, HookStats& stats, AuditLog& audit)
      : fetcher_(fetcher), clock_(clock), stats_(stats), audit_(audit) {}
  void attach(HookEngine* engine, HookServer* server) {
    engine_ = engine;
    server_ = server;
  }
  // The registered computes notifications are routed to, and this compute's own id among them.
  void route_with(const ComputeRegistry* registry, std::string self_id) {
    registry_ = registry;
    self_id_ = std::move(self_id);
  }
  // Set by the worker: where reconcile passes are reported.
  std::function<void(uint64_t, const HookReply&)> on_reconcile_done;

  WriteResult write_settings(const std::vector<ConfEntry>& settings) override;
  std::string undo_settings(const std::vector<ConfEntry>& written, const std::vector<ConfEntry>& before) override;
  void start_catalog_refresh(int64_t deadline_us) override;
  void start_forward(uint64_t batch, const ForwardRequest& request) override;
  std::vector<ForwardTarget> forward_targets(const ParsedNotification& n, bool hosted_here) override;
  void answer(RequestId id, const HookReply& reply) override;
  uint64_t record(const NotificationRecord& record) override;
  void reconcile_done(uint64_t pass, const HookReply& reply) override;
  void applied(const std::vector<ConfEntry>& written) override;
  // Rewrites storcon.compute_ctl_config to describe what is in effect (when it is set).
  void sync_compute_ctl_config();
  // {"path", "last_error"|null, "updated_at"} or null when no file is configured.
  nlohmann::json compute_ctl_status() const;

  // The endpoint of a request handed to the engine (for the per-endpoint counters).
  void track(RequestId id, Endpoint e) { endpoints_[id] = e; }
  // A transfer of ours finished (false: not ours).
  bool on_transfer_done(AsyncFetcher::Id id, HttpResult& result);
  // New directories from a fetched snapshot, and the mirror tables too on a primary.
  void replace_catalog(const pg::CatalogSnapshot& snap);
  // The node and safekeeper lists of a refresh ("nodes", "safekeepers" in `answers`, taken out):
  // decoded, the directories and the mirror replaced, counted. Throws what went wrong.
  void take_catalog(std::map<std::string, HttpResult>& answers);
  // Loads the directories from the mirror tables (a start with storcon down still resolves ids).
  void load_catalog_from_mirror();
  // Results that must reach the engine, delivered by the loop (never from inside an engine call).
  void run_deferred();
  bool has_deferred() const { return !deferred_.empty(); }
  // Lines for the server log, collected where elog is not allowed.
  std::vector<std::string> take_log();
  void log(std::string line) { log_.push_back(std::move(line)); }
  ApplyTimings& timings() { return timings_; }

 private:
  void finish_refresh();
  void finish_forward(uint64_t batch);

  AsyncFetcher& fetcher_;
  const Clock& clock_;
  HookStats& stats_;
  AuditLog& audit_;
  HookEngine* engine_ = nullptr;
  HookServer* server_ = nullptr;
  const ComputeRegistry* registry_ = nullptr;
  std::string self_id_;
  std::vector<std::string> log_;
  std::vector<std::function<void()>> deferred_;
  ApplyTimings timings_;
  std::string spec_error_;
  uint64_t spec_writes_ = 0;
  std::map<RequestId, Endpoint> endpoints_;
  // The refresh on a miss: both lists fetched in parallel.
  std::map<AsyncFetcher::Id, std::string> refresh_ids_;  // id -> "nodes" | "safekeepers"
  std::map<std::string, HttpResult> refresh_results_;
  // Forwards: transfer -> (batch, target index); batch -> results so far.
  struct Batch {
    std::vector<ForwardResult> results;
    size_t pending = 0;
  };
  std::map<AsyncFetcher::Id, std::pair<uint64_t, size_t>> forward_ids_;
  std::map<uint64_t, Batch> batches_;
};

}  // namespace storcon::worker
