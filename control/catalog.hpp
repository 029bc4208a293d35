// The pageservers and safekeepers storcon knows, decoded from GET /control/v1/node and
// GET /control/v1/safekeeper (contract §3.5, §3.6), and re-encoded as rows of the mirror tables
// storcon.nodes / storcon.safekeepers. The hook resolves node ids through this directory.
#pragma once
#include "control/guard.hpp"

#include <algorithm>
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

// How a directory reads a record: its id, and the address computes connect to.
inline int64_t record_id(const NodeRecord& n) { return n.node_id; }
inline int64_t record_id(const SafekeeperRecord& s) { return s.id; }
inline bool has_pg_address(const NodeRecord& n, const std::string& host, int port) {
  return n.listen_pg_addr == host && n.listen_pg_port == port;
}
inline bool has_pg_address(const SafekeeperRecord& s, const std::string& host, int port) {
  return s.host == host && s.port == port;
}

// Id -> record, O(1) per lookup: the pageservers (NodeDirectory) and the safekeepers
// (SafekeeperDirectory) the hook resolves ids through.
template <typename Record>
class Directory {
 public:
  void replace(const std::vector<Record>& records) {
    std::unordered_map<int64_t, Record> next;
    next.reserve(records.size());
    for (const auto& r : records) next.emplace(record_id(r), r);
    records_.swap(next);
  }
  const Record* find(int64_t id) const {
    auto it = records_.find(id);
    return it == records_.end() ? nullptr : &it->second;
  }
  // The record whose compute-facing host:port this is (for showing a connstring), or nullptr.
  const Record* find_by_address(const std::string& host, int port) const {
    for (const auto& [id, r] : records_)
      if (has_pg_address(r, host, port)) return &r;
    return nullptr;
  }
  // The ids this directory does not know, ascending, each once.
  std::vector<int64_t> missing(const std::vector<int64_t>& ids) const {
    std::vector<int64_t> out;
    for (int64_t id : ids)
      if (find(id) == nullptr) out.push_back(id);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  size_t size() const { return records_.size(); }

 private:
  std::unordered_map<int64_t, Record> records_;
};

using NodeDirectory = Directory<NodeRecord>;
using SafekeeperDirectory = Directory<SafekeeperRecord>;

}  // namespace storcon
