// The pageservers and safekeepers storcon knows, decoded from GET /control/v1/node and
// GET /control/v1/safekeeper (contract §3.5, §3.6), and re-encoded as rows of the mirror tables
// storcon.nodes / storcon.safekeepers. The hook resolves node ids through this directory.
#pragma once
#include "control/guard.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace storcon {

struct NodeRecord {
  int64_t node_id = 0;
  std::string listen_pg_addr;
  int32_t listen_pg_port = 0;
  std::string listen_http_addr;
  int32_t listen_http_port = 0;
  std::optional<int32_t> listen_https_port;
  std::optional<std::string> listen_grpc_addr;
  std::optional<int32_t> listen_grpc_port;
  std::string availability_zone_id;
  std::string availability;
  std::string scheduling;
};

struct SafekeeperRecord {
  int64_t id = 0;
  std::string region_id;
  int64_t version = 0;
  std::string host;
  int32_t port = 0;
  int32_t http_port = 0;
  std::optional<int32_t> https_port;
  std::string availability_zone_id;
  std::string scheduling_policy;
};

// Decoders throw DecodeError naming the element and field that is wrong.
NodeRecord decode_node(const nlohmann::json& j);
SafekeeperRecord decode_safekeeper(const nlohmann::json& j);
std::vector<NodeRecord> decode_node_list(const nlohmann::json& j);
std::vector<SafekeeperRecord> decode_safekeeper_list(const nlohmann::json& j);

// Rows for the mirror tables, as a JSON array of objects keyed by column name.
nlohmann::json node_rows(const std::vector<NodeRecord>& nodes);
nlohmann::json safekeeper_rows(const std::vector<SafekeeperRecord>& sks);
// And back (the worker loads its directory from the table).
NodeRecord node_from_row(const nlohmann::json& row);

// Node id -> record, O(1) per lookup.
class NodeDirectory {
 public:
  void replace(const std::vector<NodeRecord>& nodes);
  const NodeRecord* find(int64_t node_id) const;
  // The node whose listen_pg_addr:listen_pg_port this is (for showing a connstring), or nullptr.
  const NodeRecord* find_by_address(const std::string& host, int port) const;
  size_t size() const { return nodes_.size(); }

 private:
  std::unordered_map<int64_t, NodeRecord> nodes_;
};

}  // namespace storcon
