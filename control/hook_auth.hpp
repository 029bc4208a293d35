// Why this file exists: whoever reaches the compute hook can point the compute at another
// pageserver, so the hook must know that a call comes from storcon. storcon sends its configured
// control-plane token verbatim as "Authorization: Bearer <token>" (contract §1.1, §4.4); this file
// decides, for one request, whether that header is acceptable. It checks either an EdDSA (Ed25519)
// JWT against the operator's public key, with Neon's rules (contract §4), or a static shared token.
// It knows nothing of HTTP libraries or PostgreSQL; the caller passes the header and the clock.
#pragma once
#include "control/guard.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY; kept out of this header

namespace storcon {

enum class AuthResult {
  Ok,         // let the request through
  Missing,    // 401: no Authorization header
  Malformed,  // 401: not "Bearer <token>", empty or oversized token
  Forbidden,  // 403: a token was presented and is not acceptable (bad JWT, signature, claims, ...)
};

struct AuthDecision {
  AuthResult result = AuthResult::Forbidden;
  // For the server log only: a fixed phrase, never the token nor any text taken from it.
  std::string reason;

  bool ok() const { return result == AuthResult::Ok; }
  int http_status() const;  // 200, 401 or 403
  // Neon's wording for the {"msg"} body of the reply (contract §4.3); safe to send to the caller.
  const char* client_message() const;
};

class HookAuthenticator {
 public:
  // Longest token accepted (after "Bearer "); longer ones are 401 Malformed.
  static constexpr std::size_t kMaxTokenBytes = 8192;

  // Ed25519 SPKI PEM text ("-----BEGIN PUBLIC KEY-----"), as storcon's --public-key takes it.
  // required_scope: when non-empty, the "scope" claim must equal it or, as an array, contain it.
  // leeway_s: tolerance for "exp" and "nbf" (jsonwebtoken's default is 60 s).
  // Throws std::invalid_argument (message without key material) if pem is not an Ed25519 public
  // key or leeway_s is negative.
  static HookAuthenticator with_public_key(const std::string& pem, std::string required_scope = "",
                                           int64_t leeway_s = 60);
  // A shared secret compared in constant time. Throws std::invalid_argument if token is empty or
  // longer than kMaxTokenBytes.
  static HookAuthenticator with_static_token(const std::string& token);
  // No authentication configured: every request, with or without a header, is Ok.
  static HookAuthenticator open();

  bool enabled() const { return mode_ != Mode::Open; }

  // header: the value of the Authorization header, nullptr when the request has none.
  // now: the current time in unix seconds (injected so that tests control the clock).
  // Never throws; thread-safe (the object is immutable and copies share the key).
  AuthDecision check(const char* header, int64_t now) const noexcept;

 private:
  enum class Mode { Open, StaticToken, PublicKey };
  explicit HookAuthenticator(Mode mode) : mode_(mode) {}
  AuthDecision check_jwt(std::string_view token, int64_t now) const;

  Mode mode_;
  std::shared_ptr<evp_pkey_st> key_;  // PublicKey mode; freed with EVP_PKEY_free
  std::string token_;                 // StaticToken mode
  std::string scope_;                 // PublicKey mode, "" = any scope
  int64_t leeway_s_ = 0;
};

}  // namespace storcon
