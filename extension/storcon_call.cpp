#include "extension/storcon_call.hpp"

#include "extension/boundary.hpp"
#include "extension/gucs.hpp"
#include "extension/pg.hpp"

extern "C" {
#include "storage/latch.h"
#include "utils/wait_event.h"
}

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace storcon::pg {

namespace {

// Polled by libcurl's progress callback: only reads flags set by PostgreSQL's signal handlers.
bool interrupt_pending() { return InterruptPending && (QueryCancelPending || ProcDiePending); }

std::string read_token_file(const char* path) {
  if (path == nullptr || path[0] == '\0') return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // The path and contents stay out of the message: the setting is superuser-only.
    throw IoError(std::string("could not read the file named by storcon.jwt_token_file: ") + strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.find_first_of("\r\n") != std::string::npos)
    throw IoError("the file named by storcon.jwt_token_file must hold one token on one line");
  return token;
}

}  // namespace

std::string storcon_token() { return read_token_file(guc_jwt_token_file); }

StorconClient& storcon_client() {
  static std::unique_ptr<StorconClient> client;
  if (!client) client = std::make_unique<StorconClient>(interrupt_pending);
  ClientOptions o;
  o.base_url = guc_url ? guc_url : "";
  if (o.base_url.empty()) throw std::invalid_argument("storcon.url is not set");
  o.token = read_token_file(guc_jwt_token_file);
  o.connect_timeout_ms = guc_connect_timeout_ms;
  o.request_timeout_ms = guc_request_timeout_ms;
  o.ca_file = guc_ca_file ? guc_ca_file : "";
  client->set_options(std::move(o));
  return *client;
}

template <typename F>
void PgLongCallProgress::interruptible(F&& f) {
  try {
    pg_call(std::forward<F>(f));
  } catch (const PgError& e) {
    ErrorData* ed = e.edata();
    if (ed->sqlerrcode == ERRCODE_QUERY_CANCELED) {
      const char* doing = doing_.c_str();
      const char* route = route_.c_str();
      pg_call([&] {
        if (ed->detail == nullptr) ed->detail = psprintf("It stopped waiting for %s (%s).", route, doing);
        if (ed->hint == nullptr)
          ed->hint = pstrdup(
              "storcon may finish the operation on its own or leave it for a repeat; calling the "
              "function again is safe and waits for it.");
      });
    }
    throw;
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
