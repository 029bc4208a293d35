// Identifier formats of Neon (contract §5): tenant and timeline ids are 32 hex characters.
#pragma once
#include "control/guard.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace storcon {

bool is_hex_id(std::string_view s);            // exactly 32 hex digits, either case
std::string to_lower(std::string_view s);

// A neon.tenant_id / neon.timeline_id setting names `id` (a lower-case id from a notification):
// compared on the setting's first 32 characters, in either case. An empty setting names nothing.
bool setting_names_id(const std::string& setting, const std::string& id);

// Lower-cased id; throws std::invalid_argument naming `what` when it is not a 32-hex id.
std::string normalize_hex_id(std::string_view s, std::string_view what);

}  // namespace storcon
