// storcon's tenant describe decoded into a placement, whether it is settled (only then may a
// compute act on it), and the config-file updates built from it (control/placement.hpp).
#include <gtest/gtest.h>

#include "control/placement.hpp"
#include "control/json_fields.hpp"

using namespace storcon;

namespace {

const std::string kTenant = "1f359dd625e519a1a4e8d7509690f6fc";

nlohmann::json shard(const std::string& id, std::optional<int64_t> node) {
  return {{"tenant_shard_id", id},
          {"node_attached", node ? nlohmann::json(*node) : nlohmann::json(nullptr)},
          {"node_secondary", nlohmann::json::array()},
          {"last_error", ""},
          {"is_reconciling", false},
          {"is_pending_compute_notification", false},
          {"is_splitting", false},
          {"is_importing", false},
          {"scheduling_policy", "Active"},
          {"preferred_az_id", "az-1"}};
}

nlohmann::json describe(std::vector<nlohmann::json> shards, nlohmann::json policy = {{"Attached", 1}},
                        int stripe = 2048) {
  return {{"tenant_id", kTenant},
          {"shards", shards},
          {"stripe_size", stripe},
          {"policy", policy},
          {"config", nlohmann::json::object()}};
}

std::string sid(int number, int count) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02x%02x", number, count);
  return kTenant + "-" + buf;
}

NodeDirectory nodes() {
  std::vector<NodeRecord> list;
  for (int i = 1; i <= 3; i++) {
    NodeRecord n;
    n.node_id = i;
    n.listen_pg_addr = "ps" + std::to_string(i) + ".internal";
    n.listen_pg_port = 6400;
    if (i == 3) {
      n.listen_grpc_addr = "ps3.internal";
      n.listen_grpc_port = 51051;
    }
    list.push_back(n);
  }
  list[1].listen_pg_addr = "fd00::2";  // an IPv6 literal gets brackets in a URI
  NodeDirectory dir;
  dir.replace(list);
  return dir;
}

SafekeeperDirectory safekeepers() {
  std::vector<SafekeeperRecord> list;
  for (int i = 1; i <= 5; i++) {
    SafekeeperRecord s;
    s.id = i;
    s.host = "sk" + std::to_string(i);
    s.port = 5454;
    list.push_back(s);
  }
  SafekeeperDirectory dir;
  dir.replace(list);
  return dir;
}

}  // namespace

TEST(Placement, UnshardedAttachedTenantIsSettled) {
  TenantPlacement p = decode_tenant_placement(describe({shard(kTenant, 2)}));
  EXPECT_EQ(p.tenant_id, kTenant);
  EXPECT_EQ(p.policy, PlacementPolicy::Attached);
  EXPECT_EQ(p.secondaries, 1);
  EXPECT_EQ(policy_text(p), "Attached(1)");
  EXPECT_TRUE(p.settled) << p.unsettled_reason;
  EXPECT_EQ(p.shard_count, 0);
  EXPECT_EQ(p.stripe_size, 2048u);
  ASSERT_EQ(p.node_by_shard.size(), 1u);
  EXPECT_EQ(p.node_by_shard[0], 2);
}

TEST(Placement, ShardedTenantInAnyOrder) {
  TenantPlacement p = decode_tenant_placement(
      describe({shard(sid(2, 4), 3), shard(sid(0, 4), 1), shard(sid(3, 4), 1), shard(sid(1, 4), 2)},
               {{"Attached", 0}}, 32768));
  EXPECT_TRUE(p.settled) << p.unsettled_reason;
  EXPECT_EQ(p.shard_count, 4);
  EXPECT_EQ(p.stripe_size, 32768u);
  EXPECT_EQ(p.node_by_shard, (std::vector<std::optional<int64_t>>{1, 2, 3, 1}));
  AttachRequest req = attach_request_of(p);
  EXPECT_EQ(req.node_by_shard, (std::vector<int64_t>{1, 2, 3, 1}));
  EXPECT_EQ(req.stripe_size, 32768);
}

TEST(Placement, OneShardTenantKeepsItsLiteralCount) {
  TenantPlacement p = decode_tenant_placement(describe({shard(sid(0, 1), 1)}));
  EXPECT_TRUE(p.settled);
  EXPECT_EQ(p.shard_count, 1);
  EXPECT_FALSE(attach_request_of(p).stripe_size.has_value());  // unsharded: no stripe in a notify-attach
}

TEST(Placement, EachFlagMakesTheTenantUnsettled) {
  for (const char* flag :
       {"is_reconciling", "is_pending_compute_notification", "is_splitting", "is_importing"}) {
    auto s1 = shard(sid(1, 2), 2);
    s1[flag] = true;
    TenantPlacement p = decode_tenant_placement(describe({shard(sid(0, 2), 1), s1}));
    EXPECT_FALSE(p.settled) << flag;
    EXPECT_NE(p.unsettled_reason.find(sid(1, 2)), std::string::npos) << p.unsettled_reason;
    EXPECT_THROW(attach_request_of(p), DecodeError) << flag;
  }
  auto pending = shard(kTenant, 1);
  pending["is_pending_compute_notification"] = true;
  EXPECT_EQ(decode_tenant_placement(describe({pending})).unsettled_reason,
            "shard " + kTenant + " has a compute notification pending");
}

TEST(Placement, SplitInProgressIsUnsettled) {
  // storcon lists parents and children while a split runs.
  TenantPlacement p =
      decode_tenant_placement(describe({shard(sid(0, 1), 1), shard(sid(0, 2), 1), shard(sid(1, 2), 1)}));
  EXPECT_FALSE(p.settled);
  EXPECT_NE(p.unsettled_reason.find("split"), std::string::npos);
}

TEST(Placement, MissingShardsOrAttachmentsAreUnsettled) {
  TenantPlacement p = decode_tenant_placement(describe({shard(sid(0, 2), 1)}));
  EXPECT_FALSE(p.settled);
  EXPECT_EQ(p.unsettled_reason, "storcon lists 1 of 2 shards");
  p = decode_tenant_placement(describe({shard(sid(0, 2), 1), shard(sid(1, 2), std::nullopt)}));
  EXPECT_FALSE(p.settled);
  EXPECT_EQ(p.unsettled_reason, "shard 1 has no attached pageserver");
  p = decode_tenant_placement(describe({}));
  EXPECT_FALSE(p.settled);
}

TEST(Placement, SecondaryAndDetachedAreNotAttached) {
  TenantPlacement s = decode_tenant_placement(describe({shard(kTenant, std::nullopt)}, "Secondary"));
  EXPECT_EQ(s.policy, PlacementPolicy::Secondary);
  EXPECT_TRUE(s.settled);  // nothing moving, but nothing to start from either
  EXPECT_THROW(attach_request_of(s), DecodeError);
  TenantPlacement d = decode_tenant_placement(describe({shard(kTenant, std::nullopt)}, "Detached"));
  EXPECT_EQ(policy_text(d), "Detached");
  try {
    attach_request_of(d);
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("is Detached"), std::string::npos);
  }
}

TEST(Placement, MalformedDescribesAreErrors) {
  EXPECT_THROW(decode_tenant_placement(nlohmann::json::array()), DecodeError);
  auto d = describe({shard(kTenant, 1)});
  d["policy"] = {{"Attached", "one"}};
  EXPECT_THROW(decode_tenant_placement(d), DecodeError);
  d = describe({shard(kTenant, 1)});
  d["policy"] = "Sideways";
  EXPECT_THROW(decode_tenant_placement(d), DecodeError);
  d = describe({shard("00000000000000000000000000000001", 1)});  // another tenant's shard
  EXPECT_THROW(decode_tenant_placement(d), DecodeError);
  d = describe({shard(sid(2, 2), 1)});  // number outside the count
  EXPECT_THROW(decode_tenant_placement(d), DecodeError);
  d = describe({shard(kTenant + "-zz01", 1)});
  EXPECT_THROW(decode_tenant_placement(d), DecodeError);
  d = describe({shard(sid(0, 2), 1), shard(sid(0, 2), 2)});
  EXPECT_THROW(decode_tenant_placement(d), DecodeError);  // listed twice
  d = describe({shard(kTenant, 1)});
  d["shards"][0].erase("is_reconciling");
  EXPECT_THROW(decode_tenant_placement(d), DecodeError);
  d = describe({shard(kTenant, 1)});
  d["shards"][0].erase("is_importing");  // older storcon: absent means not importing
  EXPECT_TRUE(decode_tenant_placement(d).settled);
  d = describe({shard(kTenant, 1)});
  d["stripe_size"] = -1;
  EXPECT_THROW(decode_tenant_placement(d), DecodeError);
}

TEST(Placement, ShardMapUpdateRendersLikeTheHook) {
  TenantPlacement p =
      decode_tenant_placement(describe({shard(sid(0, 2), 3), shard(sid(1, 2), 2)}, {{"Attached", 1}}, 4096));
  ShardMapUpdate m = shard_map_update(p, nodes());
  ASSERT_EQ(m.shards.size(), 2u);
  EXPECT_EQ(m.shards[0].node_id, 3);
  EXPECT_EQ(m.shards[0].libpq_url, "postgres://no_user@ps3.internal:6400");
  EXPECT_EQ(m.shards[0].grpc_url, "grpc://no_user@ps3.internal:51051");
  EXPECT_EQ(m.shards[1].libpq_url, "postgres://no_user@[fd00::2]:6400");
  EXPECT_FALSE(m.shards[1].grpc_url.has_value());
  EXPECT_EQ(m.stripe_size, 4096u);
  EXPECT_EQ(m.shard_count, 2);
  // The hook's own rendering of the same map: the connstrings agree byte for byte.
  ShardMapSettings hook = render_attach(attach_request_of(p), nodes());
  EXPECT_EQ(render_pageserver_connstring(m), hook.pageserver_connstring);

  // From a notify-attach: no literal count.
  AttachRequest req =
      parse_attach(R"({"tenant_id":")" + kTenant +
                   R"(","preferred_az":null,"stripe_size":null,"shards":[{"node_id":1,"shard_number":0}]})");
  ShardMapUpdate from_hook = shard_map_update(req, nodes());
  EXPECT_FALSE(from_hook.shard_count.has_value());
  EXPECT_FALSE(from_hook.stripe_size.has_value());
  EXPECT_EQ(from_hook.shards[0].libpq_url, "postgres://no_user@ps1.internal:6400");

  // An unknown node: the hook's 503.
  TenantPlacement unknown = decode_tenant_placement(describe({shard(kTenant, 9)}));
  EXPECT_THROW(shard_map_update(unknown, nodes()), HookError);
}

TEST(Placement, SafekeeperSetFromTimelineLocate) {
  auto locate = nlohmann::json::parse(R"({"generation": 4, "sk_set": [1, 2, 3], "new_sk_set": [2, 3, 4]})");
  SafekeeperSetUpdate u = safekeeper_set_update(locate, safekeepers());
  EXPECT_EQ(u.generation, 4u);
  EXPECT_EQ(u.entries, (std::vector<std::string>{"sk1:5454", "sk2:5454", "sk3:5454", "sk4:5454"}));
  locate = nlohmann::json::parse(R"({"generation": 5, "sk_set": [2, 3, 4], "new_sk_set": null})");
  u = safekeeper_set_update(locate, safekeepers());
  EXPECT_EQ(u.entries, (std::vector<std::string>{"sk2:5454", "sk3:5454", "sk4:5454"}));

  EXPECT_THROW(
      safekeeper_set_update(nlohmann::json::parse(R"({"generation": 1, "sk_set": [9]})"), safekeepers()),
      HookError);  // unknown id
  EXPECT_THROW(
      safekeeper_set_update(nlohmann::json::parse(R"({"generation": 1, "sk_set": []})"), safekeepers()),
      DecodeError);
  EXPECT_THROW(safekeeper_set_update(nlohmann::json::parse(R"({"generation": 1})"), safekeepers()),
               DecodeError);
  EXPECT_THROW(
      safekeeper_set_update(nlohmann::json::parse(R"({"generation": 1, "sk_set": ["1"]})"), safekeepers()),
      DecodeError);

  SafekeepersRequest req;
  req.generation = 6;
  req.ids = {5, 1};
  u = safekeeper_set_update(req, safekeepers());
  EXPECT_EQ(u.generation, 6u);
  EXPECT_EQ(u.entries, (std::vector<std::string>{"sk5:5454", "sk1:5454"}));
}
