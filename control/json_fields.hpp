// Strict parsing of and field access for JSON that storcon (or a hook caller) sent us: a wrong type
// or a missing required field is an error naming the field, never a silent default; a duplicate key
// or an absurdly deep document is refused rather than silently resolved.
#pragma once
#include "control/guard.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace storcon {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nlohmann::json::parse with two more refusals, for bodies from outside:
// - an object holding the same key twice, at any depth: nlohmann keeps the last one silently, so
//   two readers of one body (a proxy, storcon's log, us) could disagree on what it asks for;
// - objects and arrays nested more than max_depth deep (a top-level object is depth 1): no body
//   of ours needs more than a few levels, and the parse stops at the first level too many.
// A NUL byte anywhere is invalid JSON too (nlohmann alone stops reading there), and so is a
// "\u0000" escape in any string or key (it decodes to NUL, which no C string, setting or jsonb text
// can hold).
// Throws DecodeError: "request body is not valid JSON", "duplicate key \"<key>\"" or
// "JSON nested deeper than <max_depth> levels". Any JSON value is returned, not only objects.
nlohmann::json parse_strict(std::string_view body, int max_depth);
// The same refusals, keeping every object's keys in document order (for files we rewrite and must
// change as little as possible: control/compute_spec).
nlohmann::ordered_json parse_strict_ordered(std::string_view body, int max_depth);

const nlohmann::json& require_field(const nlohmann::json& obj, const char* key);
std::string get_string(const nlohmann::json& obj, const char* key);
std::optional<std::string> get_opt_string(const nlohmann::json& obj, const char* key);
// Integer in [min, max]; JSON floats, strings and booleans are refused.
int64_t get_int(const nlohmann::json& obj, const char* key, int64_t min, int64_t max);
std::optional<int64_t> get_opt_int(const nlohmann::json& obj, const char* key, int64_t min,
                                   int64_t max);
bool get_bool(const nlohmann::json& obj, const char* key);
std::optional<bool> get_opt_bool(const nlohmann::json& obj, const char* key);

}  // namespace storcon
