// Long storcon calls (shard split, deletes, safekeeper migration): not cut by the request timeout,
// driven step by step so that the caller checks interrupts and reports progress between steps,
// following "ask again" answers; and what each answer means.
#include <gtest/gtest.h>

#include "test/unit/loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/long_call.hpp"

using namespace storcon;

namespace {

struct Canned {
  std::string response;
  int delay_ms = 0;
  bool hold = false;  // answer only once release() is called (or after 10 s)
};

// Answers one connection per canned response, in order; records the request lines.
class SequenceServer {
 public:
  explicit SequenceServer(std::vector<Canned> answers) : answers_(std::move(answers)) {
    fd_ = listen_loopback(8, &port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~SequenceServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void release() {
    std::lock_guard<std::mutex> g(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> request_lines() {
    std::lock_guard<std::mutex> g(mu_);
    return lines_;
  }

 private:
  void serve() {
    for (const auto& answer : answers_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      for (;;) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        auto end = req.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        auto cl = req.find("Content-Length: ");
        size_t want = cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16));
        if (req.size() >= end + 4 + want) break;
      }
      {
        std::lock_guard<std::mutex> g(mu_);
        lines_.push_back(req.substr(0, req.find("\r\n")));
      }
      if (answer.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(answer.delay_ms));
      if (answer.hold) {
        std::unique_lock<std::mutex> g(mu_);
        cv_.wait_for(g, std::chrono::seconds(10), [this] { return released_; });
      }
      ssize_t w = send(c, answer.response.data(), answer.response.size(), MSG_NOSIGNAL);
      (void)w;
      close(c);
    }
  }

  std::vector<Canned> answers_;
  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<std::string> lines_;
  std::thread thread_;
};

std::string reply(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

ClientOptions options(const std::string& url) {
  ClientOptions o;
  o.base_url = url;
  o.connect_timeout_ms = 1000;
  o.request_timeout_ms = 200;  // far below the server's delays: long calls must not use it
  return o;
}

struct StopWaiting {};

// Counts what the long call asked of its caller; throws StopWaiting after `stop_after` checks.
class RecordingProgress : public LongCallProgress {
 public:
  int checks = 0, pauses = 0;
  std::vector<long> notices;
  int stop_after = -1;
  void check() override {
    if (stop_after >= 0 && checks >= stop_after) throw StopWaiting{};
    checks++;
  }
  void still_waiting(long elapsed_ms) override { notices.push_back(elapsed_ms); }
  void pause(long ms) override {
    pauses++;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
};

LongCallPolicy fast_policy() {
  LongCallPolicy p;
  p.step_ms = 50;
  p.notice_every_ms = 300;
  p.again_pause_ms = 100;
  return p;
}

}  // namespace

TEST(LongCall, ClassifiesAnswers) {
  LongCallPolicy p;
  p.again = {409};
  p.done_after_again = {404};
  EXPECT_EQ(classify_long_call_answer(p, 200, false), LongCallStep::Done);
  EXPECT_EQ(classify_long_call_answer(p, 202, false), LongCallStep::Done);
  EXPECT_EQ(classify_long_call_answer(p, 409, false), LongCallStep::AskAgain);
  EXPECT_EQ(classify_long_call_answer(p, 409, true), LongCallStep::AskAgain);
  EXPECT_EQ(classify_long_call_answer(p, 404, false), LongCallStep::Fail);  // not found at once: an error
  EXPECT_EQ(classify_long_call_answer(p, 404, true), LongCallStep::Done);   // gone while we asked again
  EXPECT_EQ(classify_long_call_answer(p, 500, true), LongCallStep::Fail);
  EXPECT_EQ(classify_long_call_answer(LongCallPolicy{}, 409, false), LongCallStep::Fail);
}

TEST(LongCall, OutlastsTheRequestTimeoutAndReportsProgress) {
  SequenceServer server({{reply(200, R"({"new_shards":["a-0102","a-0202"]})"), 1000}});
  StorconClient client;
  client.set_options(options(server.url()));
  RecordingProgress progress;
  nlohmann::json body = {{"new_shard_count", 2}};
  LongCallResult r =
      run_long_call(client, "PUT", "/control/v1/tenant/a/shard_split", &body, fast_policy(), progress);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.answer["new_shards"].size(), 2u);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_GE(progress.checks, 2);             // 1 s in steps of 50 ms
  ASSERT_GE(progress.notices.size(), 1u);    // one every 300 ms
  EXPECT_GE(progress.notices.front(), 300);  // never before the first interval
  EXPECT_EQ(server.request_lines(),
            std::vector<std::string>{"PUT /control/v1/tenant/a/shard_split HTTP/1.1"});
}

TEST(LongCall, AsksAgainUntilDone) {
  SequenceServer server({{reply(409, "null")}, {reply(409, "null")}, {reply(200, "null")}});
  StorconClient client;
  client.set_options(options(server.url()));
  RecordingProgress progress;
  LongCallPolicy p = fast_policy();
  p.again = {409};
  LongCallResult r = run_long_call(client, "DELETE", "/v1/tenant/a/timeline/b", nullptr, p, progress);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.answer.is_null());
  EXPECT_EQ(r.attempts, 3);
  EXPECT_GE(progress.pauses, 2);
  EXPECT_EQ(server.request_lines().size(), 3u);
}

TEST(LongCall, GoneAfterAskingAgainIsDone) {
  SequenceServer server({{reply(408, R"({"msg":"Timeout waiting for shard a"})")},
                         {reply(404, R"({"msg":"NotFound: Tenant a not found"})")}});
  StorconClient client;
  client.set_options(options(server.url()));
  RecordingProgress progress;
  LongCallPolicy p = fast_policy();
  p.again = {408};
  p.done_after_again = {404};
  LongCallResult r = run_long_call(client, "DELETE", "/v1/tenant/a", nullptr, p, progress);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.attempts, 2);
}

TEST(LongCall, AFailingAnswerIsStorconsError) {
  SequenceServer server({{reply(400, R"({"msg":"safekeeper 9 does not exist"})")}});
  StorconClient client;
  client.set_options(options(server.url()));
  RecordingProgress progress;
  LongCallPolicy p = fast_policy();
  p.done_after_again = {400};  // only after an "ask again"
  try {
    run_long_call(client, "POST", "/v1/x", nullptr, p, progress);
    FAIL();
  } catch (const StorconError& e) {
    EXPECT_EQ(e.kind(), FailureKind::Http);
    EXPECT_EQ(e.status(), 400);
    EXPECT_STREQ(e.what(), "safekeeper 9 does not exist");
    EXPECT_EQ(e.detail(), "HTTP 400 from POST /v1/x");
  }
}

TEST(LongCall, TheCallerStopsTheWaitAndTheClientStaysUsable) {
  SequenceServer server({{reply(200, "null"), 0, true}, {reply(200, R"({"ok":true})")}});
  StorconClient client;
  client.set_options(options(server.url()));
  RecordingProgress progress;
  progress.stop_after = 3;  // a cancel after a few steps, while the server still holds its answer
  EXPECT_THROW(run_long_call(client, "PUT", "/slow", nullptr, fast_policy(), progress), StopWaiting);
  server.release();
  // the abandoned transfer left the handle clean: the next call works (normal and long)
  ClientOptions o = options(server.url());
  o.request_timeout_ms = 5000;
  client.set_options(o);
  EXPECT_EQ(client.call("GET", "/next")["ok"], true);
}

TEST(LongCall, RefusedConnectionIsATransportError) {
  StorconClient client;
  client.set_options(options("http://127.0.0.1:1"));
  RecordingProgress progress;
  try {
    run_long_call(client, "PUT", "/x", nullptr, fast_policy(), progress);
    FAIL();
  } catch (const StorconError& e) {
    EXPECT_EQ(e.kind(), FailureKind::Transport);
  }
}

TEST(LongCall, DotSegmentsAreRefusedBeforeSending) {
  StorconClient client;
  client.set_options(options("http://127.0.0.1:1"));
  RecordingProgress progress;
  EXPECT_THROW(run_long_call(client, "DELETE", "/v1/tenant/%2e%2e", nullptr, fast_policy(), progress),
               std::invalid_argument);
  EXPECT_EQ(progress.checks, 0);
}
