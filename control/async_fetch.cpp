#include "control/async_fetch.hpp"

#include "control/http_transfer.hpp"

#include <curl/curl.h>

#include <stdexcept>

namespace storcon {

struct AsyncFetcher::Transfer {
  std::string key;
  CURL* easy = nullptr;
  HttpTransfer http;
};

AsyncFetcher::AsyncFetcher() : multi_(curl_multi_init()) {
  if (multi_ == nullptr) throw std::runtime_error("could not initialise libcurl's multi interface");
}

AsyncFetcher::~AsyncFetcher() {
  abandon();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void AsyncFetcher::abandon() {
  for (Transfer* t : transfers_) {
    curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
    curl_easy_cleanup(t->easy);
    delete t;
  }
  transfers_.clear();
}

void AsyncFetcher::start(const std::vector<FetchRequest>& requests) {
  abandon();
  results_.clear();
  for (const auto& r : requests) {
    auto* t = new Transfer;
    t->key = r.key;
    t->easy = curl_easy_init();
    transfers_.push_back(t);
    if (t->easy == nullptr) throw std::runtime_error("could not initialise libcurl");
    HttpRequest req;
    req.method = r.method;
    req.url = r.url;
    req.body = r.body;
    req.headers = r.headers;
    req.connect_timeout_ms = r.connect_timeout_ms;
    req.timeout_ms = r.timeout_ms;
    req.ca_file = r.ca_file;
    t->http.configure(t->easy, req);
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
    curl_multi_add_handle(static_cast<CURLM*>(multi_), t->easy);
  }
}

bool AsyncFetcher::poll() {
  if (transfers_.empty()) return true;
  CURLM* m = static_cast<CURLM*>(multi_);
  int running = 0;
  curl_multi_perform(m, &running);
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(m, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    HttpResult r = t->http.finish(t->easy, msg->data.result);
    results_[t->key] = FetchResult{r.status, std::move(r.body), std::move(r.error)};
    curl_multi_remove_handle(m, t->easy);
    curl_easy_cleanup(t->easy);
    for (auto it = transfers_.begin(); it != transfers_.end(); ++it)
      if (*it == t) {
        transfers_.erase(it);
        break;
      }
    delete t;
  }
  return transfers_.empty();
}

}  // namespace storcon
