#include "tools/storcon_get.hpp"

#include "control/json_fields.hpp"

#include <curl/curl.h>

namespace storcon {

namespace {

constexpr int kMaxResponseDepth = 16;

struct Sink {
  std::string body;
  size_t max_bytes;
  bool too_large = false;
};

// Only copies data; refusing more than max_bytes makes libcurl stop with CURLE_WRITE_ERROR.
size_t collect(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* sink = static_cast<Sink*>(userdata);
  size_t n = size * nmemb;
  if (sink->body.size() + n > sink->max_bytes) {
    sink->too_large = true;
    return 0;
  }
  sink->body.append(data, n);
  return n;
}

}  // namespace

StorconGet::StorconGet(ClientOptions options, size_t max_response_bytes)
    : options_(std::move(options)), max_bytes_(max_response_bytes), curl_(curl_easy_init()) {
  if (curl_ == nullptr) throw std::runtime_error("could not initialise libcurl");
  validate_base_url(options_.base_url);
}

StorconGet::~StorconGet() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::optional<nlohmann::json> StorconGet::get_or_404(std::string_view path) {
  try {
    return get(path);
  } catch (const StorconError& e) {
    if (e.kind() == FailureKind::Http && e.status() == 404) return std::nullopt;
    throw;
  }
}

nlohmann::json StorconGet::get(std::string_view path) {
  const std::string url = join_url(options_.base_url, path);
  const std::string p(path);
  CURL* h = static_cast<CURL*>(curl_);
  curl_easy_reset(h);  // keeps the connection cache
  Sink sink{std::string(), max_bytes_};
  char errbuf[CURL_ERROR_SIZE] = {0};
  struct curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  std::string auth;
  if (!options_.token.empty()) {
    auth = "Authorization: Bearer " + options_.token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  const std::string agent = std::string("pg_storcon_spec/") + PG_STORCON_VERSION;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes_));
  curl_easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);

  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    throw StorconError(
        FailureKind::BadResponse,
        "storcon's answer to GET " + p + " is larger than " + std::to_string(max_bytes_) + " bytes", 0, "GET",
        p, url);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    throw StorconError(FailureKind::Transport, "could not reach storcon at " + url + ": " + why, 0, "GET", p,
                       url);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299)
    throw StorconError(FailureKind::Http, message_from_error_body(status, sink.body), status, "GET", p, url);
  try {
    return parse_strict(sink.body, kMaxResponseDepth);
  } catch (const DecodeError& e) {
    std::string why = e.what();
    if (why == "request body is not valid JSON") why = "not JSON";
    throw StorconError(FailureKind::BadResponse, "storcon's answer to GET " + p + " is " + why, status, "GET",
                       p, url);
  }
}

}  // namespace storcon
