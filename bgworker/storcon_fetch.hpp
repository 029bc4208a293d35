// The worker's requests to storcon, built from the storcon.* settings for the non-blocking
// fetcher, and the decoding of their answers. Shared by the reconcile and the refresh on a miss.
#pragma once

#include "control/http_transfer.hpp"
#include "extension/catalog_sync.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace storcon::worker {

// A GET of storcon's `path`, with the token and CA of the settings and a total timeout of at most
// timeout_cap_ms. Throws (bad storcon.url, unreadable token file).
HttpRequest storcon_get(const std::string& path, long timeout_cap_ms);

// The JSON of a 2xx answer; throws std::runtime_error with storcon's message otherwise.
nlohmann::json answer_json(const HttpResult& r, const std::string& what);

inline constexpr const char* kNodesPath = "/control/v1/node";
inline constexpr const char* kSafekeepersPath = "/control/v1/safekeeper";

}  // namespace storcon::worker
