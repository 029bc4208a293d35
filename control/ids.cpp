#include "control/ids.hpp"

#include <cctype>
#include <cstdio>
#include <random>
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

bool is_tenant_shard_id(std::string_view s) {
  if (s.size() == 32) return all_hex(s);
  return s.size() == 37 && all_hex(s.substr(0, 32)) && s[32] == '-' && all_hex(s.substr(33));
}

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

std::string normalize_tenant_shard_id(std::string_view s) {
  if (!is_tenant_shard_id(s))
    throw std::invalid_argument("invalid tenant shard id \"" + std::string(s) +
                                "\": expected <32 hex tenant id> or <tenant id>-<NNCC>");
  return to_lower(s);
}

std::string tenant_shard_id(std::string_view tenant_id, unsigned shard_number, unsigned shard_count) {
  if (shard_count == 0) return std::string(tenant_id);
  char slug[8];
  std::snprintf(slug, sizeof slug, "%02x%02x", shard_number & 0xff, shard_count & 0xff);
  return std::string(tenant_id) + "-" + slug;
}

std::string random_hex_id() {
  std::random_device rd;
  static const char digits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (size_t i = 0; i < out.size(); i += 8) {
    uint32_t r = rd();
    for (size_t j = 0; j < 8; j++) out[i + j] = digits[(r >> (4 * j)) & 0xf];
  }
  return out;
}

}  // namespace storcon
