// Why this file exists: it authenticates storcon's calls to the compute hook (see hook_auth.hpp).
// The JWT rules follow Neon's (contract §4): alg must be EdDSA, the signature is Ed25519 over
// "<b64 header>.<b64 payload>", exp/nbf are optional and checked with a leeway, and storcon-style
// scopes are compared for equality. Header-shape problems are 401, everything about the token
// itself is 403 (contract §4.3). OpenSSL 3's EVP API does the cryptography (pg15-facts §4).
#include "control/hook_auth.hpp"

#include "control/json_fields.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <vector>

namespace storcon {

namespace {

// A JOSE header or a claims set is flat but for a scope array: anything deeper is not a token.
constexpr int kMaxTokenJsonDepth = 4;

AuthDecision decide(AuthResult result, const char* reason) { return AuthDecision{result, reason}; }
AuthDecision forbidden(const char* reason) { return decide(AuthResult::Forbidden, reason); }

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;  // includes '=', '+', '/', whitespace
}

// Strict base64url without padding (RFC 7515 §2), as Rust's URL_SAFE_NO_PAD: only [A-Za-z0-9_-],
// no '=', and the unused low bits of the last character must be zero, so that every byte string
// has exactly one encoding.
std::optional<std::string> b64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;  // 6 bits cannot end a byte
  std::string out;
  out.reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
      acc &= (1u << bits) - 1;  // keep only the bits not yet emitted
    }
  }
  if (acc != 0) return std::nullopt;  // non-zero leftover bits: a non-canonical encoding
  return out;
}

// A token's header or claims: a JSON object, read by the one strict parser (duplicate keys at any
// depth refused: nlohmann would keep the last one, another parser the first, and a token must not
// read differently to different readers).
std::optional<nlohmann::json> parse_object_strict(const std::string& text) {
  try {
    nlohmann::json j = parse_strict(text, kMaxTokenJsonDepth);
    if (j.is_object()) return j;
  } catch (const DecodeError&) {
  }
  return std::nullopt;
}

// One-shot Ed25519 verification (Ed25519 has no streaming update; the digest must be NULL).
bool verify_ed25519(EVP_PKEY* key, std::string_view signed_part, const std::string& sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                             sig.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                             signed_part.size()) == 1;
  if (!ok) ERR_clear_error();  // leave no stale error for the next OpenSSL user of this thread
  return ok;
}

bool scope_granted(const nlohmann::json& claims, const std::string& required) {
  auto it = claims.find("scope");
  if (it == claims.end()) return false;
  auto matches = [&](const nlohmann::json& v) {
    return v.is_string() && v.get_ref<const std::string&>() == required;
  };
  if (it->is_array()) return std::any_of(it->begin(), it->end(), matches);
  return matches(*it);
}

}  // namespace

int AuthDecision::http_status() const {
  switch (result) {
    case AuthResult::Ok: return 200;
    case AuthResult::Missing:
    case AuthResult::Malformed: return 401;
    case AuthResult::Forbidden: break;
  }
  return 403;
}

const char* AuthDecision::client_message() const {
  switch (result) {
    case AuthResult::Ok: return "OK";
    case AuthResult::Missing: return "Unauthorized: missing authorization header";
    case AuthResult::Malformed: return "Unauthorized: malformed authorization header";
    case AuthResult::Forbidden: break;
  }
  return "Forbidden: JWT authentication error";
}

HookAuthenticator HookAuthenticator::with_public_key(const std::string& pem,
                                                     std::string required_scope, int64_t leeway_s) {
  if (leeway_s < 0) throw std::invalid_argument("JWT leeway must not be negative");
  if (pem.size() > 64 * 1024) throw std::invalid_argument("public key PEM is too large");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  // A passphrase callback that refuses: a public key is never encrypted; OpenSSL must not prompt.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr) : nullptr;
  std::shared_ptr<evp_pkey_st> key(raw, EVP_PKEY_free);  // owns raw (EVP_PKEY_free accepts NULL)
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    ERR_clear_error();
    throw std::invalid_argument("not an Ed25519 public key in SPKI PEM (\"BEGIN PUBLIC KEY\")");
  }
  HookAuthenticator auth(Mode::PublicKey);
  auth.key_ = std::move(key);
  auth.scope_ = std::move(required_scope);
  auth.leeway_s_ = leeway_s;
  return auth;
}

HookAuthenticator HookAuthenticator::with_static_token(const std::string& token) {
  if (token.empty()) throw std::invalid_argument("the hook token must not be empty");
  if (token.size() > kMaxTokenBytes) throw std::invalid_argument("the hook token is too long");
  HookAuthenticator auth(Mode::StaticToken);
  auth.token_ = token;
  return auth;
}

HookAuthenticator HookAuthenticator::open() { return HookAuthenticator(Mode::Open); }

AuthDecision HookAuthenticator::check(const char* header, int64_t now) const noexcept {
  try {
    if (mode_ == Mode::Open) return decide(AuthResult::Ok, "authentication disabled");
    if (header == nullptr) return decide(AuthResult::Missing, "missing authorization header");

    // Neon splits the value at its first space and wants exactly "Bearer" before it.
    static constexpr std::string_view kScheme = "Bearer ";
    std::string_view value(header, strnlen(header, kScheme.size() + kMaxTokenBytes + 1));
    if (value.substr(0, kScheme.size()) != kScheme)
      return decide(AuthResult::Malformed, "authorization header is not \"Bearer <token>\"");
    std::string_view token = value.substr(kScheme.size());
    if (token.empty()) return decide(AuthResult::Malformed, "empty bearer token");
    if (token.size() > kMaxTokenBytes)
      return decide(AuthResult::Malformed, "bearer token too long");

    if (mode_ == Mode::StaticToken) {
      // Constant time for a given presented length: on a length mismatch, compare the token with
      // itself so that the work done does not depend on how much of the secret matched.
      const char* expected = token.size() == token_.size() ? token_.data() : token.data();
      bool equal = CRYPTO_memcmp(token.data(), expected, token.size()) == 0;
      if (equal && token.size() == token_.size()) return decide(AuthResult::Ok, "static token");
      return forbidden("static token mismatch");
    }
    return check_jwt(token, now);
  } catch (...) {
    // Only allocation can throw above; refuse rather than let an exception out.
    return AuthDecision{AuthResult::Forbidden, "internal error"};
  }
}

AuthDecision HookAuthenticator::check_jwt(std::string_view token, int64_t now) const {
  // Exactly three dot-separated parts: header.payload.signature.
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return forbidden("token is not three base64url parts");
  auto header_json = b64url_decode(token.substr(0, dot1));
  auto payload_json = b64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = b64url_decode(token.substr(dot2 + 1));
  if (!header_json || !payload_json || !signature) return forbidden("token is not valid base64url");

  // The algorithm comes from the header but only EdDSA is ever accepted ("none", HS256 with the
  // public key as secret, ... are the classic confusions).
  auto jose = parse_object_strict(*header_json);
  if (!jose) return forbidden("JWT header is not a JSON object without duplicate keys");
  auto alg = jose->find("alg");
  if (alg == jose->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "EdDSA")
    return forbidden("JWT alg is not EdDSA");
  if (jose->contains("crit")) return forbidden("JWT header has critical extensions");

  if (signature->size() != 64) return forbidden("signature is not 64 bytes");
  if (!verify_ed25519(key_.get(), token.substr(0, dot2), *signature))
    return forbidden("signature does not verify");

  // The claims are read only once the signature is known to be the key holder's.
  auto claims = parse_object_strict(*payload_json);
  if (!claims) return forbidden("JWT claims are not a JSON object without duplicate keys");
  // NumericDates may be integers or floats; compared as doubles (exact for any realistic time).
  double now_s = static_cast<double>(now), leeway = static_cast<double>(leeway_s_);
  if (auto exp = claims->find("exp"); exp != claims->end()) {
    if (!exp->is_number()) return forbidden("exp is not a number");
    if (exp->get<double>() < now_s - leeway) return forbidden("token expired");
  }
  if (auto nbf = claims->find("nbf"); nbf != claims->end()) {
    if (!nbf->is_number()) return forbidden("nbf is not a number");
    if (nbf->get<double>() > now_s + leeway) return forbidden("token not yet valid");
  }
  if (!scope_.empty() && !scope_granted(*claims, scope_)) return forbidden("scope not granted");
  return decide(AuthResult::Ok, "valid JWT");
}

}  // namespace storcon
