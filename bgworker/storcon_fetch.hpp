// The worker's storcon requests, built from the storcon.* settings for the non-blocking fetcher,
// and the catalog decoded from their answers. Shared by the reconciler and the refresh on a miss.
#pragma once

#include "control/async_fetch.hpp"
#include "extension/catalog_sync.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace storcon::worker {

// GET requests for (key, path) pairs; throws (bad storcon.url, unreadable token file).
std::vector<FetchRequest> storcon_gets(const std::vector<std::pair<std::string, std::string>>& key_paths,
                                       long timeout_cap_ms);

// The JSON of the 2xx answer named `key`; throws with storcon's message otherwise.
nlohmann::json fetched_json(const AsyncFetcher& f, const std::string& key, const std::string& what);

// Status of the answer named `key` (0 when there was none).
long fetched_status(const AsyncFetcher& f, const std::string& key);

// The "nodes" and "safekeepers" answers decoded; throws.
pg::CatalogSnapshot fetched_catalog(const AsyncFetcher& f);

inline const std::vector<std::pair<std::string, std::string>> kCatalogPaths = {
    {"nodes", "/control/v1/node"}, {"safekeepers", "/control/v1/safekeeper"}};

}  // namespace storcon::worker
