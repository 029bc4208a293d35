// notify-attach bodies (contract §1.2) and the shard map they render to (contract §2.2).
#include <gtest/gtest.h>

#include "control/notify_attach.hpp"

using namespace storcon;

namespace {
const char* kTenant = "1f359dd625e519a1a4e8d7509690f6fc";

NodeDirectory directory() {
  std::vector<NodeRecord> nodes;
  for (int i = 1; i <= 3; i++) {
    NodeRecord n;
    n.node_id = i;
    n.listen_pg_addr = "ps" + std::to_string(i);
    n.listen_pg_port = 6400;
    nodes.push_back(n);
  }
  NodeDirectory d;
  d.replace(nodes);
  return d;
}

int status_of(const char* body) {
  try {
    parse_attach(body);
    return 0;
  } catch (const HookError& e) {
    return e.status;
  }
}
}  // namespace

TEST(NotifyAttach, ParsesTheContractExamples) {
  auto unsharded = parse_attach(
      R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":"us-east-2a","stripe_size":null,"shards":[{"node_id":1,"shard_number":0}]})");
  EXPECT_EQ(unsharded.tenant_id, kTenant);
  EXPECT_FALSE(unsharded.stripe_size.has_value());
  EXPECT_EQ(unsharded.node_by_shard, std::vector<int64_t>({1}));
  auto four = parse_attach(
      R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":2048,"shards":[{"node_id":1,"shard_number":0},{"node_id":2,"shard_number":1},{"node_id":1,"shard_number":2},{"node_id":3,"shard_number":3}]})");
  EXPECT_EQ(*four.stripe_size, 2048);
  EXPECT_EQ(four.node_by_shard, std::vector<int64_t>({1, 2, 1, 3}));
  EXPECT_FALSE(four.preferred_az.has_value());
}

TEST(NotifyAttach, ShardOrderInTheBodyDoesNotMatter) {
  auto r = parse_attach(
      R"({"tenant_id":"1F359DD625E519A1A4E8D7509690F6FC","preferred_az":null,"stripe_size":8,"shards":[{"node_id":3,"shard_number":1},{"node_id":2,"shard_number":0}]})");
  EXPECT_EQ(r.node_by_shard, std::vector<int64_t>({2, 3}));
  EXPECT_EQ(r.tenant_id, kTenant);  // lower-cased
}

TEST(NotifyAttach, RejectsInvalidBodiesWith400) {
  EXPECT_EQ(status_of("{"), 400);
  EXPECT_EQ(status_of("[]"), 400);
  EXPECT_EQ(status_of(R"({"tenant_id":"xyz","stripe_size":null,"shards":[{"node_id":1,"shard_number":0}]})"), 400);
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","stripe_size":null,"shards":[]})"), 400);
  // duplicate shard number, gap, out of range
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","stripe_size":8,"shards":[{"node_id":1,"shard_number":0},{"node_id":2,"shard_number":0}]})"), 400);
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","stripe_size":8,"shards":[{"node_id":1,"shard_number":0},{"node_id":2,"shard_number":2}]})"), 400);
  // wrong types
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","stripe_size":null,"shards":[{"node_id":"1","shard_number":0}]})"), 400);
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","stripe_size":"8","shards":[{"node_id":1,"shard_number":0},{"node_id":1,"shard_number":1}]})"), 400);
  // stripe size rules: null for one shard, a positive integer for several
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","stripe_size":8,"shards":[{"node_id":1,"shard_number":0}]})"), 400);
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","stripe_size":null,"shards":[{"node_id":1,"shard_number":0},{"node_id":1,"shard_number":1}]})"), 400);
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","stripe_size":0,"shards":[{"node_id":1,"shard_number":0},{"node_id":1,"shard_number":1}]})"), 400);
}

TEST(NotifyAttach, AtMost128Shards) {
  auto body = [](int n) {
    nlohmann::json j = {{"tenant_id", kTenant}, {"preferred_az", nullptr}, {"stripe_size", 8}};
    for (int i = 0; i < n; i++) j["shards"].push_back({{"node_id", 1}, {"shard_number", i}});
    return j.dump();
  };
  EXPECT_EQ(parse_attach(body(128)).node_by_shard.size(), 128u);
  EXPECT_EQ(status_of(body(129).c_str()), 400);
}

TEST(NotifyAttach, RendersStripeAndConnstringInShardOrder) {
  auto dir = directory();
  auto req = parse_attach(
      R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":2048,"shards":[{"node_id":2,"shard_number":1},{"node_id":1,"shard_number":0}]})");
  auto s = render_attach(req, dir);
  EXPECT_EQ(*s.stripe_size, "2048");
  EXPECT_EQ(s.pageserver_connstring, "postgres://no_user@ps1:6400,postgres://no_user@ps2:6400");
  EXPECT_EQ(s.shard_count, 2u);
}

TEST(NotifyAttach, UnshardedHasNoStripe) {
  auto dir = directory();
  auto s = render_attach(parse_attach(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":null,"shards":[{"node_id":3,"shard_number":0}]})"), dir);
  EXPECT_FALSE(s.stripe_size.has_value());
  EXPECT_EQ(s.pageserver_connstring, "postgres://no_user@ps3:6400");
}

TEST(NotifyAttach, MissingNodesAreListedOnce) {
  auto dir = directory();
  auto req = parse_attach(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":8,"shards":[{"node_id":9,"shard_number":0},{"node_id":1,"shard_number":1},{"node_id":9,"shard_number":2},{"node_id":5,"shard_number":3}]})");
  EXPECT_EQ(dir.missing(req.node_by_shard), std::vector<int64_t>({5, 9}));
  try {
    render_attach(req, dir);
    FAIL();
  } catch (const HookError& e) {
    EXPECT_EQ(e.status, 503);
  }
}

TEST(NotifyAttach, HostsThatCouldCorruptTheShardMapAreRefused) {
  EXPECT_TRUE(valid_host("ps-1.internal"));
  EXPECT_TRUE(valid_host("10.0.0.1"));
  EXPECT_TRUE(valid_host("::1"));
  EXPECT_TRUE(valid_host("fd00::2"));
  for (const char* bad : {"", "a,b", "a'b", "a b", "a@b", "a/b", "a\nb", "-a", "a..b", "[::1]", "a:1", ".", ".."})
    EXPECT_FALSE(valid_host(bad)) << bad;

  std::vector<NodeRecord> nodes(1);
  nodes[0].node_id = 1;
  nodes[0].listen_pg_port = 6400;
  nodes[0].listen_pg_addr = "evil,postgres://x";
  NodeDirectory dir;
  dir.replace(nodes);
  auto req = parse_attach(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":null,"shards":[{"node_id":1,"shard_number":0}]})");
  EXPECT_THROW(render_attach(req, dir), HookError);

  nodes[0].listen_pg_addr = "::1";
  dir.replace(nodes);
  EXPECT_EQ(render_attach(req, dir).pageserver_connstring, "postgres://no_user@[::1]:6400");
}

TEST(NotifyAttach, EntriesOf256BytesAreRefused) {
  std::vector<NodeRecord> nodes(1);
  nodes[0].node_id = 1;
  nodes[0].listen_pg_port = 6400;
  auto req = parse_attach(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":null,"shards":[{"node_id":1,"shard_number":0}]})");
  const size_t fixed = std::string("postgres://no_user@:6400").size();
  auto host_of = [](size_t len) {  // dotted labels of at most 63 characters
    std::string h;
    while (h.size() < len) h += (h.size() % 60 == 59) ? '.' : 'a';
    h.back() = 'a';
    return h;
  };
  NodeDirectory dir;
  nodes[0].listen_pg_addr = host_of(255 - fixed);
  dir.replace(nodes);
  EXPECT_EQ(render_attach(req, dir).pageserver_connstring.size(), 255u);
  nodes[0].listen_pg_addr = host_of(256 - fixed);
  dir.replace(nodes);
  EXPECT_THROW(render_attach(req, dir), HookError);
}

namespace {
// The HookError message of parse_attach, "" when the body is accepted.
std::string message_of(const std::string& body) {
  try {
    parse_attach(body);
    return "";
  } catch (const HookError& e) {
    EXPECT_EQ(e.status, 400) << body;
    return e.what();
  }
}

// An unsharded body for kTenant (shard 0 on node 1), `extra` appended inside the object.
std::string one_shard(const std::string& extra = "") {
  return std::string(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":null,)") +
         R"("shards":[{"node_id":1,"shard_number":0}])" + extra + "}";
}

// A two-shard body with the given raw JSON for stripe_size, node_id and shard_number of shard 1.
std::string two_shards(const std::string& stripe, const std::string& node = "2", const std::string& number = "1") {
  return std::string(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":)") +
         stripe + R"(,"shards":[{"node_id":1,"shard_number":0},{"node_id":)" + node + R"(,"shard_number":)" +
         number + "}]}";
}
}  // namespace

TEST(NotifyAttach, RefusesDuplicateKeysThatCouldChangeTheMeaning) {
  EXPECT_EQ(message_of(one_shard()), "");
  // A second "shards" would silently move the tenant to node 2 with plain parsing.
  EXPECT_EQ(message_of(one_shard(R"(,"shards":[{"node_id":2,"shard_number":0}])")), "duplicate key \"shards\"");
  EXPECT_EQ(message_of(one_shard(R"(,"tenant_id":"00000000000000000000000000000000")")),
            "duplicate key \"tenant_id\"");
  EXPECT_EQ(message_of(one_shard(R"(,"stripe_size":null)")), "duplicate key \"stripe_size\"");
  EXPECT_EQ(message_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":null,"shards":[{"node_id":1,"shard_number":0,"node_id":2}]})"),
            "duplicate key \"node_id\"");
  // Fields the hook ignores are held to the same rule.
  EXPECT_EQ(message_of(one_shard(R"(,"preferred_az":"x")")), "duplicate key \"preferred_az\"");
  EXPECT_EQ(message_of(one_shard(R"(,"extra":{"k":1,"k":2})")), "duplicate key \"k\"");
}

TEST(NotifyAttach, RefusesDeepNesting) {
  EXPECT_EQ(message_of(one_shard(R"(,"extra":[[[[[[1]]]]]])")), "");  // depth 7 in all
  EXPECT_EQ(message_of(one_shard(R"(,"extra":[[[[[[[[1]]]]]]]])")), "JSON nested deeper than 8 levels");
  std::string deep;
  for (int i = 0; i < 9; i++) deep += R"({"a":)";
  EXPECT_EQ(message_of(deep + "1" + std::string(9, '}')), "JSON nested deeper than 8 levels");
  EXPECT_EQ(message_of("{\"a\":1"), "request body is not valid JSON");
  EXPECT_EQ(message_of("\"x\""), "request body must be a JSON object");
}

TEST(NotifyAttach, RefusesTenantIdsOfTheWrongShape) {
  for (const char* tenant : {"", "1f359dd625e519a1a4e8d7509690f6f", "1f359dd625e519a1a4e8d7509690f6fc0",
                             "1f359dd625e519a1a4e8d7509690f6fg", " 1f359dd625e519a1a4e8d7509690f6f",
                             "0x1f359dd625e519a1a4e8d7509690f6", "1f359dd625e519a1-4e8d7509690f6fc"}) {
    std::string body = one_shard();
    body.replace(body.find("1f359dd625e519a1a4e8d7509690f6fc"), 32, tenant);
    EXPECT_EQ(message_of(body), "tenant_id must be 32 hexadecimal characters") << tenant;
  }
  std::string nul = one_shard();
  nul.replace(nul.find("1f359dd625e519a1a4e8d7509690f6fc") + 31, 1, "\\u0000");
  EXPECT_EQ(message_of(nul), "a string holds \\u0000 (NUL)");  // refused by the parser, in any string
  std::string as_number = one_shard();
  as_number.replace(as_number.find("\"1f359dd625e519a1a4e8d7509690f6fc\""), 34, "1");
  EXPECT_EQ(message_of(as_number), "field \"tenant_id\" must be a string");
}

TEST(NotifyAttach, RefusesNumbersOutOfRange) {
  EXPECT_EQ(message_of(two_shards("2147483647")), "");  // neon.stripe_size is an int
  EXPECT_EQ(message_of(two_shards("1")), "");
  for (const char* stripe : {"2147483648", "-8", "0", "9223372036854775808"})
    EXPECT_EQ(message_of(two_shards(stripe)), "field \"stripe_size\" is out of range") << stripe;
  for (const char* stripe : {"8.0", "1e3", "18446744073709551616", "true", "\"8\"", "[8]", "{}"})
    EXPECT_NE(message_of(two_shards(stripe)), "") << stripe;

  EXPECT_EQ(message_of(two_shards("8", "9223372036854775807")), "");
  for (const char* node : {"-1", "9223372036854775808", "18446744073709551615"})
    EXPECT_EQ(message_of(two_shards("8", node)), "field \"node_id\" is out of range") << node;
  for (const char* node : {"1.5", "-9223372036854775809", "null", "\"2\""})
    EXPECT_NE(message_of(two_shards("8", node)), "") << node;

  EXPECT_EQ(message_of(two_shards("8", "2", "-1")), "field \"shard_number\" is out of range");
  EXPECT_EQ(message_of(two_shards("8", "2", "256")), "field \"shard_number\" is out of range");
  EXPECT_EQ(message_of(two_shards("8", "2", "2")), "shard_number 2 is out of range for 2 shards");
  EXPECT_EQ(message_of(two_shards("8", "2", "1.0")), "field \"shard_number\" must be an integer");
}

TEST(NotifyAttach, RefusesEveryCharacterThatCouldBreakTheConnstring) {
  const std::vector<std::string> bad = {"a\"b", "a\tb", std::string("a\0b", 3), "a\\b", "a\x7f", "a\rb",
                                        "caf\xc3\xa9", "a=b", "a?b", "a#b", "a%b", "a;b", "fe80::1%eth0",
                                        "[fd00::1]:5", ".a", "a..", std::string(254, 'a')};
  for (const auto& host : bad) EXPECT_FALSE(valid_host(host)) << host;
  EXPECT_TRUE(valid_host(std::string(63, 'a') + "." + std::string(63, 'b')));
  EXPECT_TRUE(valid_host("ps_1"));  // underscores: Docker and Kubernetes service names
  // What storcon stores and a connstring carries safely: an absolute FQDN, long labels.
  EXPECT_TRUE(valid_host("ps1.example.com."));
  EXPECT_TRUE(valid_host(std::string(70, 'a') + ".example"));
  EXPECT_TRUE(valid_host(std::string(253, 'a') + "."));
  EXPECT_TRUE(valid_host("a-"));
}

TEST(NotifyAttach, AnIpv6LiteralFollowedByANulByteIsRefused) {
  // inet_pton reads up to the NUL: the bytes after it (a JSON "\u0000" in storcon's node record)
  // would reach the connstring and postgresql.auto.conf, newline included.
  const char raw[] = "::1\0\nshared_preload_libraries=x\n#";
  const std::string evil(raw, sizeof raw - 1);
  EXPECT_FALSE(valid_host(evil));
  EXPECT_FALSE(valid_host(std::string("::1\0", 4)));
  std::vector<NodeRecord> nodes(1);
  nodes[0].node_id = 1;
  nodes[0].listen_pg_addr = evil;
  nodes[0].listen_pg_port = 6400;
  NodeDirectory dir;
  dir.replace(nodes);
  try {
    render_attach(parse_attach(one_shard()), dir);
    FAIL() << "a host with a NUL byte was rendered";
  } catch (const HookError& e) {
    EXPECT_EQ(e.status, 503);
  }
}

TEST(NotifyAttach, RefusesPortsOutsideOneTo65535With503) {
  auto req = parse_attach(one_shard());
  auto render_port = [&](int32_t port) {
    std::vector<NodeRecord> nodes(1);
    nodes[0].node_id = 1;
    nodes[0].listen_pg_addr = "ps1";
    nodes[0].listen_pg_port = port;
    NodeDirectory dir;
    dir.replace(nodes);
    try {
      return render_attach(req, dir).pageserver_connstring;
    } catch (const HookError& e) {
      EXPECT_EQ(e.status, 503);
      return std::string("refused");
    }
  };
  EXPECT_EQ(render_port(1), "postgres://no_user@ps1:1");
  EXPECT_EQ(render_port(65535), "postgres://no_user@ps1:65535");
  for (int32_t port : {0, -1, 65536, INT32_MIN, INT32_MAX}) EXPECT_EQ(render_port(port), "refused") << port;
}
