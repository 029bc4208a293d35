#include "extension/storcon_call.hpp"

#include "control/durable_file.hpp"
#include "extension/boundary.hpp"
#include "extension/gucs.hpp"
#include "extension/pg.hpp"

extern "C" {
#include "storage/latch.h"
#include "utils/wait_event.h"
}

#include <cerrno>
#include <cstring>
#include <memory>

namespace storcon::pg {

namespace {

// Polled by libcurl's progress callback: only reads flags set by PostgreSQL's signal handlers.
bool interrupt_pending() { return InterruptPending && (QueryCancelPending || ProcDiePending); }

}  // namespace

std::string read_token_file(const char* path, const char* setting) {
  if (path == nullptr || path[0] == '\0') return {};
  try {
    return storcon::read_token_file(path, 16 * 1024);
  } catch (const FileError& e) {
    // The path stays out of the message (the settings are superuser-only), and so do the contents.
    throw IoError(std::string("could not read the file named by ") + setting + ": " + e.reason());
  }
}

std::string storcon_token() { return read_token_file(guc_jwt_token_file, "storcon.jwt_token_file"); }

ClientOptions client_options() {
  ClientOptions o;
  o.base_url = guc_url ? guc_url : "";
  if (o.base_url.empty()) throw std::invalid_argument("storcon.url is not set");
  o.token = storcon_token();
  o.connect_timeout_ms = guc_connect_timeout_ms;
  o.request_timeout_ms = guc_request_timeout_ms;
  o.ca_file = guc_ca_file ? guc_ca_file : "";
  return o;
}

StorconClient& storcon_client() {
  static std::unique_ptr<StorconClient> client;
  if (!client) client = std::make_unique<StorconClient>(interrupt_pending);
  client->set_options(client_options());
  return *client;
}

template <typename F>
void PgLongCallProgress::interruptible(F&& f) {
  try {
    pg_call(std::forward<F>(f));
  } catch (const PgError& e) {
    if (!e.is_cancel()) throw;
    // A cancel or statement_timeout: say what was abandoned and that repeating is safe.
    throw PgError(e.sqlerrcode(), e.what(),
                  e.detail().empty() ? "It stopped waiting for " + route_ + " (" + doing_ + ")." : e.detail(),
                  e.hint().empty() ? "storcon may finish the operation on its own or leave it for a repeat; calling "
                                     "the function again is safe and waits for it."
                                   : e.hint());
  }
}

void PgLongCallProgress::check() {
  interruptible([] { CHECK_FOR_INTERRUPTS(); });
}

void PgLongCallProgress::still_waiting(long elapsed_ms) {
  const char* doing = doing_.c_str();
  const long seconds = elapsed_ms / 1000;
  pg_call([&] { ereport(NOTICE, (errmsg("still %s: %ld s", doing, seconds))); });
}

void PgLongCallProgress::pause(long ms) {
  interruptible([&] {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  });
}

}  // namespace storcon::pg
