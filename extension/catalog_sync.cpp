#include "extension/catalog_sync.hpp"

#include "extension/boundary.hpp"
#include "extension/storcon_call.hpp"

namespace storcon::pg {

CatalogSnapshot fetch_catalog(StorconClient& client) {
  CatalogSnapshot snap;
  snap.nodes = decode_node_list(client.call("GET", "/control/v1/node"));
  snap.safekeepers = decode_safekeeper_list(client.call("GET", "/control/v1/safekeeper"));
  return snap;
}

CatalogCounts mirror_catalog(const CatalogSnapshot& snapshot) {
  const std::string nodes = node_rows(snapshot.nodes).dump();
  const std::string sks = safekeeper_rows(snapshot.safekeepers).dump();
  const char* nodes_text = nodes.c_str();
  const char* sks_text = sks.c_str();
  CatalogCounts counts;
  pg_call([&] {
    Oid types[2] = {TEXTOID, TEXTOID};
    Datum values[2] = {CStringGetTextDatum(nodes_text), CStringGetTextDatum(sks_text)};
    SPI_connect();
    int rc = SPI_execute_with_args(
        "SELECT storcon._mirror_nodes($1::jsonb), storcon._mirror_safekeepers($2::jsonb)", 2,
        types, values, nullptr, false, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1)
      elog(ERROR, "pg_storcon: mirroring the catalog failed: %s", SPI_result_code_string(rc));
    bool isnull;
    counts.nodes = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    counts.safekeepers =
        DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
    SPI_finish();
  });
  return counts;
}

bool mirror_tables_exist() {
  bool exists = false;
  pg_call([&] {
    SPI_connect();
    int rc = SPI_execute("SELECT pg_catalog.to_regclass('storcon.nodes') IS NOT NULL", true, 1);
    bool isnull;
    exists = rc == SPI_OK_SELECT && SPI_processed == 1 &&
             DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    SPI_finish();
  });
  return exists;
}

namespace {
// Every row of a mirror table as a JSON array (one SPI query, decoded in C++).
nlohmann::json table_rows(const char* table) {
  char* text = nullptr;
  pg_call([&] {
    SPI_connect();
    char* query = psprintf("SELECT pg_catalog.coalesce(pg_catalog.jsonb_agg(t)::text, '[]') FROM %s t", table);
    int rc = SPI_execute(query, true, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1)
      elog(ERROR, "pg_storcon: reading %s failed: %s", table, SPI_result_code_string(rc));
    char* v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    text = v ? MemoryContextStrdup(TopTransactionContext, v) : nullptr;
    SPI_finish();
  });
  return text ? nlohmann::json::parse(text) : nlohmann::json::array();
}
}  // namespace

std::vector<NodeRecord> load_mirrored_nodes() {
  std::vector<NodeRecord> out;
  if (!mirror_tables_exist()) return out;
  for (const auto& row : table_rows("storcon.nodes")) out.push_back(node_from_row(row));
  return out;
}

std::vector<SafekeeperRecord> load_mirrored_safekeepers() {
  std::vector<SafekeeperRecord> out;
  if (!mirror_tables_exist()) return out;
  for (const auto& row : table_rows("storcon.safekeepers")) out.push_back(decode_safekeeper(row));
  return out;
}

}  // namespace storcon::pg

extern "C" {
PG_FUNCTION_INFO_V1(storcon_sync_catalog);

// storcon.sync_catalog() RETURNS TABLE(nodes int, safekeepers int)
Datum storcon_sync_catalog(PG_FUNCTION_ARGS) {
  storcon::pg::CatalogCounts counts;
  storcon::pg::run_guarded([&] {
    auto snapshot = storcon::pg::fetch_catalog(storcon::pg::storcon_client());
    counts = storcon::pg::mirror_catalog(snapshot);
  });
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  InitMaterializedSRF(fcinfo, 0);
  Datum values[2] = {Int32GetDatum(counts.nodes), Int32GetDatum(counts.safekeepers)};
  bool nulls[2] = {false, false};
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  return (Datum)0;
}
}
