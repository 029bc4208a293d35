#include "bgworker/pg_env.hpp"

#include "control/ids.hpp"
#include "extension/catalog_sync.hpp"
#include "extension/gucs.hpp"

#include <algorithm>
#include <cstdlib>

extern "C" {
#include "access/xlog.h"
#include "utils/snapmgr.h"
}

namespace storcon::worker {

namespace {
std::string setting(const char* name) {
  const char* v = GetConfigOption(name, true, false);  // missing_ok: vanilla PostgreSQL has no neon.*
  return v ? v : "";
}
}  // namespace

void PgHookEnv::read_settings() {
  InEffect e;
  std::string tenant = setting("neon.tenant_id");
  e.tenant_id = to_lower(tenant.substr(0, 32));
  e.timeline_id = to_lower(setting("neon.timeline_id").substr(0, 32));
  e.pageserver_connstring = setting(kConnstringGuc);
  std::string stripe = setting(kStripeSizeGuc);  // GetConfigOption prints ints without units
  char* end = nullptr;
  long long v = std::strtoll(stripe.c_str(), &end, 10);
  if (!stripe.empty() && end != nullptr && *end == '\0') e.stripe_size = v;
  e.safekeepers = setting(kSafekeepersGuc);
  e.primary = !RecoveryInProgress();
  in_effect_ = e;
}

void PgHookEnv::load_catalog() {
  in_transaction([&] {
    directory_.replace(pg::load_mirrored_nodes());
    safekeepers_.replace(pg::load_mirrored_safekeepers());
  });
}

void PgHookEnv::replace_catalog(const pg::CatalogSnapshot& snap) {
  directory_.replace(snap.nodes);
  safekeepers_.replace(snap.safekeepers);
  // Keep the mirror tables in step, except on a standby (read-only) or where the extension is absent.
  if (RecoveryInProgress()) return;
  try {
    in_transaction([&] {
      if (pg::mirror_tables_exist()) pg::mirror_catalog(snap);
    });
  } catch (const std::exception& e) {
    elog(WARNING, "pg_storcon hook: could not update the catalog mirror: %s", e.what());
  }
}

}  // namespace storcon::worker
