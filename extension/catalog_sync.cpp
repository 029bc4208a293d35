#include "extension/catalog_sync.hpp"

#include "extension/boundary.hpp"
#include "extension/storcon_call.hpp"

#include <stdexcept>

extern "C" {
#include "utils/jsonb.h"
}

namespace storcon::pg {

CatalogSnapshot fetch_catalog(StorconClient& client) {
  CatalogSnapshot snap;
  snap.nodes = decode_node_list(client.call("GET", "/control/v1/node"));
  snap.safekeepers = decode_safekeeper_list(client.call("GET", "/control/v1/safekeeper"));
  return snap;
}

namespace {
// fn(rows jsonb) -> integer, called by OID.
int call_mirror_function(Oid fn, const std::string& rows) {
  return DatumGetInt32(call_member(fn, 1, jsonb_arg(rows)));
}

// Each row of a member table as a JSON object (row_to_json, schema-qualified, no search_path).
std::vector<nlohmann::json> table_rows(const ExtensionObjects& ext, Oid table) {
  const std::string query = "SELECT pg_catalog.row_to_json(t)::text FROM " + qualified_table(ext, table) + " t";
  const char* sql = query.c_str();
  std::vector<nlohmann::json> rows;
  uint64 n = 0;
  pg_call([&] {
    SPI_connect();
    if (SPI_execute(sql, true, 0) != SPI_OK_SELECT) elog(ERROR, "pg_storcon: could not read %s", sql);
    n = SPI_processed;
  });
  try {
    for (uint64 i = 0; i < n; i++) {
      char* text = nullptr;
      pg_call([&] { text = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1); });
      if (text != nullptr) rows.push_back(nlohmann::json::parse(text));
    }
  } catch (...) {
    pg_call([] { SPI_finish(); });
    throw;
  }
  pg_call([] { SPI_finish(); });
  return rows;
}
}  // namespace

CatalogCounts mirror_catalog(const ExtensionObjects& ext, const CatalogSnapshot& snapshot) {
  if (!OidIsValid(ext.mirror_nodes) || !OidIsValid(ext.mirror_safekeepers))
    throw std::runtime_error("the extension's mirror functions are unavailable: " + ext.problem);
  CatalogCounts counts;
  counts.nodes = call_mirror_function(ext.mirror_nodes, node_rows(snapshot.nodes).dump());
  counts.safekeepers = call_mirror_function(ext.mirror_safekeepers, safekeeper_rows(snapshot.safekeepers).dump());
  return counts;
}

CatalogSnapshot load_mirror(const ExtensionObjects& ext) {
  CatalogSnapshot snap;
  if (OidIsValid(ext.nodes))
    for (const auto& row : table_rows(ext, ext.nodes)) snap.nodes.push_back(node_from_row(row));
  if (OidIsValid(ext.safekeepers))
    for (const auto& row : table_rows(ext, ext.safekeepers)) snap.safekeepers.push_back(decode_safekeeper(row));
  return snap;
}

}  // namespace storcon::pg

extern "C" {
PG_FUNCTION_INFO_V1(storcon_sync_catalog);

// storcon.sync_catalog() RETURNS TABLE(nodes int, safekeepers int)
Datum storcon_sync_catalog(PG_FUNCTION_ARGS) {
  storcon::pg::CatalogCounts counts;
  storcon::pg::run_guarded([&] {
    auto snapshot = storcon::pg::fetch_catalog(storcon::pg::storcon_client());
    counts = storcon::pg::mirror_catalog(storcon::pg::lookup_extension_objects(), snapshot);
  });
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  InitMaterializedSRF(fcinfo, 0);
  Datum values[2] = {Int32GetDatum(counts.nodes), Int32GetDatum(counts.safekeepers)};
  bool nulls[2] = {false, false};
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  return (Datum)0;
}
}
