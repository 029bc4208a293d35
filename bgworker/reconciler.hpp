// Convergence with storcon: at start, every storcon.sync_interval, on storcon.reconcile() (through
// shared memory) and on an authenticated POST /reconcile, ask storcon for the node and safekeeper
// lists, this compute's tenant placement and its timeline's safekeepers; refresh the catalog and
// its mirror; and hand whatever differs to the notification state machine, which writes it like a
// notification (unless a newer notification already decided it). The requests run on the worker's
// fetcher: a slow or dead storcon never blocks the hook. Failures back off exponentially and show
// in /status. Several callers asking at once share one pass.
#pragma once

#include "bgworker/worker_effects.hpp"
#include "control/async_fetch.hpp"
#include "control/hook_engine.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace storcon::worker {

class Reconciler {
 public:
  Reconciler(AsyncFetcher& fetcher, HookEngine& engine, WorkerEffects& effects, const Clock& clock,
             HookStats& stats)
      : fetcher_(fetcher), engine_(engine), effects_(effects), clock_(clock), stats_(stats) {}

  // Answers for the callers of a pass: HTTP request ids and the shared-memory ticket.
  std::function<void(uint64_t, const HookReply&)> answer_http;
  std::function<void(uint64_t ticket, const HookReply&)> answer_ticket;

  // A pass as soon as possible. http_id != 0: answered when it is done; ticket != 0: likewise
  // through shared memory (storcon.reconcile()).
  void request(uint64_t http_id, uint64_t ticket);
  // storcon.sync_interval may have changed: the next periodic pass is scheduled anew.
  void on_reload();
  // A query cancel: the running pass stops; its callers are told.
  void cancel(const std::string& why);
  bool on_transfer_done(AsyncFetcher::Id id, HttpResult& result);
  // The engine finished the pass's change (WorkerEffects::reconcile_done).
  void on_applied(uint64_t pass, const HookReply& reply);
  void tick();
  int64_t next_due_us() const;  // INT64_MAX: nothing scheduled
  nlohmann::json status() const;

 private:
  void start();
  void complete();
  void fail(const std::string& why);
  void finish(const HookReply& reply);
  void schedule_next(int64_t from_us);

  AsyncFetcher& fetcher_;
  HookEngine& engine_;
  WorkerEffects& effects_;
  const Clock& clock_;
  HookStats& stats_;

  uint64_t pass_ = 0;                 // the running pass, 0 = none
  bool applying_ = false;             // its change is in the engine
  int64_t started_us_ = 0;
  std::map<AsyncFetcher::Id, std::string> transfers_;  // id -> "nodes" | "safekeepers" | "locate" | "timeline"
  std::map<std::string, HttpResult> results_;
  std::vector<uint64_t> http_waiters_, next_http_waiters_;
  uint64_t ticket_ = 0, next_ticket_ = 0;
  bool wanted_ = true;                // a pass is due now (at start: converge)
  int64_t next_due_us_ = 0;
  int failures_ = 0;
  std::string last_error_;
  std::string last_note_;  // why the last pass left something alone
  int64_t last_success_us_ = 0;
  int64_t last_pass_end_us_ = 0;
};

}  // namespace storcon::worker
