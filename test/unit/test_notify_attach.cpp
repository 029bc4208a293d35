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
  EXPECT_EQ(missing_nodes(req, dir), std::vector<int64_t>({5, 9}));
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
  for (const char* bad : {"", "a,b", "a'b", "a b", "a@b", "a/b", "a\nb", "-a", "a-", "a..b", "[::1]", "a:1"})
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
