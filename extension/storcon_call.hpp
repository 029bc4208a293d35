// The storcon client as PostgreSQL code uses it: one client per process (connections are reused),
// configured from the storcon.* settings at each call, cancellable by query cancel, statement
// timeout and termination.
#pragma once

#include "control/long_call.hpp"
#include "control/storcon_client.hpp"

#include <string>

namespace storcon::pg {

// storcon's address, token, timeouts and CA from the GUCs and the token file. Throws
// std::invalid_argument (storcon.url unset) or IoError.
ClientOptions client_options();

// The process's client, with options freshly read from the GUCs and the token file.
// Throws StorconError / std::runtime_error; call from inside run_guarded.
StorconClient& storcon_client();

// The token from storcon.jwt_token_file ("" when unset). Throws IoError.
std::string storcon_token();
// A one-line token from the file a setting names ("" when unset); bounded. Throws IoError.
std::string read_token_file(const char* path, const char* setting);

// The waiting side of a long storcon call in a backend: interrupts are checked between steps (a
// cancel or statement timeout ends the wait, with a HINT that repeating the call is safe), a NOTICE
// "still <doing>: N s" every few seconds, pauses on the latch. Every PostgreSQL call goes through
// pg_call, so errors arrive as PgError; never used inside a libcurl callback.
class PgLongCallProgress : public LongCallProgress {
 public:
  PgLongCallProgress(std::string doing, std::string route)
      : doing_(std::move(doing)), route_(std::move(route)) {}
  void check() override;
  void still_waiting(long elapsed_ms) override;
  void pause(long ms) override;

 private:
  template <typename F>
  void interruptible(F&& f);
  std::string doing_, route_;
};

}  // namespace storcon::pg
