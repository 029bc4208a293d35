#include "control/http_transfer.hpp"

#include "control/callback_guard.hpp"

#include <curl/curl.h>

static_assert(CURL_ERROR_SIZE <= 256, "HttpTransfer::errbuf_ is too small");

namespace storcon {

HttpTransfer::~HttpTransfer() { curl_slist_free_all(headers_); }

size_t HttpTransfer::collect(char* data, size_t size, size_t nmemb, void* self) noexcept {
  auto* t = static_cast<HttpTransfer*>(self);
  return guarded<size_t>(0, [&]() -> size_t {
    size_t n = size * nmemb;
    if (t->body_.size() + n > t->max_bytes_) {
      t->too_large_ = true;
      return 0;  // libcurl stops the transfer with CURLE_WRITE_ERROR
    }
    t->body_.append(data, n);
    return n;
  });
}

void HttpTransfer::configure(CURL* h, const HttpRequest& req) {
  curl_slist_free_all(headers_);
  headers_ = nullptr;
  method_ = req.method;
  url_ = req.url;
  payload_ = req.body;
  ca_file_ = req.ca_file;
  agent_ = std::string("pg_storcon/") + PG_STORCON_VERSION;
  max_bytes_ = req.max_response_bytes;
  too_large_ = false;
  body_.clear();
  errbuf_[0] = '\0';
  auto add_header = [&](const char* line) {
    curl_slist* next = curl_slist_append(headers_, line);
    if (next == nullptr) throw std::bad_alloc();
    headers_ = next;
  };
  for (const auto& line : req.headers) add_header(line.c_str());
  if (!payload_.empty()) add_header("Content-Type: application/json");

  curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  curl_easy_setopt(h, CURLOPT_USERAGENT, agent_.c_str());
  if (!ca_file_.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file_.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf_);
  // The cap, twice: refused up front when Content-Length says so, counted while reading otherwise.
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes_));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &HttpTransfer::collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
  if (!payload_.empty() || method_ == "PUT" || method_ == "POST" || method_ == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload_.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload_.size()));
  }
  if (method_ == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
}

HttpResult HttpTransfer::finish(CURL* h, int code) {
  HttpResult r;
  auto rc = static_cast<CURLcode>(code);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = std::move(body_);
    return r;
  }
  if (too_large_ || rc == CURLE_FILESIZE_EXCEEDED) {
    r.too_large = true;
    r.error = "the answer is larger than " + std::to_string(max_bytes_ / (1024 * 1024)) + " MiB and was refused";
  } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
    r.aborted = true;
    r.error = "cancelled";
  } else {
    r.error = errbuf_[0] != '\0' ? errbuf_ : curl_easy_strerror(rc);
    r.not_running = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
  }
  return r;
}

}  // namespace storcon
