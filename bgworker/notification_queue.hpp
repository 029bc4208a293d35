// Notifications (notify-attach, notify-safekeepers) and reconcile actions are applied one at a time,
// in arrival order: plan (control/), write the config file in one durable replacement, signal the
// postmaster, then wait for the worker's own reload to show the written values before answering.
// While one waits, others queue; /healthz, /status and /metrics are answered by the dispatcher
// meanwhile. The final state is the last notification answered 200.
#pragma once

#include "bgworker/audit_log.hpp"
#include "bgworker/hook_auth_setup.hpp"
#include "bgworker/http_server.hpp"
#include "bgworker/pg_env.hpp"
#include "control/async_fetch.hpp"

#include <deque>
#include <functional>
#include <optional>

namespace storcon::worker {

// One unit of work for the queue.
struct Job {
  Request* request = nullptr;    // the HTTP request to answer; nullptr for start-up/periodic reconcile
  Endpoint kind = Endpoint::NotifyAttach;
  std::optional<HookPlan> plan;  // made by the reconciler, or from the body when the job starts
  long long received_us = 0;
};

class NotificationQueue : public Dispatcher {
 public:
  explicit NotificationQueue(PgHookEnv& env) : env_(env) {}
  void set_server(HookServer* server) { server_ = server; }
  // The authenticator for every endpoint but /healthz; `warning` is shown in /status.
  void set_auth(HookAuthSetup auth, std::string warning);
  // POST /reconcile is handed to this (the Reconciler); it answers the request later.
  void set_reconcile_handler(std::function<void(Request*)> handler) { on_reconcile_ = std::move(handler); }
  // Extra fields for /status (the reconciler's state).
  void set_status_extra(std::function<nlohmann::json()> extra) { status_extra_ = std::move(extra); }
  // Lines for the server log, collected where elog is not allowed (inside MHD's callbacks).
  std::vector<std::string> take_log();

  bool dispatch(Request& req, HookReply* reply) override;

  void enqueue(Job job) { queue_.push_back(std::move(job)); }
  void answer(Request* req, HookReply reply);  // answer a suspended request now
  void pump();                      // start the next job when none is in flight
  void on_reload();                 // the worker processed a SIGHUP
  void on_tick();                   // deadline check
  long wait_cap_ms() const;         // how long the loop may sleep
  bool idle() const { return !in_flight_ && !forwarding_ && !refreshing_ && queue_.empty(); }
  // When a notification last changed the configuration (reconcile plans older than that are stale).
  long long last_notification_applied_us() const { return last_notification_applied_us_; }
  HookStats& stats() { return stats_; }
  AuditLog& audit() { return audit_; }

 private:
  struct InFlight {
    Job job;
    std::vector<ConfEntry> before;  // the file's entries before our write, for the undo
    long long deadline_us;
  };

  struct Forwarding {
    Job job;
    std::string outcome;
    HookReply local;  // this compute's answer, given once every forward answered 200
    bool wrote;
  };

  void start(Job job);
  // Done here: forward to the other computes first when configured, then complete().
  void finish(Job& job, const std::string& outcome, HookReply reply, bool wrote);
  void complete(Job& job, const std::string& outcome, HookReply reply, bool wrote);
  bool start_forwarding(Job& job, const std::string& outcome, HookReply& reply, bool wrote);
  void poll_forwarding();
  void start_refresh(Job job);
  void poll_refresh();
  // Records the outcome (counters, sequence number, audit log); the reply is then sent by the caller.
  void record(Job& job, const std::string& outcome, HookReply& reply, bool wrote);

  PgHookEnv& env_;
  HookServer* server_ = nullptr;
  HookStats stats_;
  AuditLog audit_;
  HookAuthSetup auth_;
  std::string auth_warning_;
  std::function<void(Request*)> on_reconcile_;
  std::function<nlohmann::json()> status_extra_;
  std::vector<std::string> log_;
  std::deque<Job> queue_;
  std::optional<InFlight> in_flight_;
  std::optional<Forwarding> forwarding_;
  AsyncFetcher forward_fetch_;
  std::optional<Job> refreshing_;   // waits for the catalog refresh it asked for
  AsyncFetcher refresh_fetch_;
  long long last_notification_applied_us_ = 0;
};

long long now_us();

}  // namespace storcon::worker
