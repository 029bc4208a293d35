#include "control/json_fields.hpp"

#include <set>
#include <vector>

namespace storcon {

namespace {
// A key from the body as an error message shows it: JSON-quoted and ASCII only (control characters
// and non-ASCII escaped, so a key cannot forge a log line), at most about 64 bytes of it.
std::string quoted_key(const std::string& key) {
  constexpr size_t kShown = 64;
  std::string shown = key;
  if (shown.size() > kShown) {
    size_t cut = kShown;
    while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) cut--;  // UTF-8 boundary
    shown.resize(cut);
  }
  std::string out = nlohmann::json(shown).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  return shown.size() < key.size() ? out + "..." : out;
}
}  // namespace

namespace {
template <class Json>
Json parse_strict_as(std::string_view body, int max_depth) {
  // nlohmann takes a NUL byte for the end of the input and ignores what follows; JSON has no raw
  // NUL anywhere, so a body holding one is not JSON (and not silently shortened).
  if (body.find('\0') != std::string_view::npos) throw DecodeError("request body is not valid JSON");

  using Event = typename Json::parse_event_t;
  // One entry per open object or array, innermost last: the keys seen so far (none for arrays).
  std::vector<std::set<std::string>> open;
  // Never discards anything (always true); a refusal throws out of the parse at once.
  auto check = [&](int /*depth*/, Event event, Json& parsed) {
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (static_cast<int>(open.size()) >= max_depth)  // open.size() never exceeds max_depth
          throw DecodeError("JSON nested deeper than " + std::to_string(max_depth) + " levels");
        open.emplace_back();
        break;
      case Event::key: {
        const auto& key = parsed.template get_ref<const std::string&>();
        if (key.find('\0') != std::string::npos) throw DecodeError("a key holds \\u0000 (NUL)");
        if (!open.back().insert(key).second) throw DecodeError("duplicate key " + quoted_key(key));
        break;
      }
      case Event::object_end:
      case Event::array_end:
        open.pop_back();
        break;
      case Event::value:
        // "\u0000" decodes to a NUL byte: no setting, no C string and no jsonb text can hold it
        // (the audit log would refuse the whole batch), so it is refused like a raw NUL.
        if (parsed.is_string() && parsed.template get_ref<const std::string&>().find('\0') != std::string::npos)
          throw DecodeError("a string holds \\u0000 (NUL)");
        break;
    }
    return true;
  };
  auto j = Json::parse(body.begin(), body.end(), check, false);
  if (j.is_discarded()) throw DecodeError("request body is not valid JSON");
  return j;
}
}  // namespace

nlohmann::json parse_strict(std::string_view body, int max_depth) {
  return parse_strict_as<nlohmann::json>(body, max_depth);
}

nlohmann::ordered_json parse_strict_ordered(std::string_view body, int max_depth) {
  return parse_strict_as<nlohmann::ordered_json>(body, max_depth);
}

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
