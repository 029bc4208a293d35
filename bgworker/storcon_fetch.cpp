#include "bgworker/storcon_fetch.hpp"

#include "control/storcon_client.hpp"
#include "extension/gucs.hpp"
#include "extension/storcon_call.hpp"

#include <algorithm>

namespace storcon::worker {

std::vector<FetchRequest> storcon_gets(const std::vector<std::pair<std::string, std::string>>& key_paths,
                                       long timeout_cap_ms) {
  std::string base = pg::guc_url ? pg::guc_url : "";
  validate_base_url(base);
  std::vector<std::string> headers = {"Accept: application/json"};
  std::string token = pg::storcon_token();
  if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
  long timeout = std::min<long>(pg::guc_request_timeout_ms, timeout_cap_ms);
  long connect = std::min<long>(pg::guc_connect_timeout_ms, timeout);
  std::vector<FetchRequest> out;
  for (const auto& [key, path] : key_paths)
    out.push_back(FetchRequest{key, "GET", join_url(base, path), "", headers, connect, timeout,
                               pg::guc_ca_file ? pg::guc_ca_file : ""});
  return out;
}

long fetched_status(const AsyncFetcher& f, const std::string& key) {
  auto it = f.results().find(key);
  return it == f.results().end() || !it->second.error.empty() ? 0 : it->second.status;
}

nlohmann::json fetched_json(const AsyncFetcher& f, const std::string& key, const std::string& what) {
  auto it = f.results().find(key);
  if (it == f.results().end()) throw std::runtime_error(what + ": no answer");
  const FetchResult& r = it->second;
  if (!r.error.empty()) throw std::runtime_error(what + ": " + r.error);
  if (r.status < 200 || r.status > 299)
    throw std::runtime_error(what + ": " + message_from_error_body(r.status, r.body));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error(what + ": storcon sent a response that is not JSON");
  return j;
}

pg::CatalogSnapshot fetched_catalog(const AsyncFetcher& f) {
  pg::CatalogSnapshot snap;
  snap.nodes = decode_node_list(fetched_json(f, "nodes", "node list"));
  snap.safekeepers = decode_safekeeper_list(fetched_json(f, "safekeepers", "safekeeper list"));
  return snap;
}

}  // namespace storcon::worker
