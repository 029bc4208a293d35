#include "bgworker/storcon_fetch.hpp"

#include "control/storcon_client.hpp"
#include "extension/gucs.hpp"
#include "extension/storcon_call.hpp"

#include <algorithm>

namespace storcon::worker {

HttpRequest storcon_get(const std::string& path, long timeout_cap_ms) {
  ClientOptions o = pg::client_options();
  o.request_timeout_ms = std::max<long>(1, std::min<long>(o.request_timeout_ms, timeout_cap_ms));
  o.connect_timeout_ms = std::min<long>(o.connect_timeout_ms, o.request_timeout_ms);
  return storcon_request(o, "GET", path, nullptr);
}

nlohmann::json answer_json(const HttpResult& r, const std::string& what) {
  if (!r.error.empty()) throw std::runtime_error(what + ": " + r.error);
  try {
    return interpret_answer(HttpResponse{r.status, r.body}, "GET", "", "");
  } catch (const StorconError& e) {
    throw std::runtime_error(what + ": " + e.what());
  }
}

}  // namespace storcon::worker
