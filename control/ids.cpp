#include "control/ids.hpp"

#include <cctype>
#include <stdexcept>

namespace storcon {

namespace {
bool all_hex(std::string_view s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}
}  // namespace

bool is_hex_id(std::string_view s) { return s.size() == 32 && all_hex(s); }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string normalize_hex_id(std::string_view s, std::string_view what) {
  if (!is_hex_id(s))
    throw std::invalid_argument(std::string("invalid ") + std::string(what) + " \"" + std::string(s) +
                                "\": expected 32 hexadecimal characters");
  return to_lower(s);
}

bool setting_names_id(const std::string& setting, const std::string& id) {
  return !setting.empty() && to_lower(std::string_view(setting).substr(0, 32)) == id;
}

}  // namespace storcon
