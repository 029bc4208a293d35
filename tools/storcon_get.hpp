// Bounded GETs to storcon for the command-line tools: a connect and a total timeout, http/https
// only, no redirects, the bearer token and CA file of the StorconClient options, and a cap on the
// size of an answer (storcon's node or safekeeper list is read whole; a misbehaving server must not
// make us allocate without limit). Errors are storcon::StorconError, classified as the SQL
// functions classify them (Http / Transport / BadResponse).
#pragma once
#include "control/guard.hpp"

#include "control/storcon_client.hpp"

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace storcon {

constexpr size_t kMaxStorconResponseBytes = 16u << 20;

class StorconGet {
 public:
  StorconGet(ClientOptions options, size_t max_response_bytes = kMaxStorconResponseBytes);
  ~StorconGet();
  StorconGet(const StorconGet&) = delete;
  StorconGet& operator=(const StorconGet&) = delete;

  // GET path; a 2xx answer parsed as strict JSON. Throws StorconError: Http (non-2xx, with storcon's
  // "msg"), Transport (no answer, timeout, TLS), BadResponse (not JSON, or over the size cap).
  nlohmann::json get(std::string_view path);
  // The same, but a 404 answer is nullopt (a resource storcon does not have).
  std::optional<nlohmann::json> get_or_404(std::string_view path);

 private:
  ClientOptions options_;
  size_t max_bytes_;
  void* curl_;  // CURL*, owned
};

}  // namespace storcon
