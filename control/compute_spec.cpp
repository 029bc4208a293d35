#include "control/compute_spec.hpp"

#include "control/auto_conf.hpp"  // same_setting_name
#include "control/hook.hpp"       // kStripeSizeGuc, kConnstringGuc
#include "control/ids.hpp"
#include "control/json_fields.hpp"
#include "control/notify_attach.hpp"       // kMaxShards, kMaxConnstringEntry
#include "control/notify_safekeepers.hpp"  // kMaxSafekeepers, parse_safekeepers_setting

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace storcon {

namespace {

using OJson = nlohmann::ordered_json;

constexpr const char* kStripe = kStripeSizeGuc;
constexpr const char* kConnstring = kConnstringGuc;
constexpr const char* kSafekeepers = kSafekeepersGuc;
constexpr const char* kTenant = "neon.tenant_id";
constexpr const char* kTimeline = "neon.timeline_id";
constexpr const char* kProtoVersion = "neon.safekeeper_proto_version";

// A value as an error message or change line shows it: JSON, at most ~200 bytes.
std::string shown(const OJson& v) {
  std::string s = v.dump(-1, ' ', true, OJson::error_handler_t::replace);
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

// ---- the document ----------------------------------------------------------------------------

// The parsed file. No pointer or reference into it is kept across an edit: adding a key to an
// ordered_json object may reallocate its storage and COPY (not move) the values, so spec() and
// settings() find their objects again on every call.
struct Doc {
  OJson root;
  std::string spec_path;  // "spec" (ComputeConfig) or "" (bare spec), for messages and lookup

  OJson& spec() { return spec_path.empty() ? root : root["spec"]; }
  // spec.cluster.settings when it is an array (checked by parse_doc), else nullptr.
  OJson* settings() {
    OJson& cluster = spec()["cluster"];
    auto it = cluster.find("settings");
    return it == cluster.end() || !it->is_array() ? nullptr : &*it;
  }

  std::string where(const std::string& field) const {
    return spec_path.empty() ? field : spec_path + "." + field;
  }
  std::string setting_where(size_t i) const { return where("cluster.settings[" + std::to_string(i) + "]"); }
};

void parse_doc(std::string_view text, Doc& doc) {
  if (text.size() > kMaxComputeConfigBytes)
    throw ComputeSpecError("the config file has " + std::to_string(text.size()) + " bytes; at most " +
                           std::to_string(kMaxComputeConfigBytes) + " are accepted");
  try {
    doc.root = parse_strict_ordered(text, kMaxComputeConfigDepth);
  } catch (const DecodeError& e) {
    std::string why = e.what();
    if (why == "request body is not valid JSON") throw ComputeSpecError("the config file is not valid JSON");
    throw ComputeSpecError("the config file is refused: " + why);
  }
  if (!doc.root.is_object()) throw ComputeSpecError("the config file must hold a JSON object");

  if (doc.root.contains("spec") || doc.root.contains("compute_ctl_config")) {
    // ComputeConfig: {"spec": ComputeSpec | null, "compute_ctl_config": {...}}
    auto it = doc.root.find("spec");
    if (it == doc.root.end() || it->is_null())
      throw ComputeSpecError(
          "the config file has no \"spec\": compute_ctl would wait for one from a control plane; "
          "there is no tenant or timeline to look up");
    if (!it->is_object()) throw ComputeSpecError("\"spec\" must be a JSON object");
    doc.spec_path = "spec";
  } else if (doc.root.contains("cluster")) {
    // a bare ComputeSpec: spec_path stays ""
  } else {
    throw ComputeSpecError(
        "the config file is neither a ComputeConfig ({\"spec\": {...}, \"compute_ctl_config\": "
        "{...}}) nor a compute spec (it has no \"cluster\")");
  }

  auto cluster = doc.spec().find("cluster");
  if (cluster == doc.spec().end() || !cluster->is_object())
    throw ComputeSpecError(doc.where("cluster") + " must be a JSON object");
  auto settings = cluster->find("settings");
  if (settings != cluster->end() && !settings->is_null()) {
    if (!settings->is_array())
      throw ComputeSpecError(doc.where("cluster.settings") + " must be an array or null");
    for (size_t i = 0; i < settings->size(); i++) {
      const OJson& e = (*settings)[i];
      if (!e.is_object()) throw ComputeSpecError(doc.setting_where(i) + " must be a JSON object");
      auto name = e.find("name");
      if (name == e.end() || !name->is_string())
        throw ComputeSpecError(doc.setting_where(i) + " has no string \"name\"");
      auto value = e.find("value");
      if (value != e.end() && !value->is_null() && !value->is_string())
        throw ComputeSpecError(doc.setting_where(i) + " (" + name->get<std::string>() +
                               "): \"value\" must be a string or null");
    }
  }
}

const std::string& setting_name(const OJson& entry) { return entry["name"].get_ref<const std::string&>(); }

// Indexes of the settings entries named `name` (case-insensitively, as PostgreSQL reads them).
std::vector<size_t> settings_named(Doc& doc, const char* name) {
  std::vector<size_t> out;
  if (doc.settings() == nullptr) return out;
  for (size_t i = 0; i < doc.settings()->size(); i++)
    if (same_setting_name(setting_name((*doc.settings())[i]), name)) out.push_back(i);
  return out;
}

// The value of a settings entry our storage needs; an entry without one would make compute_ctl
// write the bare name into postgresql.conf.
std::string setting_value(Doc& doc, size_t i) {
  const OJson& e = (*doc.settings())[i];
  auto v = e.find("value");
  if (v == e.end() || v->is_null())
    throw ComputeSpecError(doc.setting_where(i) + " (" + setting_name(e) + ") has no value");
  return v->get<std::string>();
}

// ---- identity --------------------------------------------------------------------------------

// One id from the spec field and every settings entry of that name; all must agree.
std::string read_id(Doc& doc, const char* field, const char* guc, const char* what) {
  std::optional<std::string> found;
  std::string found_where;
  auto take = [&](const std::string& value, const std::string& where) {
    if (!is_hex_id(value))
      throw ComputeSpecError(where + " is " + shown(OJson(value)) + ", not a " + what +
                             " (32 hexadecimal characters)");
    std::string id = to_lower(value);
    if (found && *found != id)
      throw ComputeSpecError("the config names two " + std::string(what) + "s: " + *found + " in " +
                             found_where + " and " + id + " in " + where);
    if (!found) {
      found = id;
      found_where = where;
    }
  };
  auto f = doc.spec().find(field);
  if (f != doc.spec().end() && !f->is_null()) {
    if (!f->is_string()) throw ComputeSpecError(doc.where(field) + " must be a string");
    take(f->get<std::string>(), doc.where(field));
  }
  for (size_t i : settings_named(doc, guc))
    take(setting_value(doc, i), doc.setting_where(i) + " (" + guc + ")");
  if (!found)
    throw ComputeSpecError("the config names no " + std::string(what) + ": neither " + doc.where(field) +
                           " nor a " + guc + " entry in " + doc.where("cluster.settings"));
  return *found;
}

// The values `name` is given by postgresql.conf text (spec.cluster.postgresql_conf), in order:
// "name = value" or "name value" lines, values bare or single-quoted ('' and \' escapes), comments
// after '#'. Enough for the few settings we look for; include directives are not followed.
std::vector<std::string> conf_text_values(const std::string& text, const char* name) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    size_t i = 0;
    auto skip_space = [&] {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) i++;
    };
    skip_space();
    size_t start = i;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' ||
                               line[i] == '.' || line[i] == '$' || line[i] == '-'))
      i++;
    if (i == start || !same_setting_name(line.substr(start, i - start), name)) continue;
    skip_space();
    if (i < line.size() && line[i] == '=') {
      i++;
      skip_space();
    }
    std::string value;
    if (i < line.size() && line[i] == '\'') {
      for (i++; i < line.size(); i++) {
        if ((line[i] == '\'' || line[i] == '\\') && i + 1 < line.size() && line[i + 1] == '\'') {
          value += '\'';
          i++;
        } else if (line[i] == '\'') {
          break;
        } else {
          value += line[i];
        }
      }
    } else {
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])) && line[i] != '#')
        value += line[i++];
    }
    out.push_back(value);
  }
  return out;
}

std::optional<int64_t> read_proto_version(Doc& doc) {
  std::optional<std::string> winner;
  std::string winner_where;
  auto cluster = doc.spec().find("cluster");
  auto conf = cluster->find("postgresql_conf");
  if (conf != cluster->end() && !conf->is_null()) {
    if (!conf->is_string())
      throw ComputeSpecError(doc.where("cluster.postgresql_conf") + " must be a string");
    for (const auto& v : conf_text_values(conf->get<std::string>(), kProtoVersion)) {
      winner = v;
      winner_where = doc.where("cluster.postgresql_conf");
    }
  }
  for (size_t i : settings_named(doc, kProtoVersion)) {
    winner = setting_value(doc, i);
    winner_where = doc.setting_where(i);
  }
  if (!winner) return std::nullopt;
  const std::string& v = *winner;
  bool digits = !v.empty() && v.size() <= 9;
  for (char c : v) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits)
    throw ComputeSpecError(winner_where + " sets " + kProtoVersion + " to " + shown(OJson(v)) +
                           ", not a whole number");
  return std::stoll(v);
}

bool read_primary(Doc& doc) {
  auto mode = doc.spec().find("mode");
  if (mode == doc.spec().end() || mode->is_null()) return true;  // ComputeMode's default
  if (mode->is_string()) {
    const auto& m = mode->get_ref<const std::string&>();
    if (m == "Primary") return true;
    if (m == "Replica") return false;
  }
  if (mode->is_object() && mode->size() == 1 && mode->contains("Static")) return false;
  throw ComputeSpecError(doc.where("mode") + " is " + shown(*mode) +
                         "; expected \"Primary\", \"Replica\" or {\"Static\": \"<lsn>\"}");
}

ComputeIdentity identity_of(Doc& doc) {
  ComputeIdentity id;
  id.tenant_id = read_id(doc, "tenant_id", kTenant, "tenant id");
  id.timeline_id = read_id(doc, "timeline_id", kTimeline, "timeline id");
  id.safekeeper_proto_version = read_proto_version(doc);
  id.primary = read_primary(doc);
  return id;
}

// ---- rewriting -------------------------------------------------------------------------------

struct Editor {
  Doc& doc;
  RewriteResult& result;

  // obj[key] = value, recording the change; an existing key keeps its place.
  void set(OJson& obj, const std::string& key, const OJson& value, const std::string& where) {
    auto it = obj.find(key);
    if (it != obj.end() && *it == value) return;
    result.changes.push_back(where + ": " + (it == obj.end() ? std::string("(absent)") : shown(*it)) +
                             " -> " + shown(value));
    obj[key] = value;
  }
  void erase(OJson& obj, const std::string& key, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end()) return;
    result.changes.push_back(where + ": " + shown(*it) + " -> (removed)");
    obj.erase(key);
  }
  void set_setting(size_t i, const std::string& value, const char* vartype) {
    OJson& e = (*doc.settings())[i];
    const std::string where = doc.setting_where(i) + " (" + setting_name(e) + ")";
    set(e, "value", value, where + " value");
    // compute_ctl quotes the value only for vartype "string"; a URL or list must be quoted.
    if (std::string(vartype) == "string") set(e, "vartype", "string", where + " vartype");
  }
  void insert_setting(size_t at, const char* name, const std::string& value, const char* vartype,
                      const std::string& why) {
    OJson entry = {{"name", name}, {"value", value}, {"vartype", vartype}};
    doc.settings()->insert(doc.settings()->begin() + static_cast<std::ptrdiff_t>(at), entry);
    result.changes.push_back(doc.setting_where(at) + ": (absent) -> " + shown(entry) + " (" + why + ")");
  }
};

std::string shard_key(int number, int count) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x%02x", static_cast<unsigned>(number & 0xff),
                static_cast<unsigned>(count & 0xff));
  return buf;
}

void check_shard_map(const ShardMapUpdate& map) {
  const size_t n = map.shards.size();
  if (n == 0) throw ComputeSpecError("the shard map has no shards");
  if (n > kMaxShards)
    throw ComputeSpecError("the tenant has " + std::to_string(n) + " shards; a compute supports at most " +
                           std::to_string(kMaxShards));
  if (n > 1 && !map.stripe_size)
    throw ComputeSpecError("a shard map of " + std::to_string(n) + " shards needs a stripe size");
  if (map.stripe_size && (*map.stripe_size == 0 || *map.stripe_size > INT32_MAX))
    throw ComputeSpecError("stripe size " + std::to_string(*map.stripe_size) + " is out of range");
  if (map.shard_count) {
    int c = *map.shard_count;
    bool ok = n > 1 ? c == static_cast<int>(n) : (c == 0 || c == 1);
    if (!ok)
      throw ComputeSpecError("shard count " + std::to_string(c) + " does not fit a map of " +
                             std::to_string(n) + " shards");
  }
  for (size_t i = 0; i < n; i++) {
    const auto& url = map.shards[i].libpq_url;
    if (url.empty() || url.find_first_of(", \t\r\n'\\") != std::string::npos ||
        url.find('\0') != std::string::npos)
      throw ComputeSpecError("the connection string of shard " + std::to_string(i) +
                             " is empty or holds a "
                             "character neon cannot take in a list");
    if (url.size() >= kMaxConnstringEntry)
      throw ComputeSpecError("the connection string of shard " + std::to_string(i) + " is " +
                             std::to_string(url.size()) + " bytes; neon accepts at most " +
                             std::to_string(kMaxConnstringEntry - 1));
  }
}

// spec.pageserver_connection_info: the whole map, shard keys named by the literal shard count.
void rewrite_conninfo(Editor& ed, OJson& info, const ShardMapUpdate& map) {
  const std::string where = ed.doc.where("pageserver_connection_info");
  if (!info.is_object()) throw ComputeSpecError(where + " must be a JSON object");
  const int n = static_cast<int>(map.shards.size());
  auto old_count_it = info.find("shard_count");
  if (old_count_it == info.end() || !old_count_it->is_number_integer() || *old_count_it < 0 ||
      *old_count_it > 255)
    throw ComputeSpecError(where + ".shard_count must be a number from 0 to 255");
  const int old_count = old_count_it->get<int>();
  auto prefer = info.find("prefer_protocol");
  bool grpc = false;
  if (prefer != info.end() && !prefer->is_null()) {
    if (*prefer == "grpc")
      grpc = true;
    else if (*prefer != "libpq")
      throw ComputeSpecError(where + ".prefer_protocol is " + shown(*prefer) +
                             "; expected \"libpq\" or \"grpc\"");
  }
  auto old_shards_it = info.find("shards");
  if (old_shards_it != info.end() && !old_shards_it->is_object())
    throw ComputeSpecError(where + ".shards must be a JSON object");
  const OJson old_shards = old_shards_it != info.end() ? *old_shards_it : OJson::object();

  int count = n;
  if (n == 1) count = map.shard_count ? *map.shard_count : (old_count <= 1 ? old_count : 0);
  OJson stripe = nullptr;  // "null if shard_count is 0, otherwise non-null" (spec.rs)
  if (count != 0) {
    if (map.stripe_size) {
      stripe = *map.stripe_size;
    } else {
      auto old_stripe = info.find("stripe_size");
      if (old_stripe == info.end() || !old_stripe->is_number_integer())
        throw ComputeSpecError(where + " has shard count 1 and needs a stripe size the update does not give");
      stripe = *old_stripe;
    }
  }

  OJson shards = OJson::object();
  for (int i = 0; i < n; i++) {
    const PageserverTarget& t = map.shards[i];
    const std::string key = shard_key(i, count);
    OJson entry = OJson::object();
    OJson first = nullptr;
    auto old = old_shards.find(key);
    if (old != old_shards.end() && old->is_object()) {
      entry = *old;
      auto ps = old->find("pageservers");
      if (ps != old->end() && ps->is_array() && !ps->empty() && (*ps)[0].is_object()) first = (*ps)[0];
    }
    // The same node keeps its gRPC address when the update does not know it.
    std::optional<std::string> grpc_url = t.grpc_url;
    if (!grpc_url && first.is_object() && first.value("id", OJson()) == OJson(t.node_id)) {
      auto g = first.find("grpc_url");
      if (g != first.end() && g->is_string()) grpc_url = g->get<std::string>();
    }
    if (grpc && !grpc_url)
      throw ComputeSpecError(where + " prefers gRPC, but there is no gRPC address for pageserver " +
                             std::to_string(t.node_id) + " (shard " + std::to_string(i) + ")");
    OJson ps = first.is_object() ? first : OJson::object();
    ps["id"] = t.node_id;
    ps["libpq_url"] = t.libpq_url;
    ps["grpc_url"] = grpc_url ? OJson(*grpc_url) : OJson(nullptr);
    if (!(first.is_object() && first == ps)) entry["pageservers"] = OJson::array({ps});
    shards[key] = entry;
  }
  ed.set(info, "shard_count", count, where + ".shard_count");
  ed.set(info, "stripe_size", stripe, where + ".stripe_size");
  ed.set(info, "shards", shards, where + ".shards");
}

void rewrite_shard_map(Editor& ed, const ShardMapUpdate& map) {
  check_shard_map(map);
  Doc& doc = ed.doc;
  OJson& spec = doc.spec();
  const bool sharded = map.shards.size() > 1;
  const std::string connstring = render_pageserver_connstring(map);

  auto info = spec.find("pageserver_connection_info");
  const bool has_info = info != spec.end() && !info->is_null();
  auto cs = spec.find("pageserver_connstring");
  if (cs != spec.end() && !cs->is_null() && !cs->is_string())
    throw ComputeSpecError(doc.where("pageserver_connstring") + " must be a string or null");
  bool has_field = cs != spec.end() && !cs->is_null();
  auto stripe_field = spec.find("shard_stripe_size");
  if (stripe_field != spec.end() && !stripe_field->is_null() && !stripe_field->is_number_integer())
    throw ComputeSpecError(doc.where("shard_stripe_size") + " must be a number or null");
  const bool has_stripe_field = stripe_field != spec.end() && !stripe_field->is_null();
  std::vector<size_t> conn_settings = settings_named(doc, kConnstring);
  for (size_t i : conn_settings) setting_value(doc, i);  // refuses entries without a value
  for (size_t i : settings_named(doc, kStripe)) setting_value(doc, i);

  if (!has_info && !has_field && conn_settings.empty()) {
    // No place names a pageserver (compute_ctl would refuse the file): the spec fields are the
    // form config.rs writes in the right order whatever else the file holds.
    has_field = true;
    ed.result.notes.push_back("the config named no pageserver; added " + doc.where("pageserver_connstring"));
  }

  if (has_info) rewrite_conninfo(ed, *info, map);
  if (has_field) ed.set(spec, "pageserver_connstring", connstring, doc.where("pageserver_connstring"));
  // compute_ctl reads shard_stripe_size with pageserver_connstring (ParsedSpec::try_from) and
  // writes it before the connstring (config.rs); with one shard the stripe size does not matter.
  if (sharded && (has_field || has_stripe_field))
    ed.set(spec, "shard_stripe_size", *map.stripe_size, doc.where("shard_stripe_size"));

  if (doc.settings() == nullptr) return;
  for (size_t i : conn_settings) ed.set_setting(i, connstring, "string");
  if (!sharded) return;
  const std::string stripe = std::to_string(*map.stripe_size);
  std::vector<size_t> stripe_settings = settings_named(doc, kStripe);
  for (size_t i : stripe_settings) ed.set_setting(i, stripe, "integer");

  if (stripe_settings.empty() && !conn_settings.empty() && !has_info && !has_field) {
    // The settings are compute_ctl's only source (it reads neon.stripe_size from them for a
    // sharded map) and the stripe size must win before the connstring: insert it first.
    ed.insert_setting(conn_settings.front(), kStripe, stripe, "integer", "a sharded map needs a stripe size");
    return;
  }
  if (stripe_settings.empty()) return;  // the stripe line comes from the spec fields, before all settings
  if (conn_settings.empty()) {
    // The connstring comes from the spec fields, written before every settings entry, so a
    // stripe entry in the settings would win after it: repeat the connstring after it.
    ed.insert_setting(stripe_settings.back() + 1, kConnstring, connstring, "string",
                      "neon.stripe_size must take effect before neon.pageserver_connstring");
    return;
  }
  // Both in the settings: every stripe entry after the last connstring entry moves before it.
  const size_t last_conn = conn_settings.back();
  OJson moved = OJson::array();
  for (auto it = stripe_settings.rbegin(); it != stripe_settings.rend() && *it > last_conn; ++it) {
    moved.insert(moved.begin(), (*doc.settings())[*it]);
    doc.settings()->erase(doc.settings()->begin() + static_cast<std::ptrdiff_t>(*it));
  }
  if (moved.empty()) return;
  doc.settings()->insert(doc.settings()->begin() + static_cast<std::ptrdiff_t>(last_conn), moved.begin(),
                         moved.end());
  ed.result.changes.push_back(doc.where("cluster.settings") + ": moved " + std::to_string(moved.size()) +
                              " " + kStripe + " entr" + (moved.size() == 1 ? "y" : "ies") +
                              " before the last " + kConnstring +
                              " entry (the stripe size must take effect first)");
}

// host:port as the walproposer splits it (host = everything before the first ':'), nothing that
// would break the list or the quoted postgresql.conf value, and no "g#" a parser would take for
// a generation prefix.
void check_safekeeper_entry(const std::string& entry) {
  size_t colon = entry.find(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < entry.size() &&
            colon + 6 >= entry.size() && entry.find_first_of(", \t\r\n'\\\"", 0) == std::string::npos &&
            entry.find('\0') == std::string::npos && entry.compare(0, 2, "g#") != 0;
  for (size_t i = colon + 1; ok && i < entry.size(); i++)
    ok = std::isdigit(static_cast<unsigned char>(entry[i]));
  if (!ok) throw ComputeSpecError("safekeeper " + shown(OJson(entry)) + " is not a host:port neon can use");
}

void rewrite_safekeepers(Editor& ed, const SafekeeperSetUpdate& sks, bool prefix) {
  Doc& doc = ed.doc;
  OJson& spec = doc.spec();
  if (!read_primary(doc)) {
    ed.result.notes.push_back("not a primary (" + doc.where("mode") +
                              "): safekeepers left as they are (neon takes a safekeeper list on a "
                              "standby as a request to promote it)");
    return;
  }
  for (size_t i = 0; i < sks.entries.size(); i++) {
    check_safekeeper_entry(sks.entries[i]);
    for (size_t k = 0; k < i; k++)
      if (sks.entries[k] == sks.entries[i])  // compute_ctl refuses duplicates (ParsedSpec::validate)
        throw ComputeSpecError("safekeeper " + sks.entries[i] + " is listed twice");
  }
  const std::string value = render_neon_safekeepers(sks, prefix);
  auto parsed = parse_safekeepers_setting(value);
  if (sks.entries.empty() || !parsed || parsed->entries.size() != sks.entries.size())
    throw ComputeSpecError("the safekeeper list " + shown(OJson(value)) + " is not one neon can use (1 to " +
                           std::to_string(kMaxSafekeepers) + " host:port entries)");
  const bool has_prefix = prefix && sks.generation > 0;

  auto list = spec.find("safekeeper_connstrings");
  if (list != spec.end() && !list->is_null() && !list->is_array())
    throw ComputeSpecError(doc.where("safekeeper_connstrings") + " must be an array");
  const bool has_list = list != spec.end() && list->is_array() && !list->empty();
  std::vector<size_t> settings = settings_named(doc, kSafekeepers);
  for (size_t i : settings) setting_value(doc, i);
  for (size_t i : settings) ed.set_setting(i, value, "string");

  // compute_ctl's own list (safekeeper sync at start) is spec.safekeeper_connstrings, else the
  // settings value split at ',': with a "g#N:" prefix there the first host would be "g#N:host".
  if (has_list || settings.empty() || has_prefix) {
    ed.set(spec, "safekeeper_connstrings", OJson(sks.entries), doc.where("safekeeper_connstrings"));
    if (has_prefix)
      ed.set(spec, "safekeepers_generation", sks.generation, doc.where("safekeepers_generation"));
    else
      ed.erase(spec, "safekeepers_generation", doc.where("safekeepers_generation"));
  }
}

// The file's layout, so a rewrite looks like the original: one line stays one line (compact),
// otherwise the indentation of the first indented line (4 spaces when there is none).
std::string render_doc(const OJson& root, std::string_view original) {
  std::string_view body = original;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.remove_suffix(1);
  int indent = -1;
  char indent_char = ' ';
  if (body.find('\n') != std::string_view::npos) {
    indent = 4;
    for (size_t nl = body.find('\n'); nl != std::string_view::npos; nl = body.find('\n', nl + 1)) {
      size_t i = nl + 1;
      while (i < body.size() && (body[i] == ' ' || body[i] == '\t')) i++;
      if (i == nl + 1 || i >= body.size() || body[i] == '\n' || body[i] == '\r') continue;
      indent_char = body[nl + 1];
      indent = static_cast<int>(std::min<size_t>(i - nl - 1, 8));
      break;
    }
  }
  std::string out = root.dump(indent, indent_char, false, OJson::error_handler_t::strict);
  if (!original.empty() && original.back() == '\n') out += '\n';
  return out;
}

}  // namespace

std::string render_pageserver_connstring(const ShardMapUpdate& map) {
  std::string out;
  for (size_t i = 0; i < map.shards.size(); i++) {
    if (i > 0) out += ',';
    out += map.shards[i].libpq_url;
  }
  return out;
}

std::string render_neon_safekeepers(const SafekeeperSetUpdate& sks, bool generation_prefix) {
  std::string out;
  if (generation_prefix && sks.generation > 0) out = "g#" + std::to_string(sks.generation) + ":";
  for (size_t i = 0; i < sks.entries.size(); i++) {
    if (i > 0) out += ',';
    out += sks.entries[i];
  }
  return out;
}

ComputeIdentity read_compute_identity(std::string_view text) {
  Doc doc;
  parse_doc(text, doc);
  return identity_of(doc);
}

RewriteResult rewrite_compute_spec(std::string_view text, const ComputeSpecUpdate& update) {
  Doc doc;
  parse_doc(text, doc);
  identity_of(doc);  // a file without a clear identity is not one to rewrite
  const OJson before = doc.root;
  RewriteResult result;
  Editor ed{doc, result};
  if (update.shard_map) rewrite_shard_map(ed, *update.shard_map);
  if (update.safekeepers) rewrite_safekeepers(ed, *update.safekeepers, update.generation_prefix);
  if (doc.root == before) {
    result.text = std::string(text);
    result.changes.clear();
    return result;
  }
  result.changed = true;
  result.text = render_doc(doc.root, text);
  return result;
}

}  // namespace storcon
