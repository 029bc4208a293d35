#include "control/compute_registry.hpp"

#include "control/ids.hpp"
#include "control/json_fields.hpp"
#include "control/notify_attach.hpp"
#include "control/storcon_client.hpp"

namespace storcon {

bool valid_compute_id(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("._:/@%+=-").find(c) == std::string_view::npos) return false;
  }
  return true;
}

ComputeEntry parse_registration(std::string_view compute_id, std::string_view body, int64_t now_s) {
  if (!valid_compute_id(compute_id))
    throw HookError(400, "invalid compute id: letters, digits and ._:/@%+=- only, at most 200 characters");
  ComputeEntry e;
  e.compute_id = std::string(compute_id);
  try {
    auto j = parse_strict(body, 4);
    if (!j.is_object()) throw HookError(400, "request body must be a JSON object");
    std::string tenant = get_string(j, "tenant_id");
    if (!is_hex_id(tenant)) throw HookError(400, "tenant_id must be 32 hexadecimal characters");
    e.tenant_id = to_lower(tenant);
    if (auto tl = get_opt_string(j, "timeline_id")) {
      if (!is_hex_id(*tl)) throw HookError(400, "timeline_id must be 32 hexadecimal characters");
      e.timeline_id = to_lower(*tl);
    }
    std::string mode = get_string(j, "mode");
    if (mode != "primary" && mode != "replica") throw HookError(400, "mode must be \"primary\" or \"replica\"");
    e.primary = mode == "primary";
    e.hook_url = get_string(j, "hook_url");
    try {
      validate_base_url(e.hook_url);
    } catch (const std::invalid_argument& err) {
      throw HookError(400, std::string("hook_url: ") + err.what());
    }
    if (e.hook_url.size() > 500) throw HookError(400, "hook_url is too long");
    e.heartbeat_seconds = static_cast<int>(get_int(j, "heartbeat_seconds", 1, 86400));
  } catch (const DecodeError& err) {
    throw HookError(400, err.what());
  }
  e.self_registered = true;
  e.registered_at_s = e.last_seen_s = now_s;
  return e;
}

std::string registration_body(const ComputeEntry& e) {
  nlohmann::json j = {{"tenant_id", e.tenant_id},
                      {"timeline_id", e.timeline_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.timeline_id)},
                      {"mode", e.primary ? "primary" : "replica"},
                      {"hook_url", e.hook_url},
                      {"heartbeat_seconds", e.heartbeat_seconds}};
  return j.dump();
}

void ComputeRegistry::upsert(ComputeEntry e) {
  auto it = entries_.find(e.compute_id);
  if (it != entries_.end() && it->second.hook_url == e.hook_url && it->second.tenant_id == e.tenant_id)
    e.registered_at_s = it->second.registered_at_s;
  entries_[e.compute_id] = std::move(e);
}

bool ComputeRegistry::remove(const std::string& compute_id) { return entries_.erase(compute_id) > 0; }

void ComputeRegistry::replace(std::vector<ComputeEntry> entries) {
  entries_.clear();
  for (auto& e : entries) entries_[e.compute_id] = std::move(e);
}

std::vector<ForwardTarget> ComputeRegistry::targets(const std::string& tenant_id, const std::string& timeline_id,
                                                    const std::string& self_id) const {
  std::vector<ForwardTarget> out;
  for (const auto& [id, e] : entries_) {
    if (id == self_id || e.tenant_id != tenant_id) continue;
    if (!timeline_id.empty() && !e.timeline_id.empty() && e.timeline_id != timeline_id) continue;
    out.push_back(ForwardTarget{e.hook_url, id});
  }
  return out;
}

bool ComputeRegistry::stale(const ComputeEntry& e, int64_t now_s) const {
  return e.self_registered && e.heartbeat_seconds > 0 && now_s - e.last_seen_s > 3 * int64_t{e.heartbeat_seconds};
}

nlohmann::json ComputeRegistry::to_json(int64_t now_s) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, e] : entries_)
    out.push_back({{"compute_id", id},
                   {"tenant_id", e.tenant_id},
                   {"timeline_id", e.timeline_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.timeline_id)},
                   {"hook_url", e.hook_url},
                   {"mode", e.primary ? "primary" : "replica"},
                   {"source", e.self_registered ? "self" : "admin"},
                   {"registered_at", e.registered_at_s},
                   {"last_seen", e.last_seen_s},
                   {"stale", stale(e, now_s)}});
  return out;
}

}  // namespace storcon
