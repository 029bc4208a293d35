// Mirroring storcon's node and safekeeper lists into storcon.nodes / storcon.safekeepers.
#pragma once

#include "control/catalog.hpp"
#include "control/storcon_client.hpp"

namespace storcon::pg {

struct CatalogSnapshot {
  std::vector<NodeRecord> nodes;
  std::vector<SafekeeperRecord> safekeepers;
};

struct CatalogCounts {
  int nodes = 0;
  int safekeepers = 0;
};

// GET /control/v1/node and /control/v1/safekeeper, decoded strictly. No PostgreSQL calls.
CatalogSnapshot fetch_catalog(StorconClient& client);

// Replace the mirror tables' contents with the snapshot, through SPI, in the caller's transaction.
CatalogCounts mirror_catalog(const CatalogSnapshot& snapshot);

// Whether storcon.nodes exists in this database (the extension is installed here).
bool mirror_tables_exist();

// Every row of storcon.nodes (the worker's directory is loaded from it). Empty when the extension
// is not installed in this database.
std::vector<NodeRecord> load_mirrored_nodes();
std::vector<SafekeeperRecord> load_mirrored_safekeepers();

}  // namespace storcon::pg
