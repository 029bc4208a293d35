#include "control/async_fetch.hpp"

#include "control/callback_guard.hpp"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace storcon {

namespace {
int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

struct AsyncFetcher::Transfer {
  Id id = 0;
  CURL* easy = nullptr;
  HttpTransfer http;
  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

AsyncFetcher::AsyncFetcher() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  multi_ = curl_multi_init();
  if (multi_ == nullptr) {
    close(epoll_fd_);
    throw std::runtime_error("could not initialise libcurl's multi interface");
  }
  CURLM* m = static_cast<CURLM*>(multi_);
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &AsyncFetcher::on_socket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &AsyncFetcher::on_timer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
}

AsyncFetcher::~AsyncFetcher() {
  CURLM* m = static_cast<CURLM*>(multi_);
  for (auto& [id, t] : transfers_) curl_multi_remove_handle(m, t->easy);
  transfers_.clear();
  curl_multi_cleanup(m);
  close(epoll_fd_);
}

// libcurl: watch (or stop watching) this socket. Only updates the epoll set.
int AsyncFetcher::on_socket(void*, int fd, int what, void* self, void*) noexcept {
  auto* f = static_cast<AsyncFetcher*>(self);
  return guarded(-1, [&] {
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(f->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);  // may already be gone with the socket
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = fd;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev.events |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev.events |= EPOLLOUT;
    if (epoll_ctl(f->epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
      epoll_ctl(f->epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    return 0;
  });
}

// libcurl: call me back in timeout_ms (-1: cancel the timer).
int AsyncFetcher::on_timer(void*, long timeout_ms, void* self) noexcept {
  auto* f = static_cast<AsyncFetcher*>(self);
  f->timer_at_us_ = timeout_ms < 0 ? -1 : steady_us() + static_cast<int64_t>(timeout_ms) * 1000;
  return 0;
}

AsyncFetcher::Id AsyncFetcher::start(const HttpRequest& request) {
  auto t = std::make_unique<Transfer>();
  t->id = next_id_++;
  t->easy = curl_easy_init();
  if (t->easy == nullptr) throw std::runtime_error("could not initialise libcurl");
  t->http.configure(t->easy, request);
  if (curl_multi_add_handle(static_cast<CURLM*>(multi_), t->easy) != CURLM_OK)
    throw std::runtime_error("could not start an HTTP transfer");
  Id id = t->id;
  transfers_[id] = std::move(t);
  return id;
}

void AsyncFetcher::cancel(Id id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), it->second->easy);
  transfers_.erase(it);
}

long AsyncFetcher::timeout_ms() const {
  if (timer_at_us_ < 0) return -1;
  int64_t left = timer_at_us_ - steady_us();
  return left <= 0 ? 0 : static_cast<long>((left + 999) / 1000);
}

void AsyncFetcher::collect_done(std::vector<std::pair<Id, HttpResult>>* out) {
  CURLM* m = static_cast<CURLM*>(multi_);
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(m, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    for (auto it = transfers_.begin(); it != transfers_.end(); ++it) {
      if (it->second->easy != msg->easy_handle) continue;
      HttpResult r = it->second->http.finish(msg->easy_handle, msg->data.result);
      curl_multi_remove_handle(m, msg->easy_handle);
      out->emplace_back(it->first, std::move(r));
      transfers_.erase(it);
      break;
    }
  }
}

std::vector<std::pair<AsyncFetcher::Id, HttpResult>> AsyncFetcher::perform() {
  std::vector<std::pair<Id, HttpResult>> done;
  if (transfers_.empty()) return done;
  CURLM* m = static_cast<CURLM*>(multi_);
  int running = 0;
  epoll_event events[32];
  int n = epoll_wait(epoll_fd_, events, 32, 0);
  for (int i = 0; i < n; i++) {
    int mask = 0;
    if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
    curl_multi_socket_action(m, events[i].data.fd, mask, &running);
  }
  if (timer_at_us_ >= 0 && timer_at_us_ <= steady_us()) {
    timer_at_us_ = -1;
    curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  collect_done(&done);
  return done;
}

}  // namespace storcon
