// A compute registers itself with its hub (storcon.hub_url): at start, again every
// storcon.hub_heartbeat_interval, and it leaves on a clean shutdown. The hub then forwards this
// tenant's notifications here (storcon has one URL for all tenants). Registration runs on the
// worker's fetcher: a hub that is down never delays the compute, it is retried.
#pragma once

#include "bgworker/worker_effects.hpp"
#include "control/async_fetch.hpp"
#include "control/compute_registry.hpp"

#include <string>

namespace storcon::worker {

// This compute's hook URL for others (storcon.hook_advertise_url, or derived from the listen
// address) and its id in a registry (storcon.compute_id, or the advertised host:port).
std::string advertised_hook_url(bool tls);
std::string own_compute_id(bool tls);

class HubClient {
 public:
  HubClient(AsyncFetcher& fetcher, const Clock& clock, WorkerEffects& effects)
      : fetcher_(fetcher), clock_(clock), effects_(effects) {}

  // What to register; called at start and after every reload (a change registers again at once).
  void configure(const InEffect& now, bool tls);
  void tick();
  bool on_transfer_done(AsyncFetcher::Id id, HttpResult& result);
  int64_t next_due_us() const;  // INT64_MAX: nothing to do
  // At a clean shutdown: remove this compute from the hub (blocking, at most about a second).
  void leave() noexcept;
  nlohmann::json status() const;

 private:
  std::string hub_;
  ComputeEntry me_;
  std::string body_;
  bool registered_ = false;
  AsyncFetcher::Id in_flight_ = 0;
  int64_t next_due_us_ = INT64_MAX;
  std::string last_error_;
  AsyncFetcher& fetcher_;
  const Clock& clock_;
  WorkerEffects& effects_;
};

}  // namespace storcon::worker
