// The hook's decisions with a fake environment: routing under any prefix, the tenant filter,
// refresh-once on an unknown node, no-op detection, and the stripe-before-connstring order.
#include <gtest/gtest.h>

#include "control/auto_conf.hpp"
#include "control/hook.hpp"

using namespace storcon;

namespace {
const char* kTenant = "1f359dd625e519a1a4e8d7509690f6fc";

NodeRecord node(int64_t id, const std::string& host) {
  NodeRecord n;
  n.node_id = id;
  n.listen_pg_addr = host;
  n.listen_pg_port = 6400;
  return n;
}

class FakeEnv : public HookEnv {
 public:
  InEffect now;
  NodeDirectory dir;
  SafekeeperDirectory sks;
  std::vector<NodeRecord> storcon_nodes;  // what a refresh finds
  std::vector<SafekeeperRecord> storcon_sks;
  bool storcon_down = false;
  int refreshes = 0;

  InEffect in_effect() override { return now; }
  const NodeDirectory& directory() override { return dir; }
  const SafekeeperDirectory& safekeeper_directory() override { return sks; }
  bool refresh_catalog() override {
    refreshes++;
    if (storcon_down) throw std::runtime_error("connection refused");
    dir.replace(storcon_nodes);
    sks.replace(storcon_sks);
    return true;
  }
};

std::string attach_body(const std::string& tenant, std::vector<int64_t> nodes, int stripe = 2048) {
  nlohmann::json j = {{"tenant_id", tenant}, {"preferred_az", nullptr}};
  j["stripe_size"] = nodes.size() > 1 ? nlohmann::json(stripe) : nlohmann::json(nullptr);
  for (size_t i = 0; i < nodes.size(); i++) j["shards"].push_back({{"node_id", nodes[i]}, {"shard_number", i}});
  return j.dump();
}
}  // namespace

TEST(Hook, EndpointsUnderAnyPrefix) {
  EXPECT_EQ(match_endpoint("/notify-attach"), Endpoint::NotifyAttach);
  EXPECT_EQ(match_endpoint("/api/v1/notify-attach"), Endpoint::NotifyAttach);
  EXPECT_EQ(match_endpoint("/x/notify-safekeepers"), Endpoint::NotifySafekeepers);
  EXPECT_EQ(match_endpoint("/healthz"), Endpoint::Healthz);
  EXPECT_EQ(match_endpoint("/status"), Endpoint::Status);
  EXPECT_EQ(match_endpoint("/notify-attach/x"), Endpoint::NotFound);
  EXPECT_EQ(match_endpoint("/notify-attachx"), Endpoint::NotFound);
  EXPECT_STREQ(endpoint_method(Endpoint::NotifyAttach), "PUT");
  EXPECT_STREQ(endpoint_method(Endpoint::Status), "GET");
}

TEST(Hook, ForeignTenantIsAnsweredWithoutChange) {
  FakeEnv env;
  env.now.tenant_id = "00000000000000000000000000000000";
  auto plan = plan_attach(attach_body(kTenant, {1}), env);
  ASSERT_TRUE(plan.reply.has_value());
  EXPECT_EQ(plan.reply->status, 200);
  EXPECT_EQ(plan.outcome, "not_hosted");
  EXPECT_EQ(env.refreshes, 0);
}

TEST(Hook, NoTenantConfiguredAcceptsAnyTenant) {
  FakeEnv env;
  env.dir.replace({node(1, "ps1")});
  auto plan = plan_attach(attach_body(kTenant, {1}), env);
  EXPECT_FALSE(plan.reply.has_value());
  EXPECT_EQ(plan.outcome, "apply");
}

TEST(Hook, UnknownNodeRefreshesOnceThenApplies) {
  FakeEnv env;
  env.now.tenant_id = kTenant;
  env.dir.replace({node(1, "ps1")});
  env.storcon_nodes = {node(1, "ps1"), node(2, "ps2")};
  auto plan = plan_attach(attach_body(kTenant, {1, 2}), env);
  EXPECT_EQ(env.refreshes, 1);
  ASSERT_FALSE(plan.reply.has_value());
  ASSERT_EQ(plan.settings.size(), 2u);
  EXPECT_EQ(plan.settings[0], (ConfEntry{"neon.stripe_size", "2048"}));
  EXPECT_EQ(plan.settings[1], (ConfEntry{"neon.pageserver_connstring",
                                         "postgres://no_user@ps1:6400,postgres://no_user@ps2:6400"}));
}

TEST(Hook, NodeUnknownToStorconIs503) {
  FakeEnv env;
  env.storcon_nodes = {node(1, "ps1")};
  auto plan = plan_attach(attach_body(kTenant, {1, 7}), env);
  ASSERT_TRUE(plan.reply.has_value());
  EXPECT_EQ(plan.reply->status, 503);
  EXPECT_NE(plan.reply->body["msg"].get<std::string>().find("7"), std::string::npos);
  EXPECT_EQ(env.refreshes, 1);
}

TEST(Hook, StorconDownDuringRefreshIs503) {
  FakeEnv env;
  env.storcon_down = true;
  auto plan = plan_attach(attach_body(kTenant, {1}), env);
  ASSERT_TRUE(plan.reply.has_value());
  EXPECT_EQ(plan.reply->status, 503);
  EXPECT_NE(plan.reply->body["msg"].get<std::string>().find("connection refused"), std::string::npos);
}

TEST(Hook, SameShardMapIsANoOp) {
  FakeEnv env;
  env.dir.replace({node(1, "ps1"), node(2, "ps2")});
  env.now.pageserver_connstring = "postgres://no_user@ps1:6400,postgres://no_user@ps2:6400";
  env.now.stripe_size = 2048;
  auto plan = plan_attach(attach_body(kTenant, {1, 2}), env);
  ASSERT_TRUE(plan.reply.has_value());
  EXPECT_EQ(plan.outcome, "unchanged");
  EXPECT_EQ(plan.reply->status, 200);
  // A different stripe size with the same nodes is a change.
  auto plan2 = plan_attach(attach_body(kTenant, {1, 2}, 4096), env);
  EXPECT_FALSE(plan2.reply.has_value());
  EXPECT_EQ(plan2.settings[0].value, "4096");
}

TEST(Hook, UnshardedWritesOnlyTheConnstring) {
  FakeEnv env;
  env.dir.replace({node(1, "ps1")});
  auto plan = plan_attach(attach_body(kTenant, {1}), env);
  ASSERT_EQ(plan.settings.size(), 1u);
  EXPECT_EQ(plan.settings[0].name, "neon.pageserver_connstring");
}

TEST(Hook, MalformedBodyIs400) {
  FakeEnv env;
  auto plan = plan_attach("{\"tenant_id\":1}", env);
  ASSERT_TRUE(plan.reply.has_value());
  EXPECT_EQ(plan.reply->status, 400);
  EXPECT_EQ(plan.reply->body["msg"], "field \"tenant_id\" must be a string");
}

TEST(Hook, StatusJsonCarriesCountersAndLastNotification) {
  HookStats stats;
  stats.count(Endpoint::NotifyAttach, 200);
  stats.count(Endpoint::NotifyAttach, 200);
  stats.count(Endpoint::Healthz, 200);
  stats.record_notification(kTenant, 200, "applied", "");
  InEffect now;
  now.tenant_id = kTenant;
  now.stripe_size = 8;
  auto j = status_json("127.0.0.1:3000", now, stats, 0, false);
  EXPECT_EQ(j["requests"]["notify-attach"]["200"], 2);
  EXPECT_EQ(j["outcomes"]["applied"], 1);
  EXPECT_EQ(j["last_notification"]["tenant_id"], kTenant);
  EXPECT_EQ(j["in_effect"]["stripe_size"], 8);
  EXPECT_TRUE(j["timeline_id"].is_null());
}

TEST(AutoConf, AlterSystemSemanticsKeepBatchOrder) {
  std::vector<ConfEntry> file = {{"neon.pageserver_connstring", "old"}, {"work_mem", "8MB"}, {"neon.stripe_size", "8"}};
  auto next = edit_auto_conf(file, {{"neon.stripe_size", "16"}, {"neon.pageserver_connstring", "new"}});
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next[0], (ConfEntry{"work_mem", "8MB"}));
  EXPECT_EQ(next[1], (ConfEntry{"neon.stripe_size", "16"}));
  EXPECT_EQ(next[2], (ConfEntry{"neon.pageserver_connstring", "new"}));
  auto removed = edit_auto_conf(next, {}, {"NEON.STRIPE_SIZE"});
  EXPECT_FALSE(find_setting(removed, "neon.stripe_size").has_value());
  EXPECT_EQ(*find_setting(removed, "neon.pageserver_connstring"), "new");
}

TEST(AutoConf, RendersLikeAlterSystem) {
  EXPECT_EQ(render_auto_conf({{"a.b", "it's a \\ test"}}),
            "# Do not edit this file manually!\n"
            "# It will be overwritten by the ALTER SYSTEM command.\n"
            "a.b = 'it''s a \\\\ test'\n");
}

TEST(AutoConf, LastOccurrenceWins) {
  EXPECT_EQ(*find_setting({{"x", "1"}, {"X", "2"}}, "x"), "2");
}

namespace {
const char* kTimeline = "de200bd42b49cc1814412c7e592dd6e9";

SafekeeperRecord sk(int64_t id) {
  SafekeeperRecord s;
  s.id = id;
  s.host = "sk" + std::to_string(id);
  s.port = 5454;
  return s;
}

std::string sk_body(uint32_t generation, std::vector<int64_t> ids, const std::string& timeline = kTimeline) {
  nlohmann::json j = {{"tenant_id", kTenant}, {"timeline_id", timeline}, {"generation", generation}};
  j["safekeepers"] = nlohmann::json::array();
  for (auto id : ids) j["safekeepers"].push_back({{"id", id}, {"hostname", "sk" + std::to_string(id)}});
  return j.dump();
}
}  // namespace

TEST(HookSafekeepers, UnknownIdsRefreshOnceThenApply) {
  FakeEnv env;
  env.now.tenant_id = kTenant;
  env.now.timeline_id = kTimeline;
  env.now.safekeepers = "g#1:sk1:5454,sk2:5454,sk3:5454";
  env.storcon_sks = {sk(1), sk(2), sk(3), sk(4)};
  auto plan = plan_safekeepers(sk_body(2, {1, 2, 3, 4}), env);
  EXPECT_EQ(env.refreshes, 1);
  ASSERT_FALSE(plan.reply.has_value());
  ASSERT_EQ(plan.settings.size(), 1u);
  EXPECT_EQ(plan.settings[0], (ConfEntry{"neon.safekeepers", "g#2:sk1:5454,sk2:5454,sk3:5454,sk4:5454"}));
  EXPECT_EQ(plan.applied.body["status"], "applied");
}

TEST(HookSafekeepers, StaleNotHostedReplicaAndUnchangedChangeNothing) {
  FakeEnv env;
  env.now.tenant_id = kTenant;
  env.now.timeline_id = kTimeline;
  env.now.safekeepers = "g#3:sk2:5454,sk3:5454,sk4:5454";
  env.sks.replace({sk(1), sk(2), sk(3), sk(4)});
  EXPECT_EQ(plan_safekeepers(sk_body(2, {1, 2, 3, 4}), env).outcome, "stale");
  EXPECT_EQ(plan_safekeepers(sk_body(3, {4, 3, 2}), env).outcome, "unchanged");
  EXPECT_EQ(plan_safekeepers(sk_body(4, {1}, "00000000000000000000000000000000"), env).outcome, "not_hosted");
  env.now.primary = false;
  EXPECT_EQ(plan_safekeepers(sk_body(4, {1, 2, 3}), env).outcome, "replica");
  EXPECT_EQ(env.refreshes, 0);
}

TEST(HookSafekeepers, UnknownToStorconIs503AndBadBodyIs400) {
  FakeEnv env;
  env.storcon_sks = {sk(1)};
  auto plan = plan_safekeepers(sk_body(2, {1, 9}), env);
  ASSERT_TRUE(plan.reply.has_value());
  EXPECT_EQ(plan.reply->status, 503);
  EXPECT_EQ(plan_safekeepers("{}", env).reply->status, 400);
  EXPECT_EQ(plan_safekeepers(sk_body(2, {1, 1}), env).reply->status, 400);
}

TEST(HookSafekeepers, SettingsInEffectComparesEachWrittenSetting) {
  InEffect now;
  now.safekeepers = "g#2:a:1";
  now.stripe_size = 2048;
  now.pageserver_connstring = "postgres://no_user@p:1";
  EXPECT_TRUE(settings_in_effect({{"neon.safekeepers", "g#2:a:1"}}, now));
  EXPECT_FALSE(settings_in_effect({{"neon.safekeepers", "g#3:a:1"}}, now));
  EXPECT_TRUE(settings_in_effect({{"neon.stripe_size", "2048"}, {"neon.pageserver_connstring", "postgres://no_user@p:1"}}, now));
  EXPECT_FALSE(settings_in_effect({{"neon.stripe_size", "4096"}, {"neon.pageserver_connstring", "postgres://no_user@p:1"}}, now));
}

TEST(Hook, TenantFilterIgnoresCase) {
  FakeEnv env;
  env.now.tenant_id = "1F359DD625E519A1A4E8D7509690F6FC";
  env.dir.replace({node(1, "ps1")});
  EXPECT_EQ(plan_attach(attach_body(kTenant, {1}), env).outcome, "apply");
}
