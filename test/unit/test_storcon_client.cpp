// The storcon client against a tiny in-test HTTP responder: what goes on the wire (method, path,
// headers, body) and how each answer becomes a result or a StorconError.
#include <gtest/gtest.h>

#include "test/unit/loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "control/http_transfer.hpp"
#include "control/storcon_client.hpp"

using namespace storcon;

namespace {

// Accepts connections one by one, records each raw request, answers with a canned response.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response, int delay_ms = 0) : response_(std::move(response)), delay_ms_(delay_ms) {
    fd_ = listen_loopback(4, &port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string request() {
    thread_.join();
    thread_ = std::thread([] {});
    return request_;
  }

 private:
  void serve() {
    int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    char buf[4096];
    std::string req;
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
    request_ = req;
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    ssize_t w = send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
    (void)w;
    close(c);
  }

  std::string response_;
  int delay_ms_;
  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string reply(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

ClientOptions options(const std::string& url) {
  ClientOptions o;
  o.base_url = url;
  o.connect_timeout_ms = 1000;
  o.request_timeout_ms = 2000;
  return o;
}

}  // namespace

TEST(StorconClient, SendsMethodPathBodyTokenAndUserAgent) {
  OneShotServer server(reply(200, R"({"shards":[]})"));
  StorconClient client;
  ClientOptions o = options(server.url() + "/");
  o.token = "tok-123";
  client.set_options(o);
  nlohmann::json body = {{"new_tenant_id", "1f359dd625e519a1a4e8d7509690f6fc"}};
  auto result = client.call("POST", "/v1/tenant", &body);
  EXPECT_TRUE(result["shards"].is_array());
  std::string req = server.request();
  EXPECT_EQ(req.rfind("POST /v1/tenant HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Authorization: Bearer tok-123\r\n"), std::string::npos);
  EXPECT_NE(req.find("User-Agent: pg_storcon/"), std::string::npos);
  EXPECT_NE(req.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(req.find(R"({"new_tenant_id":"1f359dd625e519a1a4e8d7509690f6fc"})"), std::string::npos);
}

TEST(StorconClient, NoTokenMeansNoAuthorizationHeader) {
  OneShotServer server(reply(200, "null"));
  StorconClient client;
  client.set_options(options(server.url()));
  EXPECT_TRUE(client.call("GET", "/status").is_null());
  EXPECT_EQ(server.request().find("Authorization"), std::string::npos);
}

TEST(StorconClient, ErrorStatusCarriesStorconsMessageAndRoute) {
  OneShotServer server(reply(404, R"({"msg":"NotFound: Node 7 not registered"})"));
  StorconClient client;
  client.set_options(options(server.url()));
  try {
    client.call("GET", "/control/v1/node/7");
    FAIL() << "expected StorconError";
  } catch (const StorconError& e) {
    EXPECT_EQ(e.kind(), FailureKind::Http);
    EXPECT_STREQ(e.what(), "NotFound: Node 7 not registered");
    EXPECT_EQ(e.detail(), "HTTP 404 from GET /control/v1/node/7");
    EXPECT_STREQ(e.sqlstate(), "42704");
  }
}

TEST(StorconClient, NonJsonSuccessIsABadResponse) {
  OneShotServer server(reply(200, "<html>proxy</html>"));
  StorconClient client;
  client.set_options(options(server.url()));
  try {
    client.call("GET", "/control/v1/node");
    FAIL();
  } catch (const StorconError& e) {
    EXPECT_EQ(e.kind(), FailureKind::BadResponse);
    EXPECT_STREQ(e.sqlstate(), "08P01");
  }
}

TEST(StorconClient, RefusedConnectionNamesTheUrl) {
  StorconClient client;
  client.set_options(options("http://127.0.0.1:1"));
  try {
    client.call("GET", "/control/v1/node");
    FAIL();
  } catch (const StorconError& e) {
    EXPECT_EQ(e.kind(), FailureKind::Transport);
    EXPECT_STREQ(e.sqlstate(), "08001");
    EXPECT_NE(std::string(e.what()).find("http://127.0.0.1:1/control/v1/node"), std::string::npos);
  }
}

TEST(StorconClient, TotalTimeoutStopsASlowServer) {
  OneShotServer server(reply(200, "null"), 1500);
  StorconClient client;
  ClientOptions o = options(server.url());
  o.request_timeout_ms = 200;
  client.set_options(o);
  EXPECT_THROW(client.call("GET", "/status"), StorconError);
}

namespace {
std::atomic<bool> g_abort{false};
bool abort_now() { return g_abort.load(); }
}  // namespace

TEST(StorconClient, AbortCheckCancelsATransfer) {
  OneShotServer server(reply(200, "null"), 1500);
  StorconClient client(abort_now);
  client.set_options(options(server.url()));
  g_abort = true;
  try {
    client.call("GET", "/status");
    FAIL();
  } catch (const StorconError& e) {
    EXPECT_EQ(e.kind(), FailureKind::Aborted);
  }
  g_abort = false;
}

TEST(StorconClient, StatusToSqlstate) {
  EXPECT_STREQ(sqlstate_for_status(400), "22023");
  EXPECT_STREQ(sqlstate_for_status(401), "42501");
  EXPECT_STREQ(sqlstate_for_status(403), "42501");
  EXPECT_STREQ(sqlstate_for_status(404), "42704");
  EXPECT_STREQ(sqlstate_for_status(409), "55000");
  EXPECT_STREQ(sqlstate_for_status(412), "55000");
  EXPECT_STREQ(sqlstate_for_status(408), "55000");
  EXPECT_STREQ(sqlstate_for_status(500), "58000");
}

TEST(StorconClient, ErrorBodyFallbacks) {
  EXPECT_EQ(message_from_error_body(409, R"({"msg":"Conflict: x"})"), "Conflict: x");
  EXPECT_EQ(message_from_error_body(502, "bad gateway"), "storcon answered HTTP 502: bad gateway");
  EXPECT_EQ(message_from_error_body(500, ""), "storcon answered HTTP 500");
}

TEST(StorconClient, UrlJoiningAndValidation) {
  EXPECT_EQ(join_url("http://h:1", "/v1/tenant"), "http://h:1/v1/tenant");
  EXPECT_EQ(join_url("http://h:1/", "/v1/tenant"), "http://h:1/v1/tenant");
  EXPECT_EQ(join_url("http://h:1/api/", "v1/tenant"), "http://h:1/api/v1/tenant");
  EXPECT_NO_THROW(validate_base_url("https://storcon.example:1234"));
  EXPECT_THROW(validate_base_url("localhost:1234"), std::invalid_argument);
  EXPECT_THROW(validate_base_url("ftp://h"), std::invalid_argument);
  EXPECT_THROW(validate_base_url("http://"), std::invalid_argument);
  EXPECT_THROW(validate_base_url("http://h:1/?x=1"), std::invalid_argument);
}

TEST(StorconClient, AnswerOverTheCapIsRefusedWithContentLength) {
  // Content-Length alone announces too much: refused before any of it is read.
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(kMaxResponseBytes + 1) + "\r\nConnection: close\r\n\r\n[]");
  StorconClient client;
  client.set_options(options(server.url()));
  try {
    client.call("GET", "/control/v1/node");
    FAIL();
  } catch (const StorconError& e) {
    EXPECT_EQ(e.kind(), FailureKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("larger than 16 MiB"), std::string::npos) << e.what();
  }
}

TEST(StorconClient, ChunkedAnswerOverTheCapIsRefusedWhileReading) {
  // No Content-Length: the body is counted as it arrives and the transfer stopped at the cap.
  std::string chunk(1024 * 1024, ' ');
  std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (size_t i = 0; i < kMaxResponseBytes / chunk.size() + 2; i++) resp += size_line + chunk + "\r\n";
  resp += "0\r\n\r\n";
  OneShotServer server(resp);
  StorconClient client;
  ClientOptions o = options(server.url());
  o.request_timeout_ms = 10000;
  client.set_options(o);
  try {
    client.call("GET", "/control/v1/node");
    FAIL();
  } catch (const StorconError& e) {
    EXPECT_EQ(e.kind(), FailureKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("larger than 16 MiB"), std::string::npos) << e.what();
  }
}
