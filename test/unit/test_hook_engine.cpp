// The notification state machine under a fake clock with effects that behave like the worker's:
// deadlines, grouped writes, supersede, refresh-then-apply, undo of only what is still ours,
// forwarding outcomes, and the reconcile's place among notifications.
#include <gtest/gtest.h>

#include "control/hook_engine.hpp"
#include "test/unit/hook_fakes.hpp"

using namespace storcon;
using namespace storcon::test;

namespace {

class EngineTest : public ::testing::Test {
 protected:
  FakeClock clock;
  FakeEffects fx;
  HookEngine engine{fx, clock};
  RequestId next_id = 1;

  void SetUp() override {
    engine.catalog().nodes.replace({node(1), node(2), node(3), node(4)});
    engine.catalog().safekeepers.replace({sk(1), sk(2), sk(3), sk(4)});
    InEffect base;
    base.tenant_id = kTenant;
    base.timeline_id = kTimeline;
    base.safekeeper_proto_version = "3";
    base.pageserver_connstring = conn({1});
    base.safekeepers = "g#1:sk1:5454,sk2:5454,sk3:5454";
    fx.file = {{"neon.pageserver_connstring", conn({1})}, {"neon.safekeepers", base.safekeepers}};
    engine.on_reload(base);
  }

  RequestId send(Endpoint ep, const std::string& body, bool forwarded = false, int64_t deadline_us = 0) {
    RequestId id = next_id++;
    engine.receive(Notification{id, ep, body, std::string("Bearer t"), forwarded, deadline_us});
    return id;
  }
  RequestId attach(std::vector<int64_t> nodes, const std::string& tenant = kTenant) {
    return send(Endpoint::NotifyAttach, attach_body(tenant, nodes));
  }
  // The postmaster's reload of whatever the file holds now, as the worker then sees it.
  void reload() { engine.on_reload(view_of(fx.file, engine.in_effect())); }
  int status(RequestId id) { return fx.answers.count(id) ? fx.answers[id].status : 0; }
  std::string word(RequestId id) {
    auto& b = fx.answers[id].body;
    return b.contains("status") ? b["status"].get<std::string>() : "";
  }
};

}  // namespace

TEST_F(EngineTest, ApplyIsAnsweredOnlyOnceTheReloadShowsIt) {
  RequestId a = attach({1, 2});
  ASSERT_EQ(fx.writes.size(), 1u);
  EXPECT_EQ(fx.writes[0], (std::vector<ConfEntry>{{"neon.stripe_size", "2048"}, {"neon.pageserver_connstring", conn({1, 2})}}));
  EXPECT_EQ(status(a), 0) << "answered before the reload";
  reload();
  EXPECT_EQ(status(a), 200);
  EXPECT_EQ(word(a), "applied");
  EXPECT_EQ(fx.answers[a].body["seq"], 1);
  EXPECT_TRUE(fx.records.back().wrote);
  EXPECT_TRUE(engine.idle());
}

TEST_F(EngineTest, WhatNeedsNoWriteIsAnsweredAtOnceEvenWhileAWriteWaits) {
  RequestId a = attach({1, 2});
  RequestId foreign = attach({3}, kOtherTenant);
  RequestId stale = send(Endpoint::NotifySafekeepers, sk_body(1, {1, 2, 3}));
  RequestId bad = send(Endpoint::NotifyAttach, "{\"tenant_id\":");
  EXPECT_EQ(word(foreign), "not_hosted");
  EXPECT_EQ(status(stale), 200);
  EXPECT_EQ(word(stale), "unchanged");
  EXPECT_EQ(status(bad), 400);
  EXPECT_EQ(fx.records.size(), 3u);
  EXPECT_EQ(status(a), 0);
  EXPECT_EQ(fx.writes.size(), 1u);
  EXPECT_TRUE(fx.refreshes.empty());
  reload();
  EXPECT_EQ(status(a), 200);
}

TEST_F(EngineTest, UnchangedPlacementIsAnsweredWithoutWriting) {
  RequestId a = attach({1});
  EXPECT_EQ(word(a), "unchanged");
  EXPECT_TRUE(fx.writes.empty());
}

TEST_F(EngineTest, QueuedNotificationsShareOneWriteAndTheLastWins) {
  RequestId a = attach({1, 2});
  RequestId b = attach({2, 3});
  RequestId c = attach({3, 4});
  EXPECT_EQ(fx.writes.size(), 1u) << "b and c wait for a's reload";
  reload();
  EXPECT_EQ(word(a), "applied");
  ASSERT_EQ(fx.writes.size(), 2u) << "one write for b and c";
  EXPECT_EQ(fx.writes[1][1].value, conn({3, 4}));
  EXPECT_EQ(status(b), 0);
  reload();
  EXPECT_EQ(status(b), 200);
  EXPECT_EQ(word(b), "superseded");  // c, received after it, is in effect
  EXPECT_EQ(word(c), "applied");
  EXPECT_EQ(engine.in_effect().pageserver_connstring, conn({3, 4}));
}

TEST_F(EngineTest, AMoveBackIsWrittenAfterThePendingMove) {
  RequestId a = attach({2});
  RequestId back = attach({1});  // equals what is in effect, but a's write would move it away
  EXPECT_EQ(status(back), 0);
  reload();
  EXPECT_EQ(word(a), "applied");
  ASSERT_EQ(fx.writes.size(), 2u);
  reload();
  EXPECT_EQ(word(back), "applied");
  EXPECT_EQ(engine.in_effect().pageserver_connstring, conn({1}));
}

TEST_F(EngineTest, ARetryOfThePendingPlacementJoinsItsWrite) {
  RequestId a = attach({2});
  RequestId again = attach({2});
  reload();
  EXPECT_EQ(fx.writes.size(), 1u);
  EXPECT_EQ(word(a), "applied");
  EXPECT_EQ(word(again), "applied");
}

TEST_F(EngineTest, UnknownNodeRefreshesAsynchronouslyThenApplies) {
  engine.catalog().nodes.replace({node(1)});
  RequestId a = attach({1, 7});
  ASSERT_EQ(fx.refreshes.size(), 1u);
  EXPECT_EQ(fx.refreshes[0], clock.now + engine.config().answer_budget_us);
  RequestId other = attach({1}, kOtherTenant);
  EXPECT_EQ(status(other), 200) << "a refresh blocks nothing else";
  EXPECT_EQ(status(a), 0);
  clock.advance_ms(40);
  engine.catalog().nodes.replace({node(1), node(7)});
  engine.on_catalog_refreshed(true, "");
  ASSERT_EQ(fx.writes.size(), 1u);
  reload();
  EXPECT_EQ(word(a), "applied");
}

TEST_F(EngineTest, StillUnknownAfterTheRefreshOrStorconDownIs503AndNothingIsWritten) {
  RequestId a = attach({1, 9});
  RequestId b = send(Endpoint::NotifySafekeepers, sk_body(2, {1, 2, 9}));
  EXPECT_EQ(fx.refreshes.size(), 1u) << "one refresh serves both";
  engine.on_catalog_refreshed(true, "");
  EXPECT_EQ(status(a), 503);
  EXPECT_NE(fx.answers[a].body["msg"].get<std::string>().find("9"), std::string::npos);
  EXPECT_EQ(status(b), 503);
  RequestId c = attach({1, 8});
  engine.on_catalog_refreshed(false, "connection refused");
  EXPECT_EQ(status(c), 503);
  EXPECT_NE(fx.answers[c].body["msg"].get<std::string>().find("connection refused"), std::string::npos);
  EXPECT_TRUE(fx.writes.empty());
}

TEST_F(EngineTest, ANewerNotificationWinsOverAnOlderOneWaitingForTheCatalog) {
  RequestId old = attach({1, 7});  // needs a refresh
  RequestId newer = attach({2});
  reload();
  EXPECT_EQ(word(newer), "applied");
  engine.catalog().nodes.replace({node(1), node(2), node(7)});
  engine.on_catalog_refreshed(true, "");
  EXPECT_EQ(word(old), "superseded");
  EXPECT_EQ(fx.writes.size(), 1u) << "the older placement must never overwrite the newer";
  EXPECT_EQ(engine.in_effect().pageserver_connstring, conn({2}));
}

TEST_F(EngineTest, ARefusedReloadIsUndoneAndAnswered503) {
  RequestId a = attach({1, 2});
  engine.on_reload(engine.in_effect());  // the reload did not take the values
  EXPECT_EQ(status(a), 503);
  EXPECT_EQ(fx.records.back().outcome, Outcome::NotInEffect);
  EXPECT_EQ(fx.undos.size(), 1u);
  EXPECT_EQ(*find_setting(fx.file, "neon.pageserver_connstring"), conn({1}));
  EXPECT_FALSE(find_setting(fx.file, "neon.stripe_size").has_value());
}

TEST_F(EngineTest, TheUndoLeavesWhatSomeoneElseChangedSince) {
  RequestId a = attach({1, 2});
  fx.file = edit_auto_conf(fx.file, {{"neon.pageserver_connstring", "postgres://no_user@admin:1"}});  // ALTER SYSTEM
  engine.on_reload(engine.in_effect());
  EXPECT_EQ(status(a), 503);
  EXPECT_EQ(*find_setting(fx.file, "neon.pageserver_connstring"), "postgres://no_user@admin:1");
  EXPECT_FALSE(find_setting(fx.file, "neon.stripe_size").has_value());  // still ours: undone
}

TEST_F(EngineTest, WriteFailuresSayWhatStateTheFileIsIn) {
  fx.fail_writes = true;
  RequestId a = attach({1, 2});
  EXPECT_EQ(status(a), 503);
  EXPECT_NE(fx.answers[a].body["msg"].get<std::string>().find("left unchanged"), std::string::npos);
  fx.fail_writes = false;
  fx.fail_after_rename = true;
  RequestId b = attach({1, 3});
  EXPECT_EQ(status(b), 503);
  std::string msg = fx.answers[b].body["msg"];
  EXPECT_EQ(msg.find("left unchanged"), std::string::npos) << msg;
  EXPECT_NE(msg.find("replaced but could not be made durable"), std::string::npos) << msg;
}

TEST_F(EngineTest, EveryAnswerLeavesByTheDeadlineAndAWrittenChangeStillCompletes) {
  RequestId a = attach({1, 2});
  RequestId b = attach({2, 3});  // queued behind a's write
  EXPECT_EQ(engine.next_deadline_us(), clock.now + engine.config().rewrite_after_us);
  clock.advance_ms(100);
  engine.tick();
  EXPECT_EQ(status(a), 0);
  // the postmaster is stopped: no reload comes
  clock.advance_ms(100);
  engine.tick();  // b may now replace a's write (a slow reload must not starve newer placements)
  EXPECT_EQ(fx.writes.size(), 2u);
  clock.advance_ms(engine.config().answer_budget_us / 1000);
  engine.tick();
  EXPECT_EQ(status(a), 503);
  EXPECT_EQ(status(b), 503);
  EXPECT_NE(fx.answers[a].body["msg"].get<std::string>().find("reload"), std::string::npos);
  EXPECT_EQ(fx.records.back().outcome, Outcome::Deadline);
  reload();  // the postmaster wakes up: the written change takes effect, nobody is answered twice
  EXPECT_EQ(engine.in_effect().pageserver_connstring, conn({2, 3}));
  EXPECT_TRUE(engine.idle());
  EXPECT_EQ(engine.next_deadline_us(), INT64_MAX);
}

TEST_F(EngineTest, ANotificationWaitingForTheCatalogPastItsDeadlineIsDropped) {
  engine.catalog().nodes.replace({node(1)});
  RequestId a = attach({1, 7});
  clock.advance_ms(engine.config().answer_budget_us / 1000);
  engine.tick();
  EXPECT_EQ(status(a), 503);
  engine.catalog().nodes.replace({node(1), node(7)});
  engine.on_catalog_refreshed(true, "");  // too late: storcon's retry brings it again
  EXPECT_TRUE(fx.writes.empty());
  EXPECT_TRUE(engine.idle());
}

TEST_F(EngineTest, AForwardersShorterDeadlineWins) {
  RequestId a = send(Endpoint::NotifyAttach, attach_body(kTenant, {1, 2}), true, clock.now + 2'000'000);
  clock.advance_ms(2000);
  engine.tick();
  EXPECT_EQ(status(a), 503);
}

TEST_F(EngineTest, SafekeeperChangesAreWrittenWithTheShardMapInOneFile) {
  RequestId a = attach({1, 2});
  RequestId b = attach({3, 4});
  RequestId s = send(Endpoint::NotifySafekeepers, sk_body(2, {1, 2, 3, 4}));
  reload();
  ASSERT_EQ(fx.writes.size(), 2u);
  EXPECT_EQ(fx.writes[1], (std::vector<ConfEntry>{{"neon.stripe_size", "2048"},
                                                  {"neon.pageserver_connstring", conn({3, 4})},
                                                  {"neon.safekeepers", "g#2:sk1:5454,sk2:5454,sk3:5454,sk4:5454"}}));
  reload();
  EXPECT_EQ(word(a), "applied");
  EXPECT_EQ(word(b), "applied");
  EXPECT_EQ(word(s), "applied");
}

TEST_F(EngineTest, ForwardingOutcomes) {
  fx.targets = {{"http://replica-1:3000", "r1"}, {"http://replica-2:3000", "r2"}};
  RequestId a = attach({1, 2});
  ASSERT_EQ(fx.forwards.size(), 1u);
  const ForwardRequest& r = fx.forwards.begin()->second;
  EXPECT_EQ(r.body, attach_body(kTenant, {1, 2}));
  EXPECT_EQ(r.authorization, std::optional<std::string>("Bearer t"));
  EXPECT_EQ(r.deadline_us, clock.now + engine.config().answer_budget_us - engine.config().forward_margin_us);
  reload();
  EXPECT_EQ(status(a), 0) << "waits for the forwards";
  // A stopped compute (connection refused) does not hold storcon back; it reconciles when it starts.
  engine.on_forwarded(fx.forwards.begin()->first,
                      {{{"http://replica-1:3000", "r1"}, 200, "", false}, {{"http://replica-2:3000", "r2"}, 0, "refused", true}});
  EXPECT_EQ(status(a), 200);
  EXPECT_EQ(fx.answers[a].body["forwarded"][1]["outcome"], "not_running");

  // A running compute that answers an error, or not in time, does.
  fx.forwards.clear();
  RequestId b = attach({1, 3});
  reload();
  engine.on_forwarded(fx.forwards.begin()->first,
                      {{{"http://replica-1:3000", "r1"}, 0, "Operation timed out", false},
                       {{"http://replica-2:3000", "r2"}, 200, "", false}});
  EXPECT_EQ(status(b), 503);
  EXPECT_EQ(fx.records.back().outcome, Outcome::ForwardFailed);
  EXPECT_NE(fx.answers[b].body["msg"].get<std::string>().find("replica-1"), std::string::npos);
}

TEST_F(EngineTest, AForwardedNotificationIsNeverForwardedAgain) {
  fx.targets = {{"http://replica-1:3000", "r1"}};
  RequestId a = send(Endpoint::NotifyAttach, attach_body(kTenant, {1, 2}), true);
  EXPECT_TRUE(fx.forwards.empty());
  reload();
  EXPECT_EQ(status(a), 200);
}

TEST_F(EngineTest, ForwardsOfOneTenantGoOneBatchAtATimeWithTheNewestBody) {
  fx.targets = {{"http://c:3000", "c"}};
  RequestId a = attach({2}, kOtherTenant);
  RequestId b = attach({3}, kOtherTenant);
  RequestId c = attach({4}, kOtherTenant);
  ASSERT_EQ(fx.forwards.size(), 1u);
  engine.on_forwarded(1, {{{"http://c:3000", "c"}, 200, "", false}});
  EXPECT_EQ(word(a), "forwarded");
  ASSERT_EQ(fx.forwards.size(), 2u);
  EXPECT_EQ(fx.forwards[2].body, attach_body(kOtherTenant, {4}));
  engine.on_forwarded(2, {{{"http://c:3000", "c"}, 200, "", false}});
  EXPECT_EQ(word(b), "forwarded");
  EXPECT_EQ(word(c), "forwarded");
}

TEST_F(EngineTest, ATenantWithNoComputeAnywhereStillGets200) {
  RequestId a = attach({2}, kOtherTenant);
  EXPECT_EQ(status(a), 200);
  EXPECT_EQ(word(a), "not_hosted");
  fx.targets = {{"http://c:3000", "c"}};
  RequestId b = attach({2}, kOtherTenant);
  engine.on_forwarded(fx.forwards.begin()->first, {{{"http://c:3000", "c"}, 0, "refused", true}});
  EXPECT_EQ(status(b), 200);
  EXPECT_EQ(word(b), "not_hosted");
}

TEST_F(EngineTest, AReconcileIsDroppedWhereANewerNotificationDecided) {
  int64_t asked = clock.now;
  clock.advance_ms(5);
  RequestId a = attach({2});  // received after the pass asked storcon
  reload();
  EXPECT_EQ(word(a), "applied");
  engine.submit_reconcile(1, asked, {{"neon.pageserver_connstring", conn({3})}, {"neon.safekeepers", "g#1:sk1:5454"}},
                          nlohmann::json::array({{{"setting", "neon.pageserver_connstring"}},
                                                 {{"setting", "neon.safekeepers"}}}));
  ASSERT_EQ(fx.writes.size(), 2u);
  EXPECT_EQ(fx.writes[1], (std::vector<ConfEntry>{{"neon.safekeepers", "g#1:sk1:5454"}})) << "shard map kept";
  reload();
  ASSERT_EQ(fx.reconciles.count(1), 1u);
  EXPECT_EQ(fx.reconciles[1].body["status"], "applied");
  EXPECT_EQ(fx.reconciles[1].body["changes"].size(), 1u);
  EXPECT_EQ(engine.in_effect().pageserver_connstring, conn({2}));

  engine.submit_reconcile(2, asked, {{"neon.pageserver_connstring", conn({3})}}, nlohmann::json::array());
  EXPECT_EQ(fx.reconciles[2].body["status"], "superseded");
  EXPECT_EQ(fx.writes.size(), 2u);
}

TEST_F(EngineTest, ANotificationAfterAQueuedReconcileWins) {
  RequestId a = attach({2});
  engine.submit_reconcile(1, clock.now, {{"neon.pageserver_connstring", conn({3})}}, nlohmann::json::array());
  clock.advance_ms(1);
  RequestId b = attach({4});
  reload();
  reload();
  EXPECT_EQ(word(a), "applied");
  EXPECT_EQ(word(b), "applied");
  EXPECT_EQ(fx.reconciles[1].body["status"], "superseded");
  EXPECT_EQ(engine.in_effect().pageserver_connstring, conn({4}));
}
