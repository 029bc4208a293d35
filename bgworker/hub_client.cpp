#include "bgworker/hub_client.hpp"

#include "control/callback_guard.hpp"
#include "control/storcon_client.hpp"
#include "extension/gucs.hpp"
#include "extension/storcon_call.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <climits>

namespace storcon::worker {

namespace {
bool set(const char* v) { return v != nullptr && v[0] != '\0'; }

std::vector<std::string> hub_headers() {
  std::vector<std::string> h = {"Accept: application/json"};
  std::string token = pg::read_token_file(pg::guc_hook_forward_token_file, "storcon.hook_forward_token_file");
  if (!token.empty()) h.push_back("Authorization: Bearer " + token);
  return h;
}

std::string registration_url(const std::string& hub, const std::string& id) {
  return join_url(hub, "computes/" + id);
}
}  // namespace

std::string advertised_hook_url(bool tls) {
  if (set(pg::guc_hook_advertise_url)) return pg::guc_hook_advertise_url;
  std::string host = pg::guc_hook_listen_addr ? pg::guc_hook_listen_addr : "127.0.0.1";
  if (host == "0.0.0.0" || host == "::" || host.empty()) {
    char name[256] = {0};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "localhost";
  } else if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(pg::guc_hook_port);
}

std::string own_compute_id(bool tls) {
  if (set(pg::guc_compute_id)) return pg::guc_compute_id;
  std::string url = advertised_hook_url(tls);
  size_t scheme = url.find("://");
  std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  return rest.substr(0, rest.find('/'));
}

void HubClient::configure(const InEffect& now, bool tls) {
  std::string hub = set(pg::guc_hub_url) ? pg::guc_hub_url : "";
  ComputeEntry me;
  me.compute_id = own_compute_id(tls);
  me.tenant_id = now.tenant_id;
  me.timeline_id = now.timeline_id;
  me.primary = now.primary;
  me.hook_url = advertised_hook_url(tls);
  me.heartbeat_seconds = pg::guc_hub_heartbeat_s;
  std::string body = registration_body(me);
  bool changed = hub != hub_ || body != body_ || me.compute_id != me_.compute_id;
  hub_ = hub;
  me_ = me;
  body_ = body;
  if (hub_.empty() || me_.tenant_id.empty()) {  // no hub, or nothing to register (a hub itself)
    next_due_us_ = INT64_MAX;
    return;
  }
  if (changed || next_due_us_ == INT64_MAX) next_due_us_ = 0;
}

void HubClient::tick() {
  if (in_flight_ != 0 || clock_.now_us() < next_due_us_) return;
  HttpRequest r;
  r.method = "PUT";
  r.url = registration_url(hub_, me_.compute_id);
  r.body = body_;
  r.connect_timeout_ms = 2000;
  r.timeout_ms = 5000;
  r.ca_file = pg::guc_ca_file ? pg::guc_ca_file : "";
  r.max_response_bytes = 64 * 1024;
  try {
    r.headers = hub_headers();
    in_flight_ = fetcher_.start(r);
  } catch (const std::exception& e) {
    last_error_ = e.what();
    next_due_us_ = clock_.now_us() + 5'000'000;
  }
}

bool HubClient::on_transfer_done(AsyncFetcher::Id id, HttpResult& result) {
  if (id != in_flight_) return false;
  in_flight_ = 0;
  const int64_t heartbeat = int64_t{me_.heartbeat_seconds} * 1'000'000;
  if (result.ok()) {
    if (!registered_ || !last_error_.empty()) effects_.log("registered with the hub " + hub_ + " as " + me_.compute_id);
    registered_ = true;
    last_error_.clear();
    next_due_us_ = clock_.now_us() + heartbeat;
    return true;
  }
  std::string why = result.error.empty() ? message_from_error_body(result.status, result.body) : result.error;
  if (why != last_error_) effects_.log("could not register with the hub " + hub_ + " (retrying): " + why);
  last_error_ = why;
  next_due_us_ = clock_.now_us() + std::min<int64_t>(heartbeat, 5'000'000);
  return true;
}

int64_t HubClient::next_due_us() const { return in_flight_ != 0 ? INT64_MAX : next_due_us_; }

void HubClient::leave() noexcept {
  guarded(0, [&] {
    if (!registered_ || hub_.empty()) return 0;
    HttpRequest r;
    r.method = "DELETE";
    r.url = registration_url(hub_, me_.compute_id);
    r.connect_timeout_ms = 500;
    r.timeout_ms = 1000;
    r.ca_file = pg::guc_ca_file ? pg::guc_ca_file : "";
    r.max_response_bytes = 64 * 1024;
    r.headers = hub_headers();
    CURL* h = curl_easy_init();
    if (h == nullptr) return 0;
    HttpTransfer t;
    t.configure(h, r);
    (void)t.finish(h, curl_easy_perform(h));
    curl_easy_cleanup(h);
    registered_ = false;
    return 0;
  });
}

nlohmann::json HubClient::status() const {
  if (hub_.empty()) return nullptr;
  return {{"hub_url", hub_},
          {"compute_id", me_.compute_id},
          {"hook_url", me_.hook_url},
          {"registered", registered_},
          {"last_error", last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_)}};
}

}  // namespace storcon::worker
