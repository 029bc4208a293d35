// The hook's credentials and certificate from the storcon.hook_* settings and the files they name.
// Re-read after a reload only when a setting or a file changed (path, inode, size, mtime): the
// reload path does no work the reload did not make necessary. A configured but unreadable or
// invalid key or token fails closed: every authenticated endpoint answers 503 until it is fixed.
// A hook that listens beyond loopback without credentials does not serve at all unless
// storcon.hook_auth = 'none' says so. File contents never reach the log.
#pragma once

#include "control/hook_auth.hpp"

#include <optional>
#include <string>

namespace storcon::worker {

struct HookAuthSetup {
  std::optional<HookAuthenticator> auth;  // empty = misconfigured: refuse (503)
  std::string mode;                       // "jwt", "token" or "none"
  std::string error;                      // why auth is empty (no secrets)
  bool refuse_to_serve = false;           // no credentials beyond loopback, not explicitly allowed
};

class HookCredentials {
 public:
  // Re-reads when something changed; true when the result may differ from the previous one.
  bool reload();
  const HookAuthSetup& setup() const { return setup_; }
  // The certificate and key (PEM) when storcon.hook_tls_cert_file / _key_file are set. Throws
  // std::runtime_error (unreadable, key readable by others, only one of the two set).
  struct Tls {
    std::string cert, key;
  };
  std::optional<Tls> tls() const;
  // True when the certificate or key file changed since the last tls() call.
  bool tls_changed() const;
  bool tls_configured() const;

 private:
  std::string fingerprint_;
  HookAuthSetup setup_;
  mutable std::string tls_fingerprint_;
};

// True for an address only this machine can reach.
bool is_loopback(const std::string& listen_addr);

}  // namespace storcon::worker
