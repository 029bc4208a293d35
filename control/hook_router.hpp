// The hook's decisions on a request's HEADERS, before any of its body is read: which endpoint it
// names, whether the method is one it accepts, whether the announced body is too large, and
// whether the caller is authenticated. A refused request is answered at once (401/403 before a
// "100 Continue", 413 before the body is sent). Pure and noexcept: it runs inside libmicrohttpd's
// first callback for the request, the only moment at which a request can be refused unread.
#pragma once
#include "control/guard.hpp"

#include "control/hook.hpp"
#include "control/hook_auth.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace storcon {

constexpr size_t kMaxBodyBytes = 64 * 1024;
// Marks a notification forwarded by another compute's hook (never forwarded again)...
inline constexpr const char* kForwardedHeader = "X-Pg-Storcon-Forwarded";
// ... and the forwarder's remaining time, so that the target answers before the forwarder must.
inline constexpr const char* kDeadlineHeader = "X-Pg-Storcon-Deadline-Ms";

struct RequestHead {
  std::string_view method;
  std::string_view path;
  const char* authorization = nullptr;        // the Authorization header, nullptr when absent
  std::optional<uint64_t> content_length;     // nullopt: none (or chunked)
};

struct HeadDecision {
  Endpoint endpoint = Endpoint::NotFound;
  std::optional<HookReply> refuse;  // set: answer this now, do not read the body
  std::string log;                  // set for refusals worth a line in the server log
};

// auth: the configured authenticator; nullptr = configured but unusable (fail closed: 503).
// now_s: unix seconds (for JWT exp/nbf).
HeadDecision decide_on_head(const RequestHead& head, const HookAuthenticator* auth, int64_t now_s) noexcept;

// The request line as it may appear in a log: bytes outside printable ASCII escaped (\xNN), so a
// path holding %0A-decoded newlines cannot forge log lines; at most about 200 bytes of it.
std::string loggable(std::string_view text);

}  // namespace storcon
