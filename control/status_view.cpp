#include "control/status_view.hpp"

#include "control/notify_safekeepers.hpp"

#include <cstdlib>

namespace storcon {

namespace {
// "host:port" or "[v6]:port" -> (host, port); port 0 when unreadable.
std::pair<std::string, int> split_host_port(const std::string& hp) {
  size_t colon = hp.rfind(':');
  if (colon == std::string::npos) return {hp, 0};
  std::string host = hp.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, std::atoi(hp.c_str() + colon + 1)};
}

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }
}  // namespace

nlohmann::json shard_map_view(const InEffect& now, const NodeDirectory& nodes) {
  nlohmann::json out = nlohmann::json::array();
  if (now.pageserver_connstring.empty()) return out;
  size_t start = 0;
  for (int shard = 0;; shard++) {
    size_t comma = now.pageserver_connstring.find(',', start);
    std::string url = now.pageserver_connstring.substr(start, comma == std::string::npos ? comma : comma - start);
    std::string authority = url;
    if (size_t at = authority.find('@'); at != std::string::npos) authority = authority.substr(at + 1);
    if (size_t scheme = authority.find("://"); scheme != std::string::npos) authority = authority.substr(scheme + 3);
    auto [host, port] = split_host_port(authority);
    nlohmann::json entry = {{"shard", shard}, {"url", url}, {"host", host}, {"port", port},
                            {"node_id", nullptr}, {"availability_zone_id", nullptr}};
    if (const NodeRecord* n = nodes.find_by_address(host, port)) {
      entry["node_id"] = n->node_id;
      entry["availability_zone_id"] = or_null(n->availability_zone_id);
    }
    out.push_back(entry);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

nlohmann::json safekeepers_view(const InEffect& now, const SafekeeperDirectory& safekeepers) {
  nlohmann::json out = {{"generation", nullptr}, {"members", nlohmann::json::array()}};
  auto parsed = parse_safekeepers_setting(now.safekeepers);
  if (!parsed) return out;
  if (parsed->generation > 0) out["generation"] = parsed->generation;
  for (const auto& e : parsed->entries) {
    auto [host, port] = split_host_port(e);
    nlohmann::json m = {{"host", host}, {"port", port}, {"id", nullptr}, {"availability_zone_id", nullptr}};
    if (const SafekeeperRecord* s = safekeepers.find_by_address(host, port)) {
      m["id"] = s->id;
      m["availability_zone_id"] = or_null(s->availability_zone_id);
    }
    out["members"].push_back(m);
  }
  return out;
}

nlohmann::json status_json(const std::string& listen, const InEffect& now, const HookStats& stats,
                           const Catalog& catalog) {
  nlohmann::json in_effect = {{"pageserver_connstring", now.pageserver_connstring},
                              {"stripe_size", nullptr},
                              {"safekeepers", now.safekeepers}};
  if (now.stripe_size) in_effect["stripe_size"] = *now.stripe_size;
  nlohmann::json j = {{"listen", listen},
                      {"tenant_id", or_null(now.tenant_id)},
                      {"timeline_id", or_null(now.timeline_id)},
                      {"in_effect", in_effect},
                      {"primary", now.primary},
                      {"shard_map", shard_map_view(now, catalog.nodes)},
                      {"safekeeper_set", safekeepers_view(now, catalog.safekeepers)}};
  j.update(stats.to_json());
  return j;
}

}  // namespace storcon
