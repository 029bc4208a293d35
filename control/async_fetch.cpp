#include "control/async_fetch.hpp"

#include <curl/curl.h>

#include <stdexcept>

namespace storcon {

struct AsyncFetcher::Transfer {
  std::string key;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string payload;
  std::string method;
  std::string agent;
  std::string ca_file;
  char errbuf[CURL_ERROR_SIZE] = {0};
  FetchResult result;
};

namespace {
size_t collect(char* data, size_t size, size_t nmemb, void* userdata) {
  static_cast<std::string*>(userdata)->append(data, size * nmemb);
  return size * nmemb;
}
}  // namespace

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
    curl_slist_free_all(t->headers);
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
    t->payload = r.body;
    t->method = r.method;
    t->agent = std::string("pg_storcon/") + PG_STORCON_VERSION;
    for (const auto& h : r.headers) t->headers = curl_slist_append(t->headers, h.c_str());
    if (!r.body.empty()) t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
    CURL* h = t->easy;
    curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, t->method.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r.timeout_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, t->agent.c_str());
    t->ca_file = r.ca_file;
    if (!t->ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t->result.body);
    if (!t->payload.empty() || t->method == "PUT" || t->method == "POST") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->payload.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->payload.size()));
    }
    curl_easy_setopt(h, CURLOPT_PRIVATE, t);
    curl_multi_add_handle(static_cast<CURLM*>(multi_), h);
    transfers_.push_back(t);
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
    if (msg->data.result == CURLE_OK) {
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->result.status);
    } else {
      t->result.error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(msg->data.result);
    }
    results_[t->key] = std::move(t->result);
    curl_multi_remove_handle(m, t->easy);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
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
