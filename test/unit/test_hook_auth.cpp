// Authentication of storcon's calls to the hook: EdDSA JWTs signed here with keys made at test
// time (the 401/403 split of contract §4.3, alg confusion, exp/nbf leeway, scopes), static tokens,
// the open mode, and a few hundred mutated tokens that must neither crash nor pass.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/hook_auth.hpp"

using namespace storcon;

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
const int64_t kNow = 1700000000;

Key ed25519_key() {
  Key k(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  if (!k) throw std::runtime_error("keygen failed");
  return k;
}

std::string public_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1)
    throw std::runtime_error("PEM export failed");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string b64url(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string sign(EVP_PKEY* key, const std::string& input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char sig[64];
  size_t len = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    throw std::runtime_error("signing failed");
  return std::string(reinterpret_cast<char*>(sig), len);
}

// A JWT with the given header and claims JSON texts, signed by key.
std::string jwt(EVP_PKEY* key, const std::string& claims,
                const std::string& header = R"({"alg":"EdDSA","typ":"JWT"})") {
  std::string input = b64url(header) + "." + b64url(claims);
  return input + "." + b64url(sign(key, input));
}

std::string bearer(const std::string& token) { return "Bearer " + token; }

class HookAuthJwt : public ::testing::Test {
 protected:
  Key key = ed25519_key();
  HookAuthenticator auth = HookAuthenticator::with_public_key(public_pem(key.get()));
  AuthDecision check(const std::string& token) const {
    return auth.check(bearer(token).c_str(), kNow);
  }
};

}  // namespace

// The test's own encoder, checked so that the failures below mean something.
TEST(HookAuth, Base64urlHelperMatchesRfc4648Vectors) {
  EXPECT_EQ(b64url(""), "");
  EXPECT_EQ(b64url("f"), "Zg");
  EXPECT_EQ(b64url("foob"), "Zm9vYg");
  EXPECT_EQ(b64url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(b64url("\xfb\xff"), "-_8");
}

TEST_F(HookAuthJwt, ValidTokenIsOk) {
  auto d = check(jwt(key.get(), R"({"tenant_id":null,"scope":"admin"})"));
  EXPECT_EQ(d.result, AuthResult::Ok) << d.reason;
  EXPECT_EQ(d.http_status(), 200);
  EXPECT_TRUE(auth.enabled());
}

TEST_F(HookAuthJwt, TamperedPayloadIsForbidden) {
  std::string good = jwt(key.get(), R"({"scope":"admin"})");
  std::string other = jwt(key.get(), R"({"scope":"infra"})");
  // Payload of one signed token with the header and signature of another.
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  size_t o1 = other.find('.'), o2 = other.rfind('.');
  std::string spliced =
      good.substr(0, d1 + 1) + other.substr(o1 + 1, o2 - o1 - 1) + good.substr(d2);
  auto d = check(spliced);
  EXPECT_EQ(d.result, AuthResult::Forbidden);
  EXPECT_EQ(d.http_status(), 403);
  EXPECT_EQ(d.reason, "signature does not verify");
}

TEST_F(HookAuthJwt, SignatureByAnotherKeyIsForbidden) {
  Key other = ed25519_key();
  auto d = check(jwt(other.get(), R"({"scope":"admin"})"));
  EXPECT_EQ(d.result, AuthResult::Forbidden);
  EXPECT_EQ(d.reason, "signature does not verify");
}

TEST_F(HookAuthJwt, OnlyEdDsaIsAccepted) {
  // Correct Ed25519 signatures in every case: only the header's alg differs.
  for (const char* header :
       {R"({"alg":"none"})", R"({"alg":"HS256"})", R"({"alg":"RS256"})", R"({"alg":"eddsa"})",
        R"({"alg":"EdDSA "})", R"({"typ":"JWT"})", R"({"alg":null})", R"({"alg":["EdDSA"]})",
        R"(["EdDSA"])", R"({"alg":"EdDSA","alg":"EdDSA"})", R"({"alg":"none","alg":"EdDSA"})",
        R"({"alg":"EdDSA","crit":["exp"]})", "not json"}) {
    auto d = check(jwt(key.get(), R"({"scope":"admin"})", header));
    EXPECT_EQ(d.result, AuthResult::Forbidden) << header;
  }
  // alg none with an empty signature, the classic form.
  auto d = check(b64url(R"({"alg":"none"})") + "." + b64url(R"({"scope":"admin"})") + ".");
  EXPECT_EQ(d.result, AuthResult::Forbidden);
}

TEST_F(HookAuthJwt, ExpiryUsesTheLeeway) {
  auto at = [&](int64_t exp) {
    return check(jwt(key.get(), R"({"exp":)" + std::to_string(exp) + "}"));
  };
  EXPECT_EQ(at(kNow + 3600).result, AuthResult::Ok);
  EXPECT_EQ(at(kNow - 30).result, AuthResult::Ok);  // expired, within the 60 s leeway
  EXPECT_EQ(at(kNow - 60).result, AuthResult::Ok);  // exactly at the edge
  EXPECT_EQ(at(kNow - 61).result, AuthResult::Forbidden);
  EXPECT_EQ(at(kNow - 61).reason, "token expired");
  EXPECT_EQ(check(jwt(key.get(), R"({"exp":1700000000.5})")).result, AuthResult::Ok);
  for (const char* bad : {R"({"exp":"1800000000"})", R"({"exp":null})", R"({"exp":true})",
                          R"({"exp":[1800000000]})", R"({"nbf":"0"})"})
    EXPECT_EQ(check(jwt(key.get(), bad)).result, AuthResult::Forbidden) << bad;

  auto strict = HookAuthenticator::with_public_key(public_pem(key.get()), "", 0);
  std::string t = bearer(jwt(key.get(), R"({"exp":1699999999})"));
  EXPECT_EQ(strict.check(t.c_str(), kNow).result, AuthResult::Forbidden);
  EXPECT_EQ(strict.check(t.c_str(), kNow - 1).result, AuthResult::Ok);
}

TEST_F(HookAuthJwt, NotBeforeUsesTheLeeway) {
  auto at = [&](int64_t nbf) {
    return check(jwt(key.get(), R"({"nbf":)" + std::to_string(nbf) + "}"));
  };
  EXPECT_EQ(at(kNow - 10).result, AuthResult::Ok);
  EXPECT_EQ(at(kNow + 60).result, AuthResult::Ok);
  EXPECT_EQ(at(kNow + 61).result, AuthResult::Forbidden);
  EXPECT_EQ(at(kNow + 3600).reason, "token not yet valid");
}

TEST_F(HookAuthJwt, RequiredScopeStringOrArray) {
  auto scoped = HookAuthenticator::with_public_key(public_pem(key.get()), "admin");
  auto run = [&](const std::string& claims) {
    return scoped.check(bearer(jwt(key.get(), claims)).c_str(), kNow).result;
  };
  EXPECT_EQ(run(R"({"scope":"admin"})"), AuthResult::Ok);
  EXPECT_EQ(run(R"({"scope":["infra","admin"]})"), AuthResult::Ok);
  EXPECT_EQ(run(R"({"scope":"infra"})"), AuthResult::Forbidden);
  EXPECT_EQ(run(R"({"scope":"Admin"})"), AuthResult::Forbidden);
  EXPECT_EQ(run(R"({"scope":["infra"]})"), AuthResult::Forbidden);
  EXPECT_EQ(run(R"({"scope":[]})"), AuthResult::Forbidden);
  EXPECT_EQ(run(R"({"scope":{"admin":true}})"), AuthResult::Forbidden);
  EXPECT_EQ(run(R"({"tenant_id":null})"), AuthResult::Forbidden);
  // Duplicate keys, at the top or nested, are refused.
  EXPECT_EQ(run(R"({"scope":"infra","scope":"admin"})"), AuthResult::Forbidden);
  EXPECT_EQ(run(R"({"x":{"a":1,"a":2},"scope":"admin"})"), AuthResult::Forbidden);
  EXPECT_EQ(run(R"(["admin"])"), AuthResult::Forbidden);  // claims must be an object
  // Without a required scope any scope (or none) is fine.
  EXPECT_EQ(check(jwt(key.get(), R"({"scope":"infra"})")).result, AuthResult::Ok);
  EXPECT_EQ(check(jwt(key.get(), "{}")).result, AuthResult::Ok);
}

TEST_F(HookAuthJwt, HeaderShapeIs401) {
  std::string token = jwt(key.get(), R"({"scope":"admin"})");
  auto missing = auth.check(nullptr, kNow);
  EXPECT_EQ(missing.result, AuthResult::Missing);
  EXPECT_EQ(missing.http_status(), 401);
  EXPECT_STREQ(missing.client_message(), "Unauthorized: missing authorization header");
  for (const std::string& h : std::vector<std::string>{
           "bearer " + token, "BEARER " + token, "Bearer", "Bearer ", "Basic " + token, token, "",
           " Bearer " + token, "Bearer\t" + token}) {
    auto d = auth.check(h.c_str(), kNow);
    EXPECT_EQ(d.result, AuthResult::Malformed) << h;
    EXPECT_EQ(d.http_status(), 401);
  }
  std::string huge = "Bearer " + std::string(HookAuthenticator::kMaxTokenBytes + 1, 'a');
  EXPECT_EQ(auth.check(huge.c_str(), kNow).result, AuthResult::Malformed);
  // Neon splits at the first space: a second space belongs to the token, which is then invalid.
  EXPECT_EQ(auth.check(("Bearer  " + token).c_str(), kNow).result, AuthResult::Forbidden);
}

TEST_F(HookAuthJwt, GarbageTokensAre403) {
  // Decision: once the header is "Bearer <token>", anything wrong with the token is 403 (Neon
  // answers 403 "JWT authentication error" for tokens it cannot decode).
  std::string good = jwt(key.get(), R"({"scope":"admin"})");
  std::string padded = good + "==";       // padding is refused
  std::string plus = good, slash = good;  // the standard alphabet's characters are refused
  plus[good.rfind('.') + 1] = '+';
  slash[good.find('.') + 1] = '/';
  std::string short_sig = good.substr(0, good.rfind('.') + 1) + b64url(std::string(63, 'x'));
  std::string long_sig = good.substr(0, good.rfind('.') + 1) + b64url(std::string(65, 'x'));
  for (const std::string& t : {std::string("!!!"), std::string("a.b"), std::string("a.b.c.d"),
                               std::string(".."), good + ".", padded, plus, slash, short_sig,
                               long_sig, std::string("e30.e30.") + std::string(86, 'A')}) {
    auto d = check(t);
    EXPECT_EQ(d.result, AuthResult::Forbidden) << t;
    EXPECT_EQ(d.http_status(), 403);
    EXPECT_STREQ(d.client_message(), "Forbidden: JWT authentication error");
  }
  // A non-canonical last character (non-zero unused bits) decodes to the same bytes: refused.
  std::string sig = good.substr(good.rfind('.') + 1);  // 86 chars, last one carries 4 unused bits
  std::string noncanon = good;
  char& last = noncanon.back();
  last = last == 'A' ? 'B' : (last == 'Q' ? 'R' : (last == 'g' ? 'h' : 'x'));
  EXPECT_EQ(sig.size(), 86u);
  EXPECT_EQ(check(noncanon).result, AuthResult::Forbidden);
}

TEST(HookAuth, PublicKeyMustBeEd25519SpkiPem) {
  auto rsa =
      Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)), EVP_PKEY_free);
  auto ec = Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  auto x25519 = Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"), EVP_PKEY_free);
  auto ed448 = Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"), EVP_PKEY_free);
  ASSERT_TRUE(rsa && ec && x25519 && ed448);
  for (EVP_PKEY* k : {rsa.get(), ec.get(), x25519.get(), ed448.get()})
    EXPECT_THROW(HookAuthenticator::with_public_key(public_pem(k)), std::invalid_argument);
  EXPECT_THROW(HookAuthenticator::with_public_key(""), std::invalid_argument);
  EXPECT_THROW(HookAuthenticator::with_public_key(
                   "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
               std::invalid_argument);
  // A private key is not a public key, and the error message does not echo the PEM.
  Key ed = ed25519_key();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), ed.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  const std::string priv(data, static_cast<size_t>(n));
  try {
    HookAuthenticator::with_public_key(priv);
    ADD_FAILURE() << "a private key PEM was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("PRIVATE"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find(priv.substr(28, 20)), std::string::npos);
  }
  EXPECT_THROW(HookAuthenticator::with_public_key(public_pem(ed.get()), "", -1),
               std::invalid_argument);
  EXPECT_NO_THROW(HookAuthenticator::with_public_key(public_pem(ed.get())));
}

TEST(HookAuth, StaticTokenMustMatchExactly) {
  const std::string secret = "s3cr3t-token-0123456789";
  auto auth = HookAuthenticator::with_static_token(secret);
  EXPECT_TRUE(auth.enabled());
  EXPECT_EQ(auth.check(bearer(secret).c_str(), kNow).result, AuthResult::Ok);
  for (const std::string& t :
       {std::string("s3cr3t-token-0123456788"), secret.substr(0, secret.size() - 1), secret + "0",
        std::string("Q9"), " " + secret}) {
    auto d = auth.check(bearer(t).c_str(), kNow);
    EXPECT_EQ(d.result, AuthResult::Forbidden) << t;
    EXPECT_EQ(d.reason.find(t), std::string::npos);
    EXPECT_EQ(d.reason.find(secret), std::string::npos);
  }
  EXPECT_EQ(auth.check(nullptr, kNow).result, AuthResult::Missing);
  EXPECT_EQ(auth.check(("bearer " + secret).c_str(), kNow).result, AuthResult::Malformed);
  EXPECT_EQ(auth.check("Bearer ", kNow).result, AuthResult::Malformed);
  EXPECT_THROW(HookAuthenticator::with_static_token(""), std::invalid_argument);
  EXPECT_THROW(
      HookAuthenticator::with_static_token(std::string(HookAuthenticator::kMaxTokenBytes + 1, 'x')),
      std::invalid_argument);
}

TEST(HookAuth, OpenAcceptsEverything) {
  auto auth = HookAuthenticator::open();
  EXPECT_FALSE(auth.enabled());
  for (const char* h : {static_cast<const char*>(nullptr), "", "bearer x", "Bearer garbage"})
    EXPECT_EQ(auth.check(h, kNow).result, AuthResult::Ok);
}

TEST(HookAuth, CopiesShareTheKeySafely) {
  Key key = ed25519_key();
  std::string header = bearer(jwt(key.get(), R"({"scope":"admin"})"));
  HookAuthenticator copy = HookAuthenticator::open();
  {
    auto original = HookAuthenticator::with_public_key(public_pem(key.get()), "admin");
    copy = original;
    HookAuthenticator moved = std::move(original);
    EXPECT_EQ(moved.check(header.c_str(), kNow).result, AuthResult::Ok);
  }
  EXPECT_EQ(copy.check(header.c_str(), kNow).result, AuthResult::Ok);  // outlives the original
}

TEST(HookAuth, ReasonsNeverContainTheToken) {
  Key key = ed25519_key(), other = ed25519_key();
  auto auth = HookAuthenticator::with_public_key(public_pem(key.get()), "admin");
  for (const std::string& t :
       {jwt(key.get(), R"({"scope":"admin"})"), jwt(key.get(), R"({"scope":"infra-SECRET"})"),
        jwt(other.get(), R"({"scope":"admin"})"), jwt(key.get(), R"({"exp":1})"),
        jwt(key.get(), "{}", R"({"alg":"HS256-SECRET"})"), std::string("SECRET.SECRET.SECRET"),
        std::string("SECRET")}) {
    for (const std::string& h : {bearer(t), "bearer " + t}) {
      auto d = auth.check(h.c_str(), kNow);
      EXPECT_FALSE(d.reason.empty());
      EXPECT_EQ(d.reason.find(t), std::string::npos) << d.reason;
      EXPECT_EQ(d.reason.find(t.substr(0, t.find('.'))), std::string::npos) << d.reason;
      EXPECT_EQ(d.reason.find("SECRET"), std::string::npos) << d.reason;
    }
  }
}

TEST(HookAuth, MutatedTokensNeitherCrashNorPass) {
  Key key = ed25519_key();
  auto auth = HookAuthenticator::with_public_key(public_pem(key.get()), "admin");
  const std::string good = jwt(key.get(), R"({"scope":"admin","exp":1800000000})");
  ASSERT_TRUE(auth.check(bearer(good).c_str(), kNow).ok());

  std::mt19937 rng(20240601);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::string alphabet = "ABCXYZabcxyz0189-_.=+/ \x01\x7f\xc3\xa9{}\"";
  int refused = 0;
  for (int i = 0; i < 600; i++) {
    std::string t = good;
    for (int m = 0, n = 1 + static_cast<int>(pick(4)); m < n && !t.empty(); m++) {
      switch (pick(5)) {
        case 0: t[pick(t.size())] = alphabet[pick(alphabet.size())]; break;               // replace
        case 1: t.erase(pick(t.size()), 1 + pick(8)); break;                              // delete
        case 2: t.insert(pick(t.size() + 1), 1, alphabet[pick(alphabet.size())]); break;  // insert
        case 3: t.resize(pick(t.size())); break;                                // truncate
        default: t[pick(t.size())] ^= static_cast<char>(1u << pick(8)); break;  // bit flip
      }
    }
    t = t.substr(0, t.find('\0'));  // the header is a C string
    if (t == good) continue;
    auto d = auth.check(bearer(t).c_str(), kNow);
    EXPECT_FALSE(d.ok()) << t;
    EXPECT_TRUE(d.http_status() == 401 || d.http_status() == 403);
    refused++;
  }
  EXPECT_GT(refused, 500);

  // Correctly signed tokens with random claim shapes: decided without crashing, and only the
  // acceptable ones pass.
  const char* values[] = {"null",
                          "true",
                          "1e308",
                          "-1e308",
                          "18446744073709551615",
                          "-1",
                          "1800000000",
                          "\"admin\"",
                          "[\"admin\"]",
                          "[]",
                          "{}",
                          "[[\"admin\"]]",
                          "0.5",
                          "{\"a\":{\"b\":[1,2,{\"c\":null}]}}"};
  const char* names[] = {"exp", "nbf", "scope", "x"};
  for (int i = 0; i < 300; i++) {
    nlohmann::json claims = nlohmann::json::object();
    for (const char* name : names)
      if (pick(2)) claims[name] = nlohmann::json::parse(values[pick(std::size(values))]);
    auto d = auth.check(bearer(jwt(key.get(), claims.dump())).c_str(), kNow);
    bool exp_ok = !claims.contains("exp") ||
                  (claims["exp"].is_number() && claims["exp"].get<double>() >= kNow - 60);
    bool nbf_ok = !claims.contains("nbf") ||
                  (claims["nbf"].is_number() && claims["nbf"].get<double>() <= kNow + 60);
    bool scope_ok =
        claims.contains("scope") &&
        (claims["scope"] == "admin" || claims["scope"] == nlohmann::json::array({"admin"}));
    EXPECT_EQ(d.ok(), exp_ok && nbf_ok && scope_ok) << claims.dump() << " " << d.reason;
  }
}
