// The notification state machine: every notification (and every reconcile pass's change) goes
// received -> planned -> [catalog refreshed -> planned again] -> queued -> written -> verified, and
// in parallel -> forwarded, and is answered exactly once, within its deadline. The worker only
// pumps events into it (a request, a reload, a finished refresh or forward, the clock) and carries
// out its effects (write, undo, refresh, forward, answer, record) through HookEffects, so every
// timing rule here is unit-tested with a fake clock and fake effects.
//
// The rules:
// - A notification that needs no write (another tenant's, an unchanged placement, a stale
//   generation, a replica) is answered at once; it never waits behind one that does.
// - Writes are grouped: notifications queued while a write awaits its reload share the next
//   write. A notification is answered 200 once a write holding its placement, or the placement of
//   one received after it, is in effect ("last writer wins", contract §6.5).
// - A write whose reload does not show the values is undone (only what is still ours) and its
//   notifications answered 503.
// - Forwards to the tenant's other computes run in parallel with the local work, one batch per
//   tenant at a time (the newest body); a compute that refuses the connection is not running and
//   does not fail the notification; one that answers an error or not in time does.
// - Every answer leaves by the notification's deadline: what is not done by then is answered 503
//   (storcon retries); a write already made still completes (or is undone) later.
// - A reconcile pass's change is dropped for a group of settings in which a notification newer
//   than the pass's question to storcon was decided (storcon told us something newer).
#pragma once
#include "control/guard.hpp"

#include "control/hook_plan.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace storcon {

using RequestId = uint64_t;  // the worker's handle for a suspended HTTP request; 0 = none

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_us() const = 0;  // monotonic enough for deadlines
};

struct WriteResult {
  bool ok = false;
  std::string error;              // !ok: why, one sentence
  bool file_replaced = false;     // !ok, yet the new file is in place (a failure after the rename)
  std::vector<ConfEntry> before;  // ok: the file's entries from before the write, for an undo
};

struct ForwardTarget {
  std::string url;         // hook base URL
  std::string compute_id;  // registry id, "" for storcon.hook_forward_to entries
};

struct ForwardRequest {
  Endpoint endpoint = Endpoint::NotifyAttach;
  std::string body;
  std::optional<std::string> authorization;  // storcon's header, forwarded unless a token is set
  std::vector<ForwardTarget> targets;
  int64_t deadline_us = 0;                   // every target must have answered by then
};

struct ForwardResult {
  ForwardTarget target;
  long status = 0;           // HTTP status, 0 = none
  std::string error;         // transport error or the target's {"msg"}
  bool not_running = false;  // the connection was refused: the compute is stopped
};

struct NotificationRecord {
  Endpoint endpoint = Endpoint::NotifyAttach;
  std::string tenant_id, timeline_id;
  std::string body;  // the request body, or the changes of a reconcile
  int status = 200;
  Outcome outcome = Outcome::Applied;
  std::string detail;
  double duration_ms = 0;
  bool wrote = false;
  bool reconcile = false;
  nlohmann::json forwarded = nullptr;  // [{url, compute_id, status|error, outcome}]
};

class HookEffects {
 public:
  virtual ~HookEffects() = default;
  // One durable replacement of the configuration, then the reload signal.
  virtual WriteResult write_settings(const std::vector<ConfEntry>& settings) = 0;
  // Puts `before` back for each written setting whose value in the file is still ours. Returns
  // one sentence saying what happened (for the answer).
  virtual std::string undo_settings(const std::vector<ConfEntry>& written, const std::vector<ConfEntry>& before) = 0;
  // Refreshes catalog() from storcon without blocking; the worker calls on_catalog_refreshed.
  virtual void start_catalog_refresh(int64_t deadline_us) = 0;
  // Sends one batch without blocking; the worker calls on_forwarded(batch, ...).
  virtual void start_forward(uint64_t batch, const ForwardRequest& request) = 0;
  // The other computes a notification must reach (registered computes, storcon.hook_forward_to).
  virtual std::vector<ForwardTarget> forward_targets(const ParsedNotification& n, bool hosted_here) = 0;
  virtual void answer(RequestId id, const HookReply& reply) = 0;
  // The audit log and the counters; returns the notification's sequence number.
  virtual uint64_t record(const NotificationRecord& record) = 0;
  virtual void reconcile_done(uint64_t pass, const HookReply& reply) = 0;
  // A write was verified in effect (before its notifications are answered): e.g. keep
  // compute_ctl's config file in step with it.
  virtual void applied(const std::vector<ConfEntry>& /*written*/) {}
};

struct Notification {
  RequestId id = 0;
  Endpoint endpoint = Endpoint::NotifyAttach;
  std::string body;
  std::optional<std::string> authorization;
  bool forwarded = false;    // from another compute's hook: applied here, never forwarded again
  int64_t deadline_us = 0;   // the forwarder's deadline, 0 = none (the engine's budget applies)
};

struct EngineConfig {
  int64_t answer_budget_us = 8'000'000;  // storcon.hook_apply_timeout: storcon waits 10 s
  int64_t forward_margin_us = 300'000;   // a forward must be answered this long before our deadline
  int64_t rewrite_after_us = 200'000;    // a newer placement may replace a write awaiting its reload this long
};

class HookEngine {
 public:
  HookEngine(HookEffects& effects, const Clock& clock) : effects_(effects), clock_(clock) {}
  HookEngine(const HookEngine&) = delete;
  HookEngine& operator=(const HookEngine&) = delete;

  void configure(const EngineConfig& config) { config_ = config; }
  const EngineConfig& config() const { return config_; }

  // A notification whose request passed authentication and size checks.
  void receive(Notification n);
  // A reconcile pass's differences (control/reconcile plan_reconcile), asked from storcon at started_us.
  void submit_reconcile(uint64_t pass, int64_t started_us, const std::vector<ConfEntry>& settings,
                        nlohmann::json changes);
  void on_reload(const InEffect& now);
  // The worker replaced catalog() (ok) or could not (error).
  void on_catalog_refreshed(bool ok, const std::string& error);
  void on_forwarded(uint64_t batch, const std::vector<ForwardResult>& results);
  void tick();  // answers what reached its deadline

  // When tick() must run next (INT64_MAX: nothing is waiting).
  int64_t next_deadline_us() const;
  bool idle() const { return entries_.empty(); }
  Catalog& catalog() { return catalog_; }
  const InEffect& in_effect() const { return in_effect_; }
  // {"pending": n, "writing": bool, "refreshing": bool, "forwarding": n}
  nlohmann::json status() const;

 private:
  enum class Local { None, Waiting, Queued, Written, Done };
  enum class Fwd { None, Waiting, Done };
  struct Entry {
    uint64_t seq = 0;
    RequestId id = 0;
    uint64_t reconcile_pass = 0;  // != 0: a reconcile pass's change, answered via reconcile_done
    Endpoint endpoint = Endpoint::NotifyAttach;
    std::string tenant_id, timeline_id, body;
    std::optional<std::string> authorization;
    std::optional<ParsedNotification> parsed;
    int64_t received_us = 0, intent_us = 0, deadline_us = 0;
    bool groups[2] = {false, false};  // SettingGroup it writes
    Local local = Local::None;
    LocalPlan plan;  // Write: settings/applied; Done: outcome/reply
    bool wrote = false;
    Fwd fwd = Fwd::None;
    std::vector<ForwardTarget> targets;
    std::vector<ForwardResult> fwd_results;
    bool answered = false;
  };
  struct Writing {
    std::vector<ConfEntry> settings;
    std::vector<ConfEntry> before;
    std::vector<uint64_t> covered;
    int64_t written_us = 0;
  };
  struct Batch {
    std::string key;
    std::vector<uint64_t> covered;
  };

  Entry* find(uint64_t seq);
  void plan(Entry& e, bool refreshed);
  void queue_write(Entry& e);
  void finish_local(Entry& e, Outcome outcome, HookReply reply);
  void pump();
  void pump_write();
  void pump_forwards();
  void maybe_answer(Entry& e);
  HookReply compose(const Entry& e, Outcome* outcome) const;
  void fail_deadline(Entry& e);
  void send_answer(Entry& e, HookReply reply, Outcome outcome);
  // Newest (intent, seq) decided for a group of settings; older plans are superseded by it.
  bool newer_decided(const Entry& e, SettingGroup g) const;

  HookEffects& effects_;
  const Clock& clock_;
  EngineConfig config_;
  InEffect in_effect_;
  Catalog catalog_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, Entry> entries_;  // by seq
  std::optional<Writing> writing_;
  bool refreshing_ = false;
  std::map<std::string, std::deque<uint64_t>> forward_queue_;  // by tenant key, oldest first
  std::map<uint64_t, Batch> batches_;                            // in flight
  std::map<std::string, uint64_t> batch_of_key_;
  uint64_t next_batch_ = 1;
  std::pair<int64_t, uint64_t> decided_[2] = {{0, 0}, {0, 0}};  // per group: (intent_us, seq)
};

}  // namespace storcon
