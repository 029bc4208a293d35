// Start-up and periodic reconcile: every storcon.sync_interval (and at start, and on POST
// /reconcile from storcon.reconcile()), ask storcon for the node and safekeeper lists, this
// compute's tenant placement and its timeline's safekeepers, refresh the catalog mirror, and queue
// whatever differs as one apply (same ordering and verification as a notification). The requests
// run through libcurl's multi interface polled by the loop, so a slow or dead storcon never blocks
// the hook; failures are retried with exponential backoff and shown in /status.
#pragma once

#include "bgworker/notification_queue.hpp"
#include "control/async_fetch.hpp"

namespace storcon::worker {

class Reconciler {
 public:
  Reconciler(PgHookEnv& env, NotificationQueue& queue) : env_(env), queue_(queue) {}

  // Run a pass as soon as possible; `waiter` (POST /reconcile) is answered when it is done.
  void request_now(Request* waiter);
  void tick();                 // from the loop, every iteration
  long wait_cap_ms() const;    // short while requests are in flight
  nlohmann::json status() const;

 private:
  void start();
  void complete();
  void fail(const std::string& why);
  void answer_waiter(HookReply reply);

  PgHookEnv& env_;
  NotificationQueue& queue_;
  AsyncFetcher fetch_;
  bool fetching_ = false;
  long long started_us_ = 0;
  long long next_due_us_ = 0;  // 0 = now
  int failures_ = 0;
  std::string last_error_;
  long long last_success_us_ = 0;
  Request* waiter_ = nullptr;
};

}  // namespace storcon::worker
