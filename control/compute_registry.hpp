// The computes a hub routes notifications to. storcon has ONE control-plane URL for every tenant
// (reference/neon-lifecycle.md §3); whichever Postgres answers it must reach that tenant's
// computes, as neon_local and Neon's cloud control plane do. Computes register themselves
// (PUT /computes/<id>, again every heartbeat) or an administrator adds them; each notification goes
// to every registered compute of its tenant (and, for safekeepers, of its timeline). An entry a
// compute registered itself and has not renewed for three heartbeats is stale: still routed to (a
// stopped compute refuses the connection, which does not fail the notification), and shown.
#pragma once
#include "control/guard.hpp"

#include "control/hook_engine.hpp"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace storcon {

struct ComputeEntry {
  std::string compute_id;
  std::string tenant_id;    // lower-case 32 hex
  std::string timeline_id;  // "" = any timeline of the tenant
  std::string hook_url;     // http(s)://host:port[/prefix]
  bool primary = true;
  bool self_registered = false;  // false: added by an administrator (never stale)
  int heartbeat_seconds = 0;     // self-registered: how often it renews
  int64_t registered_at_s = 0;   // unix seconds
  int64_t last_seen_s = 0;
};

// A compute id as it may appear in a path and in the table: [A-Za-z0-9._:/@%+=-], 1..200 bytes.
bool valid_compute_id(std::string_view id);

// PUT /computes/<id> body: {"tenant_id", "timeline_id": string|null, "mode": "primary"|"replica",
// "hook_url", "heartbeat_seconds"}. Throws HookError(400) naming what is wrong.
ComputeEntry parse_registration(std::string_view compute_id, std::string_view body, int64_t now_s);
// The body a compute sends.
std::string registration_body(const ComputeEntry& e);

class ComputeRegistry {
 public:
  // Inserts or renews; registered_at is kept when the compute is the same one again.
  void upsert(ComputeEntry e);
  bool remove(const std::string& compute_id);
  void replace(std::vector<ComputeEntry> entries);
  // The hooks a notification for this tenant (and timeline, "" = any) must reach, except `self`.
  std::vector<ForwardTarget> targets(const std::string& tenant_id, const std::string& timeline_id,
                                     const std::string& self_id) const;
  bool stale(const ComputeEntry& e, int64_t now_s) const;
  size_t size() const { return entries_.size(); }
  // [{compute_id, tenant_id, timeline_id, hook_url, mode, source, registered_at, last_seen, stale}]
  nlohmann::json to_json(int64_t now_s) const;

 private:
  std::map<std::string, ComputeEntry> entries_;
};

}  // namespace storcon
