// Hostile hook bodies end as a 400 before the hook looks anything up or plans a change: duplicate
// keys and deep nesting (parse_strict) through plan_attach / plan_safekeepers, the path the worker
// takes for every PUT.
#include <gtest/gtest.h>

#include "control/hook.hpp"

using namespace storcon;

namespace {
class CountingEnv : public HookEnv {
 public:
  InEffect now;
  NodeDirectory dir;
  SafekeeperDirectory sks;
  int refreshes = 0;
  int reads = 0;

  InEffect in_effect() override {
    reads++;
    return now;
  }
  const NodeDirectory& directory() override { return dir; }
  const SafekeeperDirectory& safekeeper_directory() override { return sks; }
  bool refresh_catalog() override {
    refreshes++;
    return true;
  }
};

const std::string kAttach =
    R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","preferred_az":null,"stripe_size":null,"shards":[{"node_id":1,"shard_number":0}])";
const std::string kSafekeepers =
    R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","timeline_id":"de200bd42b49cc1814412c7e592dd6e9","generation":2,"safekeepers":[{"id":1,"hostname":"sk1"}])";

void expect_rejected(const HookPlan& plan, const CountingEnv& env, const std::string& msg) {
  ASSERT_TRUE(plan.reply.has_value());
  EXPECT_EQ(plan.reply->status, 400);
  EXPECT_EQ(plan.reply->body["msg"], msg);
  EXPECT_EQ(plan.outcome, "rejected");
  EXPECT_TRUE(plan.settings.empty());
  EXPECT_EQ(env.reads, 0);
  EXPECT_EQ(env.refreshes, 0);
}
}  // namespace

TEST(HostileBodies, AttachWithADuplicateKeyIs400AndChangesNothing) {
  CountingEnv env;
  NodeRecord n;
  n.node_id = 1;
  n.listen_pg_addr = "ps1";
  n.listen_pg_port = 6400;
  env.dir.replace({n});
  EXPECT_EQ(plan_attach(kAttach + "}", env).outcome, "apply");  // the body itself is fine
  env.reads = 0;
  expect_rejected(plan_attach(kAttach + R"(,"shards":[{"node_id":2,"shard_number":0}]})", env), env,
                  "duplicate key \"shards\"");
  expect_rejected(plan_attach(kAttach + R"(,"x":[[[[[[[[]]]]]]]]})", env), env, "JSON nested deeper than 8 levels");
}

TEST(HostileBodies, SafekeepersWithADuplicateKeyIs400AndChangesNothing) {
  CountingEnv env;
  SafekeeperRecord s;
  s.id = 1;
  s.host = "sk1";
  s.port = 5454;
  env.sks.replace({s});
  EXPECT_EQ(plan_safekeepers(kSafekeepers + "}", env).outcome, "apply");
  env.reads = 0;
  expect_rejected(plan_safekeepers(kSafekeepers + R"(,"generation":1})", env), env, "duplicate key \"generation\"");
  expect_rejected(plan_safekeepers(std::string(65536, '['), env), env, "JSON nested deeper than 8 levels");
}
