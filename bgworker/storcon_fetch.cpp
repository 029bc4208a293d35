#include "bgworker/storcon_fetch.hpp"

#include "control/storcon_client.hpp"
#include "extension/gucs.hpp"
#include "extension/storcon_call.hpp"

#include <algorithm>

namespace storcon::worker {

HttpRequest storcon_get(const std::string& path, long timeout_cap_ms) {
  std::string base = pg::guc_url ? pg::guc_url : "";
  validate_base_url(base);
  HttpRequest r;
  r.url = join_url(base, path);
  r.headers = {"Accept: application/json"};
  std::string token = pg::storcon_token();
  if (!token.empty()) r.headers.push_back("Authorization: Bearer " + token);
  r.timeout_ms = std::max<long>(1, std::min<long>(pg::guc_request_timeout_ms, timeout_cap_ms));
  r.connect_timeout_ms = std::min<long>(pg::guc_connect_timeout_ms, r.timeout_ms);
  r.ca_file = pg::guc_ca_file ? pg::guc_ca_file : "";
  return r;
}

nlohmann::json answer_json(const HttpResult& r, const std::string& what) {
  if (!r.error.empty()) throw std::runtime_error(what + ": " + r.error);
  if (r.status < 200 || r.status > 299) throw std::runtime_error(what + ": " + message_from_error_body(r.status, r.body));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error(what + ": storcon sent a response that is not JSON");
  return j;
}

}  // namespace storcon::worker
