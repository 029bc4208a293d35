#include "control/storcon_client.hpp"

#include "control/callback_guard.hpp"
#include "control/http_transfer.hpp"
#include "control/request_path.hpp"

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

// libcurl's progress callback only asks the abort check (it reads signal flags); never raises.
int progress(void* userdata, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
  auto check = reinterpret_cast<StorconClient::AbortCheck>(userdata);
  return guarded(1, [&] { return check != nullptr && check() ? 1 : 0; });
}

}  // namespace

StorconClient::StorconClient(AbortCheck abort_check)
    : curl_(curl_easy_init()), abort_check_(abort_check) {
  if (curl_ == nullptr) throw std::runtime_error("could not initialise libcurl");
}

StorconClient::~StorconClient() {
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
  curl_easy_cleanup(curl_);
}

HttpRequest storcon_request(const ClientOptions& o, std::string_view method, std::string_view path,
                            const nlohmann::json* body) {
  validate_base_url(o.base_url);
  check_request_path(path);
  HttpRequest req;
  req.method = std::string(method);
  req.url = join_url(o.base_url, path);
  req.headers.push_back("Accept: application/json");
  if (!o.token.empty()) req.headers.push_back("Authorization: Bearer " + o.token);
  if (body != nullptr) req.body = body->dump();
  req.connect_timeout_ms = o.connect_timeout_ms;
  req.timeout_ms = o.request_timeout_ms;
  req.ca_file = o.ca_file;
  return req;
}

namespace {

// The answer, or the StorconError for a transfer that brought none.
HttpResponse response_or_throw(HttpResult r, std::string_view method, std::string_view path,
                               const std::string& url) {
  const std::string verb(method);
  if (r.aborted)
    throw StorconError(FailureKind::Aborted, "storcon request cancelled", 0, verb, std::string(path), url);
  if (r.too_large) {
    const size_t at = r.error.find("larger");  // "... larger than N bytes"
    throw StorconError(FailureKind::BadResponse,
                       "storcon's answer to " + verb + " " + std::string(path) + " is " +
                           (at == std::string::npos ? r.error : r.error.substr(at)),
                       0, verb, std::string(path), url);
  }
  if (!r.error.empty())
    throw StorconError(FailureKind::Transport, "could not reach storcon at " + url + ": " + r.error, 0, verb,
                       std::string(path), url);
  return HttpResponse{r.status, std::move(r.body)};
}

// Takes an easy handle out of a multi handle however the stepwise loop ends.
struct MultiMembership {
  CURLM* multi;
  CURL* easy;
  ~MultiMembership() { curl_multi_remove_handle(multi, easy); }
};

}  // namespace

HttpResponse StorconClient::send(std::string_view method, std::string_view path,
                                 const nlohmann::json* body) {
  const HttpRequest req = storcon_request(options_, method, path, body);
  CURL* h = curl_;
  curl_easy_reset(h);  // keeps the connection cache: keep-alive connections are reused
  HttpTransfer transfer;
  transfer.configure(h, req);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, reinterpret_cast<void*>(abort_check_));
  HttpResult r = transfer.finish(h, curl_easy_perform(h));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);  // the list dies with `transfer`
  return response_or_throw(std::move(r), method, path, req.url);
}

HttpResponse StorconClient::send_stepwise(std::string_view method, std::string_view path,
                                          const nlohmann::json* body,
                                          const std::function<void()>& between_steps, long step_ms) {
  HttpRequest req = storcon_request(options_, method, path, body);
  req.timeout_ms = 0;  // no total limit: the caller's between_steps() bounds the wait
  if (multi_ == nullptr) {
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("could not initialise libcurl's multi interface");
  }
  CURLM* m = static_cast<CURLM*>(multi_);
  CURL* h = curl_;
  curl_easy_reset(h);
  HttpTransfer transfer;  // declared before `member`: the handle leaves the multi before this dies
  transfer.configure(h, req);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
  if (curl_multi_add_handle(m, h) != CURLM_OK) throw std::runtime_error("could not start a storcon request");
  MultiMembership member{m, h};
  int code = CURLE_OK;
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(m, &running);
    if (mc != CURLM_OK) throw std::runtime_error(std::string("libcurl: ") + curl_multi_strerror(mc));
    bool done = false;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(m, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) {
        code = msg->data.result;
        done = true;
      }
    }
    if (done) break;
    mc = curl_multi_poll(m, nullptr, 0, static_cast<int>(step_ms), nullptr);
    if (mc != CURLM_OK) throw std::runtime_error(std::string("libcurl: ") + curl_multi_strerror(mc));
    between_steps();
  }
  HttpResult r = transfer.finish(h, code);
  return response_or_throw(std::move(r), method, path, req.url);
}

nlohmann::json interpret_answer(const HttpResponse& r, std::string_view method, std::string_view path,
                                const std::string& url) {
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

nlohmann::json StorconClient::interpret(std::string_view method, std::string_view path,
                                        const HttpResponse& r) const {
  return interpret_answer(r, method, path, join_url(options_.base_url, path));
}

nlohmann::json StorconClient::call(std::string_view method, std::string_view path,
                                   const nlohmann::json* body) {
  return interpret(method, path, send(method, path, body));
}

}  // namespace storcon
