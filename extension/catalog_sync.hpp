// Mirroring storcon's node and safekeeper lists into the extension's tables storcon.nodes and
// storcon.safekeepers, and reading them back (the hook worker's directory at a cold start). Every
// object is reached through ExtensionObjects: by OID, and only if it belongs to the extension.
#pragma once

#include "control/catalog.hpp"
#include "control/storcon_client.hpp"
#include "extension/ext_objects.hpp"

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

// Replaces the mirror tables' contents with the snapshot, in the caller's transaction. Throws
// std::runtime_error when the extension's functions are missing or not its own.
CatalogCounts mirror_catalog(const ExtensionObjects& ext, const CatalogSnapshot& snapshot);

// Every row of the mirror tables, in the caller's transaction (empty when they are absent).
CatalogSnapshot load_mirror(const ExtensionObjects& ext);

}  // namespace storcon::pg
