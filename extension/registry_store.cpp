#include "extension/registry_store.hpp"

#include "extension/boundary.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace storcon::pg {

std::vector<ComputeEntry> load_registry(const ExtensionObjects& ext) {
  std::vector<ComputeEntry> out;
  if (!OidIsValid(ext.computes)) return out;
  const std::string query =
      "SELECT pg_catalog.json_build_object('compute_id', compute_id, 'tenant_id', tenant_id, 'timeline_id', "
      "timeline_id, 'hook_url', hook_url, 'mode', mode, 'source', source, 'heartbeat_seconds', heartbeat_seconds, "
      "'registered_at', pg_catalog.date_part('epoch', registered_at), 'last_seen', "
      "pg_catalog.date_part('epoch', last_seen))::text FROM " +
      qualified_table(ext, ext.computes);
  const char* sql = query.c_str();
  uint64 n = 0;
  pg_call([&] {
    SPI_connect();
    if (SPI_execute(sql, true, 0) != SPI_OK_SELECT) elog(ERROR, "pg_storcon: could not read storcon.computes");
    n = SPI_processed;
  });
  try {
    for (uint64 i = 0; i < n; i++) {
      char* text = nullptr;
      pg_call([&] { text = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1); });
      auto j = nlohmann::json::parse(text);
      ComputeEntry e;
      e.compute_id = j.at("compute_id");
      e.tenant_id = j.at("tenant_id");
      e.timeline_id = j.at("timeline_id").is_string() ? j.at("timeline_id").get<std::string>() : "";
      e.hook_url = j.at("hook_url");
      e.primary = j.at("mode") == "primary";
      e.self_registered = j.at("source") == "self";
      e.heartbeat_seconds = j.at("heartbeat_seconds").is_number() ? j.at("heartbeat_seconds").get<int>() : 0;
      e.registered_at_s = static_cast<int64_t>(j.at("registered_at").get<double>());
      e.last_seen_s = static_cast<int64_t>(j.at("last_seen").get<double>());
      out.push_back(std::move(e));
    }
  } catch (...) {
    pg_call([] { SPI_finish(); });
    throw;
  }
  pg_call([] { SPI_finish(); });
  return out;
}

bool store_registration(const ExtensionObjects& ext, const ComputeEntry& e) {
  if (!OidIsValid(ext.compute_seen)) return false;
  nlohmann::json j = {{"compute_id", e.compute_id}};
  if (!e.tenant_id.empty()) {
    j = nlohmann::json::parse(registration_body(e));
    j["compute_id"] = e.compute_id;
  } else {
    j["tenant_id"] = nullptr;
  }
  (void)call_member(ext.compute_seen, 1, jsonb_arg(j.dump()));
  return true;
}

}  // namespace storcon::pg
