#include "bgworker/pg_env.hpp"

#include "control/ids.hpp"
#include "control/notify_safekeepers.hpp"

#include <cstdlib>

extern "C" {
#include "access/xlog.h"
}

namespace storcon::worker {

namespace {
// missing_ok: a server without neon (a hub) has no neon.* settings.
std::string setting(const char* name) {
  const char* v = nullptr;
  pg::pg_call([&] { v = GetConfigOption(name, true, false); });
  return v ? v : "";
}
}  // namespace

InEffect read_in_effect() {
  InEffect e;
  e.tenant_id = to_lower(setting("neon.tenant_id").substr(0, 32));
  e.timeline_id = to_lower(setting("neon.timeline_id").substr(0, 32));
  e.pageserver_connstring = setting(kConnstringGuc);
  std::string stripe = setting(kStripeSizeGuc);  // GetConfigOption prints ints without units
  char* end = nullptr;
  long long v = std::strtoll(stripe.c_str(), &end, 10);
  if (!stripe.empty() && end != nullptr && *end == '\0') e.stripe_size = v;
  e.safekeepers = setting(kSafekeepersGuc);
  e.safekeeper_proto_version = setting("neon.safekeeper_proto_version");
  bool recovery = false;
  pg::pg_call([&] { recovery = RecoveryInProgress(); });
  e.primary = !recovery;
  return e;
}

}  // namespace storcon::worker
