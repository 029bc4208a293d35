#include "control/storcon_client.hpp"

#include <curl/curl.h>

#include <cstring>

namespace storcon {

StorconError::StorconError(FailureKind kind, const std::string& message, long status,
                           std::string method, std::string path, std::string url)
    : std::runtime_error(message),
      kind_(kind),
      status_(status),
      method_(std::move(method)),
      path_(std::move(path)),
      url_(std::move(url)) {}

std::string StorconError::detail() const {
  switch (kind_) {
    case FailureKind::Http:
      return "HTTP " + std::to_string(status_) + " from " + method_ + " " + path_;
    case FailureKind::BadResponse:
      return "HTTP " + std::to_string(status_) + " from " + method_ + " " + path_ +
             " with an unexpected body";
    default:
      return method_ + " " + url_;
  }
}

const char* StorconError::sqlstate() const {
  switch (kind_) {
    case FailureKind::Http: return sqlstate_for_status(status_);
    case FailureKind::Transport: return "08001";  // sqlclient_unable_to_establish_sqlconnection
    case FailureKind::Aborted: return "57014";    // query_canceled
    case FailureKind::BadResponse: return "08P01";  // protocol_violation
  }
  return "XX000";
}

const char* sqlstate_for_status(long status) {
  switch (status) {
    case 400: return "22023";  // invalid_parameter_value
    case 401:
    case 403: return "42501";  // insufficient_privilege
    case 404: return "42704";  // undefined_object
    case 408:  // storcon stopped waiting; the work goes on (not a cancel of this statement)
    case 409:
    case 412: return "55000";  // object_not_in_prerequisite_state
    case 429:
    case 503: return "53000";  // insufficient_resources: busy or not ready, retry later
    default: return "58000";   // system_error: an error outside PostgreSQL
  }
}

std::string message_from_error_body(long status, std::string_view body) {
  auto parsed = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_object()) {
    auto it = parsed.find("msg");
    if (it != parsed.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
      return it->get<std::string>();
  }
  std::string text(body.substr(0, 200));
  if (text.empty()) return "storcon answered HTTP " + std::to_string(status);
  return "storcon answered HTTP " + std::to_string(status) + ": " + text;
}

std::string join_url(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string out(base);
  out += '/';
  out += path;
  return out;
}

void validate_base_url(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://")
    rest = url.substr(7);
  else if (url.substr(0, 8) == "https://")
    rest = url.substr(8);
  else
    throw std::invalid_argument("storcon URL \"" + std::string(url) +
                                "\" must start with http:// or https://");
  if (rest.empty() || rest.front() == '/' || rest.front() == ':')
    throw std::invalid_argument("storcon URL \"" + std::string(url) + "\" has no host");
  if (url.find_first_of("?# \t\r\n") != std::string_view::npos)
    throw std::invalid_argument("storcon URL \"" + std::string(url) +
                                "\" must not contain a query, fragment or white space");
}

namespace {

// Callbacks only copy data or ask the abort check; nothing here may raise a PostgreSQL error.
size_t collect_body(char* data, size_t size, size_t nmemb, void* userdata) {
  static_cast<std::string*>(userdata)->append(data, size * nmemb);
  return size * nmemb;
}

int progress(void* userdata, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto check = reinterpret_cast<StorconClient::AbortCheck>(userdata);
  return check != nullptr && check() ? 1 : 0;
}

}  // namespace

StorconClient::StorconClient(AbortCheck abort_check)
    : curl_(curl_easy_init()), abort_check_(abort_check) {
  if (curl_ == nullptr) throw std::runtime_error("could not initialise libcurl");
}

StorconClient::~StorconClient() { curl_easy_cleanup(curl_); }

HttpResponse StorconClient::send(std::string_view method, std::string_view path,
                                 const nlohmann::json* body) {
  const std::string url = join_url(options_.base_url, path);
  const std::string verb(method);
  validate_base_url(options_.base_url);

  CURL* h = curl_;
  curl_easy_reset(h);  // keeps the connection cache: keep-alive connections are reused
  HttpResponse response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string payload;
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  if (body != nullptr) {
    payload = body->dump();
    headers = curl_slist_append(headers, "Content-Type: application/json");
  }
  std::string auth;
  if (!options_.token.empty()) {
    auth = "Authorization: Bearer " + options_.token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  const std::string agent = std::string("pg_storcon/") + PG_STORCON_VERSION;

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, verb.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  curl_easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.verify_peer) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  if (body != nullptr) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  } else if (verb == "PUT" || verb == "POST" || verb == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
  }
  if (verb == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, reinterpret_cast<void*>(abort_check_));

  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);

  if (rc == CURLE_ABORTED_BY_CALLBACK)
    throw StorconError(FailureKind::Aborted, "storcon request cancelled", 0, verb,
                       std::string(path), url);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    throw StorconError(FailureKind::Transport, "could not reach storcon at " + url + ": " + why, 0,
                       verb, std::string(path), url);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

nlohmann::json StorconClient::call(std::string_view method, std::string_view path,
                                   const nlohmann::json* body) {
  HttpResponse r = send(method, path, body);
  const std::string url = join_url(options_.base_url, path);
  if (r.status < 200 || r.status > 299)
    throw StorconError(FailureKind::Http, message_from_error_body(r.status, r.body), r.status,
                       std::string(method), std::string(path), url);
  if (r.body.empty()) return nullptr;
  auto parsed = nlohmann::json::parse(r.body, nullptr, false);
  if (parsed.is_discarded())
    throw StorconError(FailureKind::BadResponse, "storcon sent a response that is not JSON",
                       r.status, std::string(method), std::string(path), url);
  return parsed;
}

}  // namespace storcon
