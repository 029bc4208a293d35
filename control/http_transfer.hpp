// One outgoing HTTP request, configured the same way wherever it is sent: the synchronous storcon
// client of SQL functions and the worker's non-blocking transfers (catalog refresh, reconcile,
// forwards to other computes) share this set-up, so timeouts, protocol limits, TLS trust, the
// User-Agent and the cap on the answer's size cannot drift apart. libcurl calls back into
// collect() only to copy bytes; a body over the cap stops the transfer (too_large).
#pragma once
#include "control/guard.hpp"

#include <cstddef>
#include <string>
#include <vector>

typedef void CURL;  // libcurl's easy handle (curl.h declares it the same way)
struct curl_slist;

namespace storcon {

// Largest answer read from storcon or another compute. storcon's biggest list (10k nodes) is a few
// MiB; an answer beyond this is refused rather than buffered.
constexpr size_t kMaxResponseBytes = 16 * 1024 * 1024;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;                  // sent as application/json when not empty
  std::vector<std::string> headers;  // "Name: value"
  long connect_timeout_ms = 2000;
  long timeout_ms = 10000;           // the whole transfer; 0 = no limit (the caller bounds it)
  std::string ca_file;               // CA bundle for https:// (empty: the system's)
  size_t max_response_bytes = kMaxResponseBytes;
};

struct HttpResult {
  long status = 0;          // 0 when there was no HTTP answer
  std::string body;
  std::string error;        // transport error, empty when an answer arrived
  bool too_large = false;   // the answer exceeded max_response_bytes (error says so)
  bool aborted = false;     // stopped by the caller's abort check
  // No connection could be made at all (refused, unreachable, unknown host): the peer is not
  // running. A timeout after connecting, or an error answer, is not this.
  bool not_running = false;

  bool ok() const { return error.empty() && status >= 200 && status <= 299; }
};

// The per-request state libcurl points into (header list, payload, answer, error buffer). It must
// outlive the transfer; configure() fills it and sets every option on `easy`.
class HttpTransfer {
 public:
  HttpTransfer() = default;
  ~HttpTransfer();
  HttpTransfer(const HttpTransfer&) = delete;
  HttpTransfer& operator=(const HttpTransfer&) = delete;

  // Sets every option of `req` on `easy` (which the caller owns and may have reset for reuse).
  void configure(CURL* easy, const HttpRequest& req);
  // The result once libcurl reports the transfer done with `code` (a CURLcode).
  HttpResult finish(CURL* easy, int code);

 private:
  static size_t collect(char* data, size_t size, size_t nmemb, void* self) noexcept;

  ::curl_slist* headers_ = nullptr;
  std::string method_, url_, payload_, agent_, ca_file_;
  size_t max_bytes_ = kMaxResponseBytes;
  bool too_large_ = false;
  std::string body_;
  char errbuf_[256] = {0};  // CURL_ERROR_SIZE
};

}  // namespace storcon
