#include "bgworker/audit_log.hpp"

#include <algorithm>
#include <climits>

#include "bgworker/pg_env.hpp"
#include "control/json_fields.hpp"
#include "extension/ext_objects.hpp"
#include "extension/gucs.hpp"

extern "C" {
#include "access/xlog.h"
#include "pgstat.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

namespace storcon::worker {

namespace {
constexpr size_t kRecent = 50;
constexpr size_t kMaxPending = 10000;  // a standby or a broken table must not grow memory forever
constexpr long long kFlushEveryUs = 100 * 1000;
constexpr size_t kRowsPerFlush = 200;       // about 3 ms of the loop's time
constexpr size_t kBacklogRows = 2000;       // behind by this much: larger writes, before kMaxPending drops any
constexpr size_t kBacklogRowsPerFlush = 1000;

// jsonb refuses NUL in text ("\u0000"): keep every string of a record free of it.
std::string without_nul(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
  return s;
}

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(without_nul(s)); }

long long now_us() {
  long long t = 0;
  pg::pg_call([&] { t = static_cast<long long>(GetCurrentTimestamp()); });
  return t;
}

// _record_notifications(rows, max_rows) by OID, in the caller's transaction.
void insert_rows(Oid fn, const std::string& rows, int max_rows) {
  (void)pg::call_member(fn, 2, pg::jsonb_arg(rows), Int32GetDatum(max_rows));
}

// _prune_notifications(max_rows, after_id) by OID: the new bound.
int64_t prune(Oid fn, int max_rows, int64_t after_id) {
  Datum bound = pg::call_member(fn, 2, Int32GetDatum(max_rows), Int64GetDatum(after_id));
  return DatumGetInt64(bound);
}
}  // namespace

void AuditLog::add(const std::string& kind, const std::string& tenant_id, const std::string& timeline_id,
                   const std::string& body, int http_status, const std::string& outcome, const std::string& detail,
                   double duration_ms, const nlohmann::json& forwarded) {
  // Unix seconds; PostgreSQL's TimestampTz counts microseconds from 2000-01-01.
  double at = static_cast<double>(now_us()) / 1e6 + 946684800.0;
  // Kept as JSON only when it is JSON jsonb can hold (no "\u0000", no duplicate keys), else as text.
  nlohmann::json parsed;
  try {
    parsed = parse_strict(body, 64);
  } catch (const DecodeError&) {
    parsed = without_nul(body.substr(0, 4096));
  }
  nlohmann::json row = {{"received_at", at},         {"kind", kind},
                        {"tenant_id", or_null(tenant_id)}, {"timeline_id", or_null(timeline_id)},
                        {"body", parsed},            {"http_status", http_status},
                        {"outcome", outcome},        {"detail", or_null(detail)},
                        {"duration_ms", duration_ms}};
  if (!forwarded.is_null()) row["forwarded"] = forwarded;
  recent_.push_back(row);
  if (recent_.size() > kRecent) recent_.pop_front();
  if (pending_.size() < kMaxPending)
    pending_.push_back(std::move(row));
  else
    dropped_++;
}

nlohmann::json AuditLog::recent() const { return nlohmann::json(recent_); }

bool AuditLog::due() const { return !pending_.empty() && now_us() >= retry_at_us_; }

long long AuditLog::next_due_us() const { return pending_.empty() ? INT64_MAX : retry_at_us_; }

std::vector<std::string> AuditLog::flush() {
  std::vector<std::string> log;
  if (pending_.empty()) return log;
  bool recovery = false;
  pg::pg_call([&] { recovery = RecoveryInProgress(); });
  if (recovery) {  // a standby writes no tables: /status keeps the recent history
    pending_.clear();
    return log;
  }
  auto dump = [](const nlohmann::json& rows) {
    return rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const size_t n = std::min(pending_.size(), pending_.size() > kBacklogRows ? kBacklogRowsPerFlush : kRowsPerFlush);
  nlohmann::json batch = nlohmann::json::array();
  for (size_t i = 0; i < n; i++) batch.push_back(pending_[i]);
  const int max_rows = pg::guc_notifications_max_rows;
  bool installed = false;
  bool written = false;
  // Each write prunes in its own transaction, so the bound moves only with a commit.
  auto write_rows = [&](const nlohmann::json& rows) {
    int64_t bound = pruned_through_;
    Oid table = InvalidOid;
    in_transaction([&] {
      pg::ExtensionObjects ext = pg::lookup_extension_objects();
      if (!OidIsValid(ext.record_notifications)) return;  // CREATE EXTENSION may come later: keep the records
      installed = true;
      commit_without_waiting();
      insert_rows(ext.record_notifications, dump(rows), max_rows);
      if (OidIsValid(ext.prune_notifications)) {
        table = ext.notifications;
        bound = prune(ext.prune_notifications, max_rows, table == pruned_table_ ? pruned_through_ : 0);
      }
    });
    if (OidIsValid(table)) {
      pruned_table_ = table;
      pruned_through_ = bound;
    }
  };
  try {
    write_rows(batch);
    written = installed;
  } catch (const std::exception& e) {
    log.push_back(std::string("could not write storcon.notifications (retrying record by record): ") + e.what());
  }
  if (installed && !written) {
    // One record the table refuses must not hold back the others: each on its own, bad ones dropped.
    for (const auto& row : batch) {
      try {
        write_rows(nlohmann::json::array({row}));
      } catch (const std::exception& e) {
        dropped_++;
        log.push_back(std::string("dropped an audit record storcon.notifications refuses: ") + e.what());
      }
    }
    written = true;
  }
  long long now = now_us();
  if (written) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    // Let autovacuum see the inserts and the pruning (a background worker reports its table
    // statistics only when asked); without it the table and its index only ever grow.
    pg::pg_call([] { pgstat_report_stat(true); });
    retry_at_us_ = pending_.empty() ? now + kFlushEveryUs : now;  // more waiting: at the next idle moment
  } else {
    retry_at_us_ = now + 5 * 1000000LL;
  }
  return log;
}

}  // namespace storcon::worker
