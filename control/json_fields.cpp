#include "control/json_fields.hpp"

namespace storcon {

const nlohmann::json& require_field(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) throw DecodeError(std::string("expected a JSON object holding \"") + key + "\"");
  auto it = obj.find(key);
  if (it == obj.end()) throw DecodeError(std::string("missing field \"") + key + "\"");
  return *it;
}

std::string get_string(const nlohmann::json& obj, const char* key) {
  const auto& v = require_field(obj, key);
  if (!v.is_string()) throw DecodeError(std::string("field \"") + key + "\" must be a string");
  return v.get<std::string>();
}

std::optional<std::string> get_opt_string(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) throw DecodeError("expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw DecodeError(std::string("field \"") + key + "\" must be a string or null");
  return it->get<std::string>();
}

namespace {
int64_t checked_int(const nlohmann::json& v, const char* key, int64_t min, int64_t max) {
  if (!v.is_number_integer())
    throw DecodeError(std::string("field \"") + key + "\" must be an integer");
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX))
      throw DecodeError(std::string("field \"") + key + "\" is out of range");
  }
  int64_t i = v.get<int64_t>();
  if (i < min || i > max) throw DecodeError(std::string("field \"") + key + "\" is out of range");
  return i;
}
}  // namespace

int64_t get_int(const nlohmann::json& obj, const char* key, int64_t min, int64_t max) {
  return checked_int(require_field(obj, key), key, min, max);
}

std::optional<int64_t> get_opt_int(const nlohmann::json& obj, const char* key, int64_t min,
                                   int64_t max) {
  if (!obj.is_object()) throw DecodeError("expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return checked_int(*it, key, min, max);
}

bool get_bool(const nlohmann::json& obj, const char* key) {
  const auto& v = require_field(obj, key);
  if (!v.is_boolean()) throw DecodeError(std::string("field \"") + key + "\" must be a boolean");
  return v.get<bool>();
}

std::optional<bool> get_opt_bool(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) throw DecodeError("expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw DecodeError(std::string("field \"") + key + "\" must be a boolean or null");
  return it->get<bool>();
}

}  // namespace storcon
