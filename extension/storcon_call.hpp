// The storcon client as PostgreSQL code uses it: one client per process (connections are reused),
// configured from the storcon.* settings at each call, cancellable by query cancel, statement
// timeout and termination.
#pragma once

#include "control/storcon_client.hpp"

namespace storcon::pg {

// The process's client, with options freshly read from the GUCs and the token file.
// Throws StorconError / std::runtime_error; call from inside run_guarded.
StorconClient& storcon_client();

// The token from storcon.jwt_token_file ("" when unset). Throws IoError.
std::string storcon_token();
// A one-line token from the file a setting names ("" when unset); bounded. Throws IoError.
std::string read_token_file(const char* path, const char* setting);

}  // namespace storcon::pg
