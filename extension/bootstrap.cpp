// storcon.compute_config(tenant_id, timeline_id): the neon settings a new compute must start with,
// asked from storcon and rendered by control/compute_config.cpp, in postgresql.conf order.
#include "control/compute_config.hpp"
#include "control/ids.hpp"
#include "extension/boundary.hpp"
#include "extension/storcon_call.hpp"

#include <algorithm>

extern "C" {
PG_FUNCTION_INFO_V1(storcon_compute_config);
}

Datum storcon_compute_config(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tenant_id must not be NULL")));
  char* tenant_arg = text_to_cstring(PG_GETARG_TEXT_PP(0));
  // NULL timeline: only the pageserver settings (storcon.doctor() compares those).
  char* timeline_arg = PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1));

  // Results copied into palloc'd C arrays inside the guarded block, emitted after it.
  int n = 0;
  char** names = nullptr;
  char** values = nullptr;
  bool no_safekeepers = false;
  storcon::pg::run_guarded([&] {
    const std::string tenant = storcon::normalize_hex_id(tenant_arg, "tenant id");
    const std::string timeline = timeline_arg ? storcon::normalize_hex_id(timeline_arg, "timeline id") : "";
    auto& client = storcon::pg::storcon_client();
    nlohmann::json placement = client.call("GET", "/debug/v1/tenant/" + tenant + "/locate");
    std::optional<nlohmann::json> sk_placement;
    if (!timeline.empty()) try {
        sk_placement = client.call("GET", "/debug/v1/tenant/" + tenant + "/timeline/" + timeline + "/locate");
      } catch (const storcon::StorconError& e) {
        if (e.kind() != storcon::FailureKind::Http || e.status() != 404) throw;
        no_safekeepers = true;  // storcon runs without --timelines-onto-safekeepers
      }
    std::vector<storcon::SafekeeperRecord> sks;
    if (sk_placement) sks = storcon::decode_safekeeper_list(client.call("GET", "/control/v1/safekeeper"));
    auto rows = storcon::compute_config(tenant, timeline, placement, sk_placement, sks);
    if (timeline.empty())  // no timeline asked for: leave out neon.timeline_id
      rows.erase(std::remove_if(rows.begin(), rows.end(), [](const auto& r) { return r.name == "neon.timeline_id"; }),
                 rows.end());
    storcon::pg::pg_call([&] {
      names = static_cast<char**>(palloc(sizeof(char*) * rows.size()));
      values = static_cast<char**>(palloc(sizeof(char*) * rows.size()));
    });
    for (const auto& r : rows) {
      const char* name = r.name.c_str();
      const char* value = r.value.c_str();
      storcon::pg::pg_call([&] {
        names[n] = pstrdup(name);
        values[n] = pstrdup(value);
      });
      n++;
    }
  });
  if (no_safekeepers)
    ereport(NOTICE, (errmsg("storcon does not place this timeline on safekeepers; neon.safekeepers is not included"),
                     errhint("Run storcon with --timelines-onto-safekeepers, or set neon.safekeepers by hand.")));
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  InitMaterializedSRF(fcinfo, 0);
  for (int i = 0; i < n; i++) {
    Datum v[2] = {CStringGetTextDatum(names[i]), CStringGetTextDatum(values[i])};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  return (Datum)0;
}
