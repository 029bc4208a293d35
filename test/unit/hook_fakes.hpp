// Test doubles for the hook's state machine that behave like the worker does: writes and undos
// are synchronous (they are in the worker too), but a catalog refresh and a forward only START
// here; the test finishes them later by calling on_catalog_refreshed / on_forwarded, exactly as
// the worker's event loop does when libcurl reports the transfer done.
#pragma once

#include "control/hook_engine.hpp"

#include <map>
#include <string>
#include <vector>

namespace storcon::test {

inline const char* kTenant = "1f359dd625e519a1a4e8d7509690f6fc";
inline const char* kTimeline = "de200bd42b49cc1814412c7e592dd6e9";
inline const char* kOtherTenant = "00000000000000000000000000000001";

class FakeClock : public Clock {
 public:
  int64_t now = 1'000'000'000;
  int64_t now_us() const override { return now; }
  void advance_ms(int64_t ms) { now += ms * 1000; }
};

class FakeEffects : public HookEffects {
 public:
  // What the world looks like.
  std::vector<ConfEntry> file;            // postgresql.auto.conf
  bool fail_writes = false;
  bool fail_after_rename = false;
  std::vector<ForwardTarget> targets;     // for every notification
  // What the engine did.
  std::vector<std::vector<ConfEntry>> writes;
  std::vector<std::string> undos;
  std::vector<int64_t> refreshes;         // deadlines of the refreshes started
  std::map<uint64_t, ForwardRequest> forwards;
  std::map<RequestId, HookReply> answers;
  std::vector<NotificationRecord> records;
  std::map<uint64_t, HookReply> reconciles;

  WriteResult write_settings(const std::vector<ConfEntry>& settings) override {
    WriteResult r;
    if (fail_writes) {
      r.error = "disk full";
      return r;
    }
    writes.push_back(settings);
    r.before = file;
    file = edit_auto_conf(file, settings);
    if (fail_after_rename) {
      r.error = "could not fsync directory";
      r.file_replaced = true;
      return r;
    }
    r.ok = true;
    return r;
  }
  std::string undo_settings(const std::vector<ConfEntry>& written, const std::vector<ConfEntry>& before) override {
    const UndoEdit u = undo_edit(file, written, before);  // the product's rule, on the fake's file
    file = edit_auto_conf(file, u.set, u.remove);
    undos.push_back("undone");
    return "postgresql.auto.conf restored";
  }
  void start_catalog_refresh(int64_t deadline_us) override { refreshes.push_back(deadline_us); }
  void start_forward(uint64_t batch, const ForwardRequest& request) override { forwards[batch] = request; }
  std::vector<ForwardTarget> forward_targets(const ParsedNotification&, bool) override { return targets; }
  void answer(RequestId id, const HookReply& reply) override {
    EXPECT_EQ(answers.count(id), 0u) << "request " << id << " answered twice";
    answers[id] = reply;
  }
  uint64_t record(const NotificationRecord& r) override {
    records.push_back(r);
    return records.size();
  }
  void reconcile_done(uint64_t pass, const HookReply& reply) override { reconciles[pass] = reply; }
};

inline NodeRecord node(int64_t id, const std::string& host = "") {
  NodeRecord n;
  n.node_id = id;
  n.listen_pg_addr = host.empty() ? "ps" + std::to_string(id) : host;
  n.listen_pg_port = 6400;
  return n;
}

inline SafekeeperRecord sk(int64_t id) {
  SafekeeperRecord s;
  s.id = id;
  s.host = "sk" + std::to_string(id);
  s.port = 5454;
  return s;
}

inline std::string conn(std::vector<int64_t> nodes) {
  std::string out;
  for (auto n : nodes) out += (out.empty() ? "" : ",") + std::string("postgres://no_user@ps") + std::to_string(n) + ":6400";
  return out;
}

inline std::string attach_body(const std::string& tenant, std::vector<int64_t> nodes, int stripe = 2048) {
  nlohmann::json j = {{"tenant_id", tenant}, {"preferred_az", nullptr}};
  j["stripe_size"] = nodes.size() > 1 ? nlohmann::json(stripe) : nlohmann::json(nullptr);
  j["shards"] = nlohmann::json::array();
  for (size_t i = 0; i < nodes.size(); i++) j["shards"].push_back({{"node_id", nodes[i]}, {"shard_number", i}});
  return j.dump();
}

inline std::string sk_body(uint32_t generation, std::vector<int64_t> ids, const std::string& timeline = kTimeline,
                           const std::string& tenant = kTenant) {
  nlohmann::json j = {{"tenant_id", tenant}, {"timeline_id", timeline}, {"generation", generation}};
  j["safekeepers"] = nlohmann::json::array();
  for (auto id : ids) j["safekeepers"].push_back({{"id", id}, {"hostname", "sk" + std::to_string(id)}});
  return j.dump();
}

// The worker's view after a reload of `file`.
inline InEffect view_of(const std::vector<ConfEntry>& file, InEffect base) {
  if (auto v = find_setting(file, kConnstringGuc)) base.pageserver_connstring = *v;
  if (auto v = find_setting(file, kStripeSizeGuc)) base.stripe_size = std::stoll(*v);
  if (auto v = find_setting(file, kSafekeepersGuc)) base.safekeepers = *v;
  return base;
}

}  // namespace storcon::test
