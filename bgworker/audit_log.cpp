#include "bgworker/audit_log.hpp"

#include "bgworker/pg_env.hpp"
#include "extension/catalog_sync.hpp"
#include "extension/gucs.hpp"

extern "C" {
#include "access/xlog.h"
#include "pgstat.h"
#include "utils/timestamp.h"
}

namespace storcon::worker {

namespace {
constexpr size_t kRecent = 50;
constexpr size_t kMaxPending = 10000;  // a standby or a broken table must not grow memory forever
constexpr long long kFlushEveryUs = 100 * 1000;
}  // namespace

void AuditLog::add(const std::string& kind, const std::string& tenant_id, const std::string& timeline_id,
                   const std::string& body, int http_status, const std::string& outcome, const std::string& detail,
                   double duration_ms) {
  // Unix seconds; PostgreSQL's TimestampTz counts microseconds from 2000-01-01.
  double at = static_cast<double>(GetCurrentTimestamp()) / 1e6 + 946684800.0;
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  nlohmann::json row = {{"received_at", at},
                        {"kind", kind},
                        {"tenant_id", tenant_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(tenant_id)},
                        {"timeline_id", timeline_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(timeline_id)},
                        {"body", parsed.is_discarded() ? nlohmann::json(body.substr(0, 4096)) : parsed},
                        {"http_status", http_status},
                        {"outcome", outcome},
                        {"detail", detail.empty() ? nlohmann::json(nullptr) : nlohmann::json(detail)},
                        {"duration_ms", duration_ms}};
  recent_.push_back(row);
  if (recent_.size() > kRecent) recent_.pop_front();
  if (pending_.size() < kMaxPending) pending_.push_back(std::move(row));
}

nlohmann::json AuditLog::recent() const { return nlohmann::json(recent_); }

bool AuditLog::due() const {
  return !pending_.empty() && static_cast<long long>(GetCurrentTimestamp()) >= retry_at_us_;
}

void AuditLog::flush() {
  if (pending_.empty()) return;
  if (RecoveryInProgress()) {  // a standby writes no tables: /status keeps the recent history
    pending_.clear();
    return;
  }
  const std::string rows = nlohmann::json(pending_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const char* text = rows.c_str();
  int max_rows = pg::guc_notifications_max_rows;
  bool written = false;
  try {
    in_transaction([&] {
      if (!pg::mirror_tables_exist()) return;  // CREATE EXTENSION may come later: keep the records
      written = true;
      pg::pg_call([&] {
        SPI_connect();
        SPI_execute("SET LOCAL synchronous_commit = off", false, 0);
        Oid types[2] = {TEXTOID, INT4OID};
        Datum values[2] = {CStringGetTextDatum(text), Int32GetDatum(max_rows)};
        SPI_execute_with_args("SELECT storcon._record_notifications($1::jsonb, $2)", 2, types, values, nullptr,
                              false, 1);
        SPI_finish();
      });
    });
  } catch (const std::exception& e) {
    written = false;
    elog(WARNING, "pg_storcon hook: could not write storcon.notifications: %s", e.what());
  }
  long long now = static_cast<long long>(GetCurrentTimestamp());
  if (written) {
    pending_.clear();
    // Let autovacuum see the inserts and the pruning (a background worker reports its table
    // statistics only when asked); without it the table and its index only ever grow.
    pgstat_report_stat(true);
    retry_at_us_ = now + kFlushEveryUs;  // batch: at most one write every 100 ms
  } else {
    retry_at_us_ = now + 5 * 1000000LL;
  }
}

}  // namespace storcon::worker
