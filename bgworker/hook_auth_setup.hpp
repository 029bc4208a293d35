// Builds the hook's authenticator from the storcon.hook_* settings and the files they name, at
// start and after every reload. A configured but unreadable or invalid key or token fails closed:
// every authenticated endpoint answers 503 until it is fixed. File contents never reach the log.
#pragma once

#include "control/hook_auth.hpp"

#include <optional>
#include <string>

namespace storcon::worker {

struct HookAuthSetup {
  std::optional<HookAuthenticator> auth;  // empty = misconfigured: refuse
  std::string mode;                       // "jwt", "token" or "none"
  std::string error;                      // why auth is empty (no secrets)
};

HookAuthSetup load_hook_auth();

// True for an address only this machine can reach.
bool is_loopback(const std::string& listen_addr);

}  // namespace storcon::worker
