// HTTP requests in flight while the hook worker keeps serving: libcurl's multi interface driven by
// the worker's own event loop, event by event. libcurl tells us which sockets to watch (we keep
// them in an epoll set whose one fd sits in the worker's wait set, next to its latch and
// libmicrohttpd's) and when its next timer fires; perform() then advances exactly the transfers
// that are ready, never blocking and never polling on a fixed period. Used for the catalog refresh,
// the reconcile with storcon, forwards to other computes and registration with a hub.
#pragma once
#include "control/guard.hpp"

#include "control/http_transfer.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace storcon {

class AsyncFetcher {
 public:
  using Id = uint64_t;

  AsyncFetcher();
  ~AsyncFetcher();
  AsyncFetcher(const AsyncFetcher&) = delete;
  AsyncFetcher& operator=(const AsyncFetcher&) = delete;

  // Starts one request; its result comes out of a later perform(). Throws std::runtime_error.
  Id start(const HttpRequest& request);
  // Drops an unfinished transfer (no result will come).
  void cancel(Id id);
  // Readable when a transfer's socket is ready (an epoll fd; put it in the wait set).
  int wait_fd() const { return epoll_fd_; }
  // How long the caller may wait before perform() is due anyway (libcurl's timers): -1 = no limit.
  long timeout_ms() const;
  // Advances the transfers that are ready; returns those that finished, with their results.
  std::vector<std::pair<Id, HttpResult>> perform();
  size_t running() const { return transfers_.size(); }

 private:
  struct Transfer;
  static int on_socket(void* easy, int fd, int what, void* self, void* socket_data) noexcept;
  static int on_timer(void* multi, long timeout_ms, void* self) noexcept;
  void collect_done(std::vector<std::pair<Id, HttpResult>>* out);

  void* multi_ = nullptr;  // CURLM*
  int epoll_fd_ = -1;
  int64_t timer_at_us_ = -1;  // steady clock; -1 = no timer
  Id next_id_ = 1;
  std::map<Id, std::unique_ptr<Transfer>> transfers_;
};

}  // namespace storcon
