#include "control/hook_router.hpp"

#include "control/callback_guard.hpp"

#include <cstdio>

namespace storcon {

std::string loggable(std::string_view text) {
  constexpr size_t kShown = 200;
  std::string out;
  for (size_t i = 0; i < text.size() && out.size() < kShown; i++) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (out.size() >= kShown && text.size() > kShown) out += "...";
  return out;
}

HeadDecision decide_on_head(const RequestHead& head, const HookAuthenticator* auth, int64_t now_s) noexcept {
  return guarded(HeadDecision{Endpoint::NotFound, error_reply(500, "internal error"), "internal error"}, [&] {
    HeadDecision d;
    d.endpoint = match_endpoint(head.path);
    if (d.endpoint == Endpoint::NotFound) {
      d.refuse = error_reply(404, "no such endpoint: " + loggable(head.path));
      return d;
    }
    if (!method_allowed(d.endpoint, head.method)) {
      d.refuse = error_reply(405, std::string(endpoint_name(d.endpoint)) + " accepts " + allowed_methods(d.endpoint) +
                                      " only");
      return d;
    }
    if (d.endpoint == Endpoint::Healthz) return d;  // open: load balancers and probes
    // Everything else needs the hook's credentials, whatever the caller's address: a local proxy,
    // a sidecar or pg_net makes any caller local.
    if (auth == nullptr) {
      d.refuse = error_reply(503, "hook authentication is misconfigured; see the server log");
      return d;
    }
    AuthDecision a = auth->check(head.authorization, now_s);
    if (!a.ok()) {
      d.refuse = error_reply(a.http_status(), a.client_message());
      d.log = "refused " + loggable(head.method) + " " + loggable(head.path) + ": " + a.reason;
      return d;
    }
    if (head.content_length && *head.content_length > kMaxBodyBytes)
      d.refuse = error_reply(413, "request body exceeds 64 KiB");
    return d;
  });
}

}  // namespace storcon
