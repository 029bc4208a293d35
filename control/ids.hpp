// Identifier formats of Neon (contract §5): tenant and timeline ids are 32 hex characters.
#pragma once
#include "control/guard.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace storcon {

bool is_hex_id(std::string_view s);            // exactly 32 hex digits, either case
std::string to_lower(std::string_view s);

// Lower-cased id; throws std::invalid_argument naming `what` when it is not a 32-hex id.
std::string normalize_hex_id(std::string_view s, std::string_view what);

}  // namespace storcon
