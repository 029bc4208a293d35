#include "control/request_path.hpp"

#include <stdexcept>
#include <string>

namespace storcon {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

[[noreturn]] void refuse(std::string_view path, const std::string& why) {
  throw std::invalid_argument("path \"" + std::string(path) + "\" " + why);
}

// The segment as storcon's router sees it (percent escapes decoded once).
std::string decode_segment(std::string_view path, std::string_view segment) {
  std::string out;
  for (size_t i = 0; i < segment.size(); i++) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    if (i + 2 >= segment.size()) refuse(path, "has a malformed percent escape");
    const int hi = hex_value(segment[i + 1]), lo = hex_value(segment[i + 2]);
    if (hi < 0 || lo < 0) refuse(path, "has a malformed percent escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

void check_request_path(std::string_view path) {
  if (path.empty() || path[0] != '/') refuse(path, "must start with / (it is appended to storcon.url)");
  for (char c : path)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '#' || c == '\\')
      refuse(path, "must not contain white space, control characters, '#' or '\\'");
  std::string_view only_path = path.substr(0, path.find('?'));
  size_t start = 1;  // after the leading '/'
  for (;;) {
    size_t slash = only_path.find('/', start);
    std::string_view segment =
        only_path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    const bool last = slash == std::string_view::npos;
    if (segment.empty() && !last) refuse(path, "must not contain an empty segment (//)");
    const std::string decoded = decode_segment(path, segment);
    if (decoded == "." || decoded == "..")
      refuse(path, "must not contain the dot segment \"" + std::string(segment) +
                       "\": it would be resolved away and reach another route");
    if (decoded.find_first_of("/\\") != std::string::npos)
      refuse(path, "must not contain a percent-encoded '/' or '\\' (in \"" + std::string(segment) + "\")");
    if (last) break;
    start = slash + 1;
  }
}

}  // namespace storcon
