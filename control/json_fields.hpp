// Strict field access for JSON that storcon (or a hook caller) sent us: a wrong type or a missing
// required field is an error naming the field, never a silent default.
#pragma once
#include "control/guard.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace storcon {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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
