// Notifications (notify-attach, notify-safekeepers) are applied one at a time, in arrival order:
// plan (control/), write the config file
// in one durable replacement, signal the postmaster, then wait for the worker's own reload to show
// the written values before answering. While one waits, others queue; /healthz and /status are
// answered by the dispatcher meanwhile. The final state is the last notification answered 200.
#pragma once

#include "bgworker/hook_auth_setup.hpp"
#include "bgworker/http_server.hpp"
#include "bgworker/pg_env.hpp"

#include <deque>
#include <optional>

namespace storcon::worker {

class NotificationQueue : public Dispatcher {
 public:
  explicit NotificationQueue(PgHookEnv& env) : env_(env) {}
  void set_server(HookServer* server) { server_ = server; }
  // The authenticator for every endpoint but /healthz; `warning` is shown in /status.
  void set_auth(HookAuthSetup auth, std::string warning);
  // Lines for the server log, collected where elog is not allowed (inside MHD's callbacks).
  std::vector<std::string> take_log();

  bool dispatch(Request& req, HookReply* reply) override;

  void pump();                      // start the next notification when none is in flight
  void on_reload();                 // the worker processed a SIGHUP
  void on_tick();                   // deadline check
  long wait_cap_ms() const;         // how long the loop may sleep

 private:
  struct InFlight {
    Request* request;
    HookPlan plan;
    std::vector<ConfEntry> before;  // the file's entries before our write, for the undo
    long long deadline_us;
  };

  void start(Request* req);
  void finish(Request* req, const std::string& tenant, const std::string& outcome, HookReply reply);

  PgHookEnv& env_;
  HookServer* server_ = nullptr;
  HookStats stats_;
  HookAuthSetup auth_;
  std::string auth_warning_;
  std::vector<std::string> log_;
  std::deque<Request*> queue_;
  std::optional<InFlight> in_flight_;
};

}  // namespace storcon::worker
