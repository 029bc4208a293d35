// The storcon HTTP client: one libcurl easy handle per process (so connections are reused), the
// timeouts and protocol limits every call needs, and the translation of storcon's answers
// ({"msg": ...} error bodies, status codes) into one exception type that extension/ turns into a
// SQL error. No PostgreSQL here: cancellation is a plain function pointer that the adapter supplies.
#pragma once
#include "control/guard.hpp"

#include "control/http_transfer.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace storcon {

struct ClientOptions {
  std::string base_url;          // e.g. http://storcon:1234 (a path prefix is kept)
  std::string token;             // sent as "Authorization: Bearer <token>" when not empty
  long connect_timeout_ms = 2000;
  long request_timeout_ms = 30000;
  std::string ca_file;           // CA bundle for https:// (empty: the system's)
};

enum class FailureKind {
  Http,         // storcon answered with a non-2xx status
  Transport,    // no answer: connection refused, DNS, timeout, TLS
  Aborted,      // the abort check asked to stop (query cancel, shutdown)
  BadResponse,  // a 2xx answer whose body is not the JSON we expect
};

class StorconError : public std::runtime_error {
 public:
  StorconError(FailureKind kind, const std::string& message, long status, std::string method,
               std::string path, std::string url);
  FailureKind kind() const { return kind_; }
  long status() const { return status_; }
  const std::string& method() const { return method_; }
  const std::string& path() const { return path_; }
  const std::string& url() const { return url_; }
  // "HTTP 404 from GET /control/v1/node/7" (or the transport failure with the URL).
  std::string detail() const;
  // Five-character SQLSTATE for this failure.
  const char* sqlstate() const;

 private:
  FailureKind kind_;
  long status_;
  std::string method_, path_, url_;
};

// SQLSTATE for an HTTP error status from storcon (see docs/sql.md "Errors").
const char* sqlstate_for_status(long status);

// storcon's "msg" from an error body, or a readable fallback when the body is not storcon's shape.
std::string message_from_error_body(long status, std::string_view body);

// base + "/" + path without doubled slashes; base keeps any path prefix it has.
std::string join_url(std::string_view base, std::string_view path);

// Throws std::invalid_argument unless url is an http:// or https:// URL with a host.
void validate_base_url(std::string_view url);

struct HttpResponse {
  long status = 0;
  std::string body;
};

// The request for one storcon call: URL, Accept and token headers, timeouts, CA. Throws
// std::invalid_argument for a bad base URL or path (check_request_path).
HttpRequest storcon_request(const ClientOptions& o, std::string_view method, std::string_view path,
                            const nlohmann::json* body);

// storcon's answer as JSON: StorconError with its msg for a non-2xx, or when a 2xx is not JSON;
// null for an empty body. `url` only goes into the error.
nlohmann::json interpret_answer(const HttpResponse& r, std::string_view method, std::string_view path,
                                const std::string& url);

class StorconClient {
 public:
  using AbortCheck = bool (*)();  // polled during transfers; true = stop now

  explicit StorconClient(AbortCheck abort_check = nullptr);
  ~StorconClient();
  StorconClient(const StorconClient&) = delete;
  StorconClient& operator=(const StorconClient&) = delete;

  void set_options(ClientOptions options) { options_ = std::move(options); }
  const ClientOptions& options() const { return options_; }

  // One request. Returns any HTTP answer; throws StorconError for Transport / Aborted.
  HttpResponse send(std::string_view method, std::string_view path, const nlohmann::json* body);

  // send(), then: non-2xx -> StorconError(Http, storcon's msg); 2xx -> parsed body (null if empty).
  nlohmann::json call(std::string_view method, std::string_view path,
                      const nlohmann::json* body = nullptr);

  // One request for an operation storcon answers only when it is done (shard split, deletes,
  // safekeeper migration: minutes). request_timeout_ms does not apply (the connect timeout does, and
  // TCP keep-alive notices a peer that died); the transfer is driven by curl_multi_poll in steps of at
  // most step_ms, and after each step between_steps() runs, outside any libcurl callback. Whatever it
  // throws (a cancel, a statement timeout) stops the transfer and propagates. Returns any HTTP
  // answer; throws StorconError for Transport.
  HttpResponse send_stepwise(std::string_view method, std::string_view path, const nlohmann::json* body,
                             const std::function<void()>& between_steps, long step_ms = 250);

  // storcon's answer as call() reads it: non-2xx -> StorconError(Http, storcon's msg); 2xx -> the
  // parsed body (null if empty); a body that is not JSON -> StorconError(BadResponse).
  nlohmann::json interpret(std::string_view method, std::string_view path, const HttpResponse& r) const;

 private:
  void* curl_;  // CURL*, owned
  void* multi_ = nullptr;  // CURLM*, owned, created by the first send_stepwise
  AbortCheck abort_check_;
  ClientOptions options_;
};

}  // namespace storcon
