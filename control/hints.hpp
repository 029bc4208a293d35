// What to do about a storcon error: the remedies self-hosters found the hard way (the runbook's
// failures), attached as HINT to the SQL error. Pure text matching on storcon's status and message.
#pragma once
#include "control/guard.hpp"

#include <string>

#include "control/storcon_client.hpp"

namespace storcon {

// Empty when no remedy is known.
std::string hint_for(const StorconError& e);

}  // namespace storcon
