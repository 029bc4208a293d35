// The audit log: every notification and every reconcile action, with what was applied or why not.
// Records are kept in memory (the recent ones are shown by /status, also on a standby) and written
// to storcon.notifications on a primary when the worker is idle, in a transaction with
// synchronous_commit off, so the hook's answers never wait for a commit; at most one write every
// 100 ms, of at most 200 records (more waiting: the next write at the next idle moment; 1000 when
// it falls 2000 behind), so one write never holds the worker's loop for long. Pruned to storcon.notifications_max_rows
// from a bound the worker keeps (a prune deletes only what the new records pushed out). A batch
// the table refuses is retried record by record: a record that still fails is dropped and counted
// (audit_dropped in /metrics), and the rest are written, so one bad record can never wedge the log.
#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace storcon::worker {

class AuditLog {
 public:
  void add(const std::string& kind, const std::string& tenant_id, const std::string& timeline_id,
           const std::string& body, int http_status, const std::string& outcome, const std::string& detail,
           double duration_ms, const nlohmann::json& forwarded = nullptr);
  // Records are waiting and it is time to try writing them.
  bool due() const;
  // When the waiting records should be written (PostgreSQL microseconds); INT64_MAX: none wait.
  long long next_due_us() const;
  // Writes pending records (primary with the extension installed) or drops them (standby);
  // failures are logged, never raised. Returns log lines.
  std::vector<std::string> flush();
  nlohmann::json recent() const;
  uint64_t dropped() const { return dropped_; }

 private:
  std::deque<nlohmann::json> pending_;
  int64_t pruned_through_ = 0;       // every record at or below this id is pruned already
  unsigned pruned_table_ = 0;        // the table (OID) that bound is about
  long long retry_at_us_ = 0;  // the table was missing or the write failed: try again then
  std::deque<nlohmann::json> recent_;
  uint64_t dropped_ = 0;
};

}  // namespace storcon::worker
