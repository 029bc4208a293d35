#include "control/catalog.hpp"

#include "control/json_fields.hpp"

namespace storcon {

namespace {
constexpr int64_t kPortMax = 65535;

std::optional<int32_t> opt_port(const nlohmann::json& j, const char* key) {
  auto v = get_opt_int(j, key, 0, kPortMax);
  if (!v) return std::nullopt;
  return static_cast<int32_t>(*v);
}

template <typename T, typename F>
std::vector<T> decode_list(const nlohmann::json& j, const char* what, F decode_one) {
  if (!j.is_array()) throw DecodeError(std::string("expected a JSON array of ") + what);
  std::vector<T> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); i++) {
    try {
      out.push_back(decode_one(j[i]));
    } catch (const DecodeError& e) {
      throw DecodeError(std::string(what) + " #" + std::to_string(i) + ": " + e.what());
    }
  }
  return out;
}
}  // namespace

NodeRecord decode_node(const nlohmann::json& j) {
  NodeRecord n;
  n.node_id = get_int(j, "id", 0, INT64_MAX);
  n.listen_pg_addr = get_string(j, "listen_pg_addr");
  n.listen_pg_port = static_cast<int32_t>(get_int(j, "listen_pg_port", 0, kPortMax));
  n.listen_http_addr = get_string(j, "listen_http_addr");
  n.listen_http_port = static_cast<int32_t>(get_int(j, "listen_http_port", 0, kPortMax));
  n.listen_https_port = opt_port(j, "listen_https_port");
  n.listen_grpc_addr = get_opt_string(j, "listen_grpc_addr");
  n.listen_grpc_port = opt_port(j, "listen_grpc_port");
  n.availability_zone_id = get_string(j, "availability_zone_id");
  n.availability = get_string(j, "availability");
  n.scheduling = get_string(j, "scheduling");
  return n;
}

SafekeeperRecord decode_safekeeper(const nlohmann::json& j) {
  SafekeeperRecord s;
  s.id = get_int(j, "id", 0, INT64_MAX);
  s.region_id = get_string(j, "region_id");
  s.version = get_int(j, "version", INT64_MIN, INT64_MAX);
  s.host = get_string(j, "host");
  s.port = static_cast<int32_t>(get_int(j, "port", 0, kPortMax));
  s.http_port = static_cast<int32_t>(get_int(j, "http_port", 0, kPortMax));
  s.https_port = opt_port(j, "https_port");
  s.availability_zone_id = get_string(j, "availability_zone_id");
  s.scheduling_policy = get_string(j, "scheduling_policy");
  return s;
}

std::vector<NodeRecord> decode_node_list(const nlohmann::json& j) {
  return decode_list<NodeRecord>(j, "node", decode_node);
}

std::vector<SafekeeperRecord> decode_safekeeper_list(const nlohmann::json& j) {
  return decode_list<SafekeeperRecord>(j, "safekeeper", decode_safekeeper);
}

namespace {
template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json node_rows(const std::vector<NodeRecord>& nodes) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& n : nodes)
    rows.push_back({{"node_id", n.node_id},
                    {"listen_pg_addr", n.listen_pg_addr},
                    {"listen_pg_port", n.listen_pg_port},
                    {"listen_http_addr", n.listen_http_addr},
                    {"listen_http_port", n.listen_http_port},
                    {"listen_https_port", or_null(n.listen_https_port)},
                    {"listen_grpc_addr", or_null(n.listen_grpc_addr)},
                    {"listen_grpc_port", or_null(n.listen_grpc_port)},
                    {"availability_zone_id", n.availability_zone_id},
                    {"availability", n.availability},
                    {"scheduling", n.scheduling}});
  return rows;
}

nlohmann::json safekeeper_rows(const std::vector<SafekeeperRecord>& sks) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& s : sks)
    rows.push_back({{"id", s.id},
                    {"region_id", s.region_id},
                    {"version", s.version},
                    {"host", s.host},
                    {"port", s.port},
                    {"http_port", s.http_port},
                    {"https_port", or_null(s.https_port)},
                    {"availability_zone_id", s.availability_zone_id},
                    {"scheduling_policy", s.scheduling_policy}});
  return rows;
}

NodeRecord node_from_row(const nlohmann::json& row) {
  nlohmann::json j = row;
  j["id"] = row.at("node_id");
  return decode_node(j);
}

}  // namespace storcon
