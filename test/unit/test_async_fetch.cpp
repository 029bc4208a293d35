// The worker's non-blocking HTTP: transfers advance only when their sockets are ready (the epoll fd
// becomes readable) or libcurl's timer is due, results come out once, a refused connection is
// told apart from a slow answer, and answers over the cap are refused.
#include <gtest/gtest.h>

#include "test/unit/loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "control/async_fetch.hpp"

using namespace storcon;

namespace {

// Answers each accepted connection with `response` after `delay_ms`.
class Responder {
 public:
  Responder(std::string response, int delay_ms, int connections = 1)
      : response_(std::move(response)), delay_ms_(delay_ms) {
    fd_ = listen_loopback(8, &port_);
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; i++) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[4096];
        (void)read(c, buf, sizeof buf);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
        (void)send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
        close(c);
      }
    });
  }
  ~Responder() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/x"; }

 private:
  std::string response_;
  int delay_ms_;
  int fd_ = -1, port_ = 0;
  std::thread thread_;
};

std::string ok_reply(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// The worker's loop in miniature: wait on the fd with libcurl's timeout, then perform().
std::vector<std::pair<AsyncFetcher::Id, HttpResult>> run_until_done(AsyncFetcher& f, int* wakeups) {
  std::vector<std::pair<AsyncFetcher::Id, HttpResult>> all;
  for (int i = 0; i < 1000 && f.running() > 0; i++) {
    pollfd p{f.wait_fd(), POLLIN, 0};
    long t = f.timeout_ms();
    poll(&p, 1, t < 0 ? 1000 : static_cast<int>(t));
    (*wakeups)++;
    for (auto& r : f.perform()) all.push_back(std::move(r));
  }
  return all;
}

}  // namespace

TEST(AsyncFetch, ParallelTransfersFinishWithoutBusyPolling) {
  Responder a(ok_reply("[1]"), 300), b(ok_reply("[2]"), 300);
  AsyncFetcher f;
  HttpRequest ra, rb;
  ra.url = a.url();
  rb.url = b.url();
  auto ida = f.start(ra);
  auto idb = f.start(rb);
  int wakeups = 0;
  auto done = run_until_done(f, &wakeups);
  ASSERT_EQ(done.size(), 2u);
  for (auto& [id, r] : done) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, id == ida ? "[1]" : "[2]");
    EXPECT_TRUE(id == ida || id == idb);
  }
  // A 20 ms poll would wake ~15 times while the answers take 300 ms; waiting on the sockets and
  // libcurl's timers wakes only when something happened.
  EXPECT_LT(wakeups, 12) << wakeups;
  EXPECT_EQ(f.running(), 0u);
}

TEST(AsyncFetch, RefusedConnectionIsNotRunningAndATimeoutIsNot) {
  AsyncFetcher f;
  HttpRequest refused;
  refused.url = "http://127.0.0.1:1/x";
  auto id1 = f.start(refused);
  Responder slow(ok_reply("{}"), 600);
  HttpRequest timeout;
  timeout.url = slow.url();
  timeout.timeout_ms = 200;
  auto id2 = f.start(timeout);
  int wakeups = 0;
  auto done = run_until_done(f, &wakeups);
  ASSERT_EQ(done.size(), 2u);
  for (auto& [id, r] : done) {
    EXPECT_FALSE(r.error.empty());
    EXPECT_EQ(r.not_running, id == id1) << r.error;
    if (id == id2) {
      EXPECT_NE(r.error.find("imed out"), std::string::npos) << r.error;
    }
  }
}

TEST(AsyncFetch, CancelledTransfersGiveNoResult) {
  Responder slow(ok_reply("{}"), 300);
  AsyncFetcher f;
  HttpRequest r;
  r.url = slow.url();
  auto id = f.start(r);
  f.cancel(id);
  EXPECT_EQ(f.running(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past the answer's arrival
  EXPECT_TRUE(f.perform().empty());
}

TEST(AsyncFetch, AnswersOverTheCapAreRefused) {
  // Refused on Content-Length, and counted while reading an answer that does not announce its size.
  for (const std::string& reply :
       {ok_reply(std::string(4096, ' ')),
        std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n") + std::string(4096, ' ')}) {
    Responder big(reply, 0);
    AsyncFetcher f;
    HttpRequest r;
    r.url = big.url();
    r.max_response_bytes = 1000;
    f.start(r);
    int wakeups = 0;
    auto done = run_until_done(f, &wakeups);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_TRUE(done[0].second.too_large) << reply.substr(0, 40);
    EXPECT_TRUE(done[0].second.body.empty());
  }
}
