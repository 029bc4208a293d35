// What one notification asks of this compute (hook_plan): the tenant filter, id resolution
// (NeedCatalog, then final after a refresh), no-op detection, stripe-before-connstring, the
// safekeeper decisions and the generation prefix the compute's neon understands.
#include <gtest/gtest.h>

#include "control/auto_conf.hpp"
#include "control/hook_plan.hpp"
#include "control/reconcile.hpp"
#include "control/status_view.hpp"
#include "test/unit/hook_fakes.hpp"

using namespace storcon;
using namespace storcon::test;

namespace {
InEffect mine() {
  InEffect e;
  e.tenant_id = kTenant;
  e.timeline_id = kTimeline;
  e.safekeeper_proto_version = "3";
  return e;
}

LocalPlan plan(Endpoint ep, const std::string& body, const InEffect& now, const Catalog& c, bool refreshed = false) {
  return plan_local(parse_notification(ep, body), now, c, refreshed);
}
}  // namespace

TEST(Hook, EndpointsUnderAnyPrefix) {
  EXPECT_EQ(match_endpoint("/notify-attach"), Endpoint::NotifyAttach);
  EXPECT_EQ(match_endpoint("/api/v1/notify-attach"), Endpoint::NotifyAttach);
  EXPECT_EQ(match_endpoint("/x/notify-safekeepers"), Endpoint::NotifySafekeepers);
  EXPECT_EQ(match_endpoint("/x/import_complete"), Endpoint::ImportComplete);
  EXPECT_EQ(match_endpoint("/computes/c1"), Endpoint::Computes);
  EXPECT_EQ(match_endpoint("/computes/"), Endpoint::NotFound);
  EXPECT_EQ(match_endpoint("/healthz"), Endpoint::Healthz);
  EXPECT_EQ(match_endpoint("/status"), Endpoint::Status);
  EXPECT_EQ(match_endpoint("/"), Endpoint::Page);
  EXPECT_EQ(match_endpoint("/notify-attach/x"), Endpoint::NotFound);
  EXPECT_EQ(match_endpoint("/notify-attachx"), Endpoint::NotFound);
  EXPECT_TRUE(method_allowed(Endpoint::NotifyAttach, "PUT"));
  EXPECT_FALSE(method_allowed(Endpoint::NotifyAttach, "GET"));
  EXPECT_TRUE(method_allowed(Endpoint::Computes, "DELETE"));
  EXPECT_FALSE(method_allowed(Endpoint::NotFound, ""));
}

TEST(Hook, ForeignTenantIsNotHosted) {
  Catalog c;
  InEffect now = mine();
  now.tenant_id = kOtherTenant;
  auto p = plan(Endpoint::NotifyAttach, attach_body(kTenant, {1}), now, c);
  EXPECT_EQ(p.kind, LocalPlan::Decided);
  EXPECT_EQ(p.outcome, Outcome::NotHosted);
  EXPECT_EQ(p.reply.status, 200);
  EXPECT_EQ(p.reply.body["status"], "not_hosted");
}

TEST(Hook, NoTenantConfiguredServesNone) {
  // A Postgres without neon.tenant_id (a hub) never rewrites its own neon settings.
  Catalog c;
  c.nodes.replace({node(1)});
  auto p = plan(Endpoint::NotifyAttach, attach_body(kTenant, {1}), InEffect{}, c);
  EXPECT_EQ(p.outcome, Outcome::NotHosted);
  EXPECT_FALSE(hosted_here(parse_notification(Endpoint::NotifyAttach, attach_body(kTenant, {1})), InEffect{}));
}

TEST(Hook, TenantFilterIgnoresCase) {
  Catalog c;
  c.nodes.replace({node(1)});
  InEffect now = mine();
  now.tenant_id = "1F359DD625E519A1A4E8D7509690F6FC";
  EXPECT_EQ(plan(Endpoint::NotifyAttach, attach_body(kTenant, {1}), now, c).kind, LocalPlan::Write);
}

TEST(Hook, UnknownNodeNeedsTheCatalogThenIsFinal) {
  Catalog c;
  c.nodes.replace({node(1)});
  EXPECT_EQ(plan(Endpoint::NotifyAttach, attach_body(kTenant, {1, 2}), mine(), c).kind, LocalPlan::NeedCatalog);
  auto final = plan(Endpoint::NotifyAttach, attach_body(kTenant, {1, 2}), mine(), c, true);
  EXPECT_EQ(final.kind, LocalPlan::Decided);
  EXPECT_EQ(final.outcome, Outcome::Unresolved);
  EXPECT_EQ(final.reply.status, 503);
  EXPECT_NE(final.reply.body["msg"].get<std::string>().find("2"), std::string::npos);
  c.nodes.replace({node(1), node(2)});
  auto p = plan(Endpoint::NotifyAttach, attach_body(kTenant, {1, 2}), mine(), c, true);
  ASSERT_EQ(p.kind, LocalPlan::Write);
  ASSERT_EQ(p.settings.size(), 2u);
  EXPECT_EQ(p.settings[0], (ConfEntry{"neon.stripe_size", "2048"}));
  EXPECT_EQ(p.settings[1], (ConfEntry{"neon.pageserver_connstring", conn({1, 2})}));
}

TEST(Hook, SameShardMapIsUnchangedAndADifferentStripeIsNot) {
  Catalog c;
  c.nodes.replace({node(1), node(2)});
  InEffect now = mine();
  now.pageserver_connstring = conn({1, 2});
  now.stripe_size = 2048;
  auto p = plan(Endpoint::NotifyAttach, attach_body(kTenant, {1, 2}), now, c);
  EXPECT_EQ(p.outcome, Outcome::Unchanged);
  EXPECT_EQ(p.reply.body["status"], "unchanged");
  auto p2 = plan(Endpoint::NotifyAttach, attach_body(kTenant, {1, 2}, 4096), now, c);
  ASSERT_EQ(p2.kind, LocalPlan::Write);
  EXPECT_EQ(p2.settings[0].value, "4096");
}

TEST(Hook, UnshardedWritesOnlyTheConnstring) {
  Catalog c;
  c.nodes.replace({node(1)});
  auto p = plan(Endpoint::NotifyAttach, attach_body(kTenant, {1}), mine(), c);
  ASSERT_EQ(p.settings.size(), 1u);
  EXPECT_EQ(p.settings[0].name, "neon.pageserver_connstring");
}

TEST(Hook, MalformedBodyIs400) {
  try {
    parse_notification(Endpoint::NotifyAttach, "{\"tenant_id\":1}");
    FAIL();
  } catch (const HookError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_STREQ(e.what(), "field \"tenant_id\" must be a string");
  }
}

TEST(Hook, NodeRecordsAreCheckedLikeHosts) {
  // A listen_pg_port of 0 or above 65535, or a host that could break the shard map: 503.
  for (int port : {0, 65536, -1}) {
    Catalog c;
    NodeRecord n = node(1);
    n.listen_pg_port = port;
    c.nodes.replace({n});
    auto p = plan(Endpoint::NotifyAttach, attach_body(kTenant, {1}), mine(), c);
    EXPECT_EQ(p.outcome, Outcome::Unresolved) << port;
    EXPECT_EQ(p.reply.status, 503);
  }
  for (const std::string& host : std::vector<std::string>{"a,b", "a b", "a'b", "user@h", "h/x", std::string("h\0x", 3),
                                                         "h\n", ""}) {
    Catalog c;
    NodeRecord n = node(1);
    n.listen_pg_addr = host;
    c.nodes.replace({n});
    EXPECT_EQ(plan(Endpoint::NotifyAttach, attach_body(kTenant, {1}), mine(), c).outcome, Outcome::Unresolved) << host;
  }
}

TEST(Hook, HostsAsStorconStoresThemAreAccepted) {
  // storcon stores any string; a trailing-dot FQDN and a label longer than 63 bytes are safe in a
  // connstring and must not leave the tenant's computes unconfigurable (503 forever).
  for (const std::string& host :
       std::vector<std::string>{"ps1.example.com.", std::string(70, 'a') + ".example", "10.0.0.1", "::1"}) {
    Catalog c;
    c.nodes.replace({node(1, host)});
    EXPECT_EQ(plan(Endpoint::NotifyAttach, attach_body(kTenant, {1}), mine(), c).kind, LocalPlan::Write) << host;
  }
}

TEST(HookSafekeepers, UnknownIdsNeedTheCatalogThenApply) {
  Catalog c;
  InEffect now = mine();
  now.safekeepers = "g#1:sk1:5454,sk2:5454,sk3:5454";
  EXPECT_EQ(plan(Endpoint::NotifySafekeepers, sk_body(2, {1, 2, 3, 4}), now, c).kind, LocalPlan::NeedCatalog);
  c.safekeepers.replace({sk(1), sk(2), sk(3), sk(4)});
  auto p = plan(Endpoint::NotifySafekeepers, sk_body(2, {1, 2, 3, 4}), now, c, true);
  ASSERT_EQ(p.kind, LocalPlan::Write);
  EXPECT_EQ(p.settings, (std::vector<ConfEntry>{{"neon.safekeepers", "g#2:sk1:5454,sk2:5454,sk3:5454,sk4:5454"}}));
  EXPECT_EQ(p.applied.body["status"], "applied");
}

TEST(HookSafekeepers, StaleNotHostedReplicaAndUnchangedChangeNothing) {
  Catalog c;
  c.safekeepers.replace({sk(1), sk(2), sk(3), sk(4)});
  InEffect now = mine();
  now.safekeepers = "g#3:sk2:5454,sk3:5454,sk4:5454";
  EXPECT_EQ(plan(Endpoint::NotifySafekeepers, sk_body(2, {1, 2, 3, 4}), now, c).outcome, Outcome::Stale);
  EXPECT_EQ(plan(Endpoint::NotifySafekeepers, sk_body(3, {4, 3, 2}), now, c).outcome, Outcome::Unchanged);
  EXPECT_EQ(plan(Endpoint::NotifySafekeepers, sk_body(4, {1}, "00000000000000000000000000000000"), now, c).outcome,
            Outcome::NotHosted);
  now.primary = false;
  EXPECT_EQ(plan(Endpoint::NotifySafekeepers, sk_body(4, {1, 2, 3}), now, c).outcome, Outcome::Replica);
}

TEST(HookSafekeepers, UnknownToStorconIs503AndBadBodyIs400) {
  Catalog c;
  c.safekeepers.replace({sk(1)});
  auto p = plan(Endpoint::NotifySafekeepers, sk_body(2, {1, 9}), mine(), c, true);
  EXPECT_EQ(p.reply.status, 503);
  EXPECT_THROW(parse_notification(Endpoint::NotifySafekeepers, "{}"), HookError);
  EXPECT_THROW(parse_notification(Endpoint::NotifySafekeepers, sk_body(2, {1, 1})), HookError);
}

TEST(HookSafekeepers, GenerationPrefixOnlyWhereNeonUnderstandsIt) {
  // neon.safekeeper_proto_version < 3, or a neon without the setting, stops with FATAL on "g#N:".
  Catalog c;
  c.safekeepers.replace({sk(1), sk(2)});
  for (std::string proto : {"", "2", "garbage"}) {
    InEffect now = mine();
    now.safekeeper_proto_version = proto;
    auto p = plan(Endpoint::NotifySafekeepers, sk_body(5, {1, 2}), now, c);
    ASSERT_EQ(p.kind, LocalPlan::Write) << proto;
    EXPECT_EQ(p.settings[0].value, "sk1:5454,sk2:5454") << proto;
    // ... and the same set again is unchanged (no generation to compare without the prefix).
    now.safekeepers = "sk2:5454,sk1:5454";
    EXPECT_EQ(plan(Endpoint::NotifySafekeepers, sk_body(6, {1, 2}), now, c).outcome, Outcome::Unchanged);
  }
  InEffect now = mine();
  now.safekeeper_proto_version = "3";
  EXPECT_EQ(plan(Endpoint::NotifySafekeepers, sk_body(5, {1, 2}), now, c).settings[0].value, "g#5:sk1:5454,sk2:5454");
  EXPECT_TRUE(generation_prefix_supported("4"));
  EXPECT_FALSE(generation_prefix_supported("3x"));
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

TEST(Hook, StatusJsonCarriesCountersAndLastNotification) {
  HookStats stats;
  stats.count(Endpoint::NotifyAttach, 200);
  stats.count(Endpoint::NotifyAttach, 200);
  stats.count(Endpoint::Healthz, 200);
  stats.record_notification(kTenant, 200, "applied", "");
  InEffect now;
  now.tenant_id = kTenant;
  now.stripe_size = 8;
  Catalog catalog;
  catalog.nodes.replace({node(1, "ps1")});
  now.pageserver_connstring = "postgres://no_user@ps1:6400,postgres://no_user@[::1]:6401";
  now.safekeepers = "g#4:sk1:5454";
  catalog.safekeepers.replace({sk(1)});
  auto j = status_json("127.0.0.1:3000", now, stats, catalog);
  EXPECT_EQ(j["shard_map"].size(), 2u);
  EXPECT_EQ(j["shard_map"][0]["node_id"], 1);
  EXPECT_EQ(j["shard_map"][1]["host"], "::1");
  EXPECT_TRUE(j["shard_map"][1]["node_id"].is_null());
  EXPECT_EQ(j["safekeeper_set"]["generation"], 4);
  EXPECT_EQ(j["safekeeper_set"]["members"][0]["id"], 1);
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

TEST(AutoConf, LastOccurrenceWins) { EXPECT_EQ(*find_setting({{"x", "1"}, {"X", "2"}}, "x"), "2"); }

TEST(AutoConf, UndoRestoresOnlyWhatIsStillOurs) {
  const std::vector<ConfEntry> before = {{"neon.pageserver_connstring", "old"}};
  const std::vector<ConfEntry> written = {{"neon.stripe_size", "4096"}, {"neon.pageserver_connstring", "ours"}};
  // The stripe size is still ours; the connstring was changed by an ALTER SYSTEM since.
  const std::vector<ConfEntry> now = {{"neon.stripe_size", "4096"}, {"neon.pageserver_connstring", "admin"}};
  UndoEdit u = undo_edit(now, written, before);
  EXPECT_TRUE(u.set.empty());
  EXPECT_EQ(u.remove, std::vector<std::string>({"neon.stripe_size"}));  // it had no value before
  EXPECT_EQ(u.kept, std::vector<std::string>({"neon.pageserver_connstring"}));
  // Both still ours: the connstring goes back to its old value.
  u = undo_edit(written, written, before);
  EXPECT_EQ(u.set, std::vector<ConfEntry>({{"neon.pageserver_connstring", "old"}}));
  EXPECT_EQ(u.remove, std::vector<std::string>({"neon.stripe_size"}));
  EXPECT_TRUE(u.kept.empty());
}

namespace {
nlohmann::json describe(const std::vector<int64_t>& nodes, bool reconciling = false, const char* policy = nullptr) {
  nlohmann::json shards = nlohmann::json::array();
  for (size_t i = 0; i < nodes.size(); i++) {
    char slug[40];
    std::snprintf(slug, sizeof slug, "%02zx%02zx", i, nodes.size());
    shards.push_back({{"tenant_shard_id", std::string(kTenant) + (nodes.size() > 1 ? std::string("-") + slug : "")},
                      {"node_attached", nodes[i]},
                      {"node_secondary", nlohmann::json::array()},
                      {"last_error", ""},
                      {"is_reconciling", reconciling && i == 0},
                      {"is_pending_compute_notification", false},
                      {"is_splitting", false},
                      {"is_importing", false},
                      {"scheduling_policy", "Active"},
                      {"preferred_az_id", nullptr}});
  }
  nlohmann::json pol = policy ? nlohmann::json(policy) : nlohmann::json({{"Attached", 1}});
  return {{"tenant_id", kTenant}, {"shards", shards}, {"stripe_size", 2048}, {"policy", pol},
          {"config", nlohmann::json::object()}};
}
}  // namespace

TEST(Reconcile, OnlyASettledStorconIsApplied) {
  Catalog c;
  c.nodes.replace({node(1), node(2), node(3)});
  c.safekeepers.replace({sk(1), sk(2), sk(3)});
  InEffect now = mine();
  nlohmann::json locate = {{"tenant_id", kTenant}, {"timeline_id", kTimeline}, {"generation", 4},
                           {"sk_set", {1, 2, 3}}, {"new_sk_set", nullptr}};
  auto settled = expected_from_storcon(now, describe({1, 2}), locate, c);
  EXPECT_EQ(settled.settings, (std::vector<ConfEntry>{{"neon.stripe_size", "2048"},
                                                      {"neon.pageserver_connstring", conn({1, 2})},
                                                      {"neon.safekeepers", "g#4:sk1:5454,sk2:5454,sk3:5454"}}));
  // A live migration: storcon's intent names a pageserver it has not told computes about yet.
  auto moving = expected_from_storcon(now, describe({3, 2}, true), locate, c);
  EXPECT_EQ(moving.settings.size(), 1u);
  EXPECT_EQ(moving.settings[0].name, "neon.safekeepers");
  ASSERT_EQ(moving.notes.size(), 1u);
  EXPECT_NE(moving.notes[0].find("moving"), std::string::npos);
  // Secondary / Detached: nothing to do (not a failure).
  EXPECT_TRUE(expected_from_storcon(now, describe({1}, false, "Secondary"), std::nullopt, c).settings.empty());
  // A safekeeper migration in progress leaves neon.safekeepers alone too.
  nlohmann::json migrating = locate;
  migrating["new_sk_set"] = {2, 3};
  EXPECT_EQ(expected_from_storcon(now, describe({1, 2}), migrating, c).settings.size(), 2u);
  // Unknown to storcon: a note, no error.
  EXPECT_EQ(expected_from_storcon(now, std::nullopt, std::nullopt, c).notes.size(), 1u);
}
