// notify-safekeepers bodies (contract §1.3), the neon.safekeepers value they render to (§2.5), how
// a value in effect is read back, and what the hook decides for each situation.
#include <gtest/gtest.h>

#include "control/notify_safekeepers.hpp"

using namespace storcon;

namespace {
const char* kTenant = "1f359dd625e519a1a4e8d7509690f6fc";
const char* kTimeline = "de200bd42b49cc1814412c7e592dd6e9";

// The contract's two examples: the joint configuration of a migration {1,2,3} -> {2,3,4}, then the
// final one.
const char* kJoint =
    R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","timeline_id":"de200bd42b49cc1814412c7e592dd6e9","generation":2,"safekeepers":[{"id":1,"hostname":"sk1.example"},{"id":2,"hostname":"sk2.example"},{"id":3,"hostname":"sk3.example"},{"id":4,"hostname":"sk4.example"}]})";
const char* kFinal =
    R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","timeline_id":"de200bd42b49cc1814412c7e592dd6e9","generation":3,"safekeepers":[{"id":2,"hostname":"sk2.example"},{"id":3,"hostname":"sk3.example"},{"id":4,"hostname":"sk4.example"}]})";

SafekeeperRecord record(int64_t id, const std::string& host, int32_t port = 5454) {
  SafekeeperRecord r;
  r.id = id;
  r.host = host;
  r.port = port;
  r.http_port = 7676;
  return r;
}

SafekeeperDirectory directory() {
  std::vector<SafekeeperRecord> sks;
  for (int i = 1; i <= 4; i++) sks.push_back(record(i, "sk" + std::to_string(i) + ".example"));
  SafekeeperDirectory d;
  d.replace(sks);
  return d;
}

// A body for kTenant/kTimeline with the given generation and safekeepers list (raw JSON).
std::string body(const std::string& generation, const std::string& safekeepers) {
  return std::string(R"({"tenant_id":")") + kTenant + R"(","timeline_id":")" + kTimeline +
         R"(","generation":)" + generation + R"(,"safekeepers":)" + safekeepers + "}";
}

int status_of(const std::string& b) {
  try {
    parse_safekeepers(b);
    return 0;
  } catch (const HookError& e) {
    return e.status;
  }
}

int render_status(const SafekeeperRecord& r) {
  SafekeeperDirectory d;
  d.replace({r});
  SafekeepersRequest req;
  req.generation = 1;
  req.ids = {r.id};
  try {
    render_safekeepers(req, d);
    return 0;
  } catch (const HookError& e) {
    return e.status;
  }
}

SafekeepersDecision decide(const SafekeepersRequest& req, const std::string& in_effect,
                           bool is_primary = true, const std::string& tenant = kTenant,
                           const std::string& timeline = kTimeline) {
  return decide_safekeepers(req, tenant, timeline, is_primary, in_effect, render_safekeepers(req, directory()));
}
}  // namespace

TEST(NotifySafekeepers, ParsesTheContractExamples) {
  auto joint = parse_safekeepers(kJoint);
  EXPECT_EQ(joint.tenant_id, kTenant);
  EXPECT_EQ(joint.timeline_id, kTimeline);
  EXPECT_EQ(joint.generation, 2u);
  EXPECT_EQ(joint.ids, std::vector<int64_t>({1, 2, 3, 4}));

  auto final_conf = parse_safekeepers(kFinal);
  EXPECT_EQ(final_conf.generation, 3u);
  EXPECT_EQ(final_conf.ids, std::vector<int64_t>({2, 3, 4}));
}

TEST(NotifySafekeepers, RendersHostAndPgPortFromTheDirectory) {
  EXPECT_EQ(render_safekeepers(parse_safekeepers(kJoint), directory()),
            "g#2:sk1.example:5454,sk2.example:5454,sk3.example:5454,sk4.example:5454");
  EXPECT_EQ(render_safekeepers(parse_safekeepers(kFinal), directory()),
            "g#3:sk2.example:5454,sk3.example:5454,sk4.example:5454");
}

TEST(NotifySafekeepers, KeepsTheOrderOfTheBody) {
  SafekeeperDirectory d;
  d.replace({record(2, "sk2", 5454), record(3, "10.0.0.3", 6500), record(7, "sk7", 5454)});
  auto req = parse_safekeepers(body("5", R"([{"id":7,"hostname":null},{"id":2,"hostname":"x"},{"id":3}])"));
  EXPECT_EQ(req.ids, std::vector<int64_t>({7, 2, 3}));
  EXPECT_EQ(render_safekeepers(req, d), "g#5:sk7:5454,sk2:5454,10.0.0.3:6500");
}

TEST(NotifySafekeepers, AcceptsUpperCaseIdsAndTheLargestGeneration) {
  std::string b = R"({"tenant_id":"1F359DD625E519A1A4E8D7509690F6FC","timeline_id":"DE200BD42B49CC1814412C7E592DD6E9","generation":4294967295,"safekeepers":[{"id":1,"hostname":"a"}]})";
  auto req = parse_safekeepers(b);
  EXPECT_EQ(req.tenant_id, kTenant);
  EXPECT_EQ(req.timeline_id, kTimeline);
  EXPECT_EQ(req.generation, 4294967295u);
}

TEST(NotifySafekeepers, RefusesBadBodiesWith400) {
  const std::string one = R"([{"id":1,"hostname":"sk1"}])";
  EXPECT_EQ(status_of("not json"), 400);
  EXPECT_EQ(status_of("[]"), 400);
  EXPECT_EQ(status_of(body("0", one)), 400);           // generation 0 is invalid
  EXPECT_EQ(status_of(body("-1", one)), 400);
  EXPECT_EQ(status_of(body("4294967296", one)), 400);  // above u32
  EXPECT_EQ(status_of(body("\"3\"", one)), 400);       // wrong types
  EXPECT_EQ(status_of(body("3.0", one)), 400);
  EXPECT_EQ(status_of(body("3", R"({"id":1})")), 400);
  EXPECT_EQ(status_of(body("3", R"([{"id":"1"}])")), 400);
  EXPECT_EQ(status_of(body("3", R"([{"id":1,"hostname":5}])")), 400);
  EXPECT_EQ(status_of(body("3", R"([{"hostname":"sk1"}])")), 400);
  EXPECT_EQ(status_of(body("3", "[]")), 400);          // empty list
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","generation":3,"safekeepers":[{"id":1}]})"),
            400);                                      // no timeline_id
  EXPECT_EQ(status_of(R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","timeline_id":"xyz","generation":3,"safekeepers":[{"id":1}]})"),
            400);
}

TEST(NotifySafekeepers, RefusesDuplicateIdsNamingThem) {
  try {
    parse_safekeepers(body("3", R"([{"id":1234,"hostname":"a"},{"id":1234,"hostname":"a"}])"));
    FAIL() << "duplicate ids were accepted";
  } catch (const HookError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_NE(std::string(e.what()).find("1234, 1234"), std::string::npos) << e.what();
  }
}

TEST(NotifySafekeepers, AcceptsAtMost31Safekeepers) {
  auto list = [](int n) {
    std::string s = "[";
    for (int i = 1; i <= n; i++) s += (i > 1 ? "," : "") + std::string(R"({"id":)") + std::to_string(i) + "}";
    return s + "]";
  };
  EXPECT_EQ(parse_safekeepers(body("3", list(31))).ids.size(), 31u);
  EXPECT_EQ(status_of(body("3", list(32))), 400);
}

TEST(NotifySafekeepers, UnknownIdsAreListedAndRenderingAnswers503) {
  auto req = parse_safekeepers(body("3", R"([{"id":9},{"id":2},{"id":8}])"));
  EXPECT_EQ(directory().missing(req.ids), std::vector<int64_t>({8, 9}));
  EXPECT_TRUE(directory().missing(parse_safekeepers(kJoint).ids).empty());
  try {
    render_safekeepers(req, directory());
    FAIL() << "an unknown id was rendered";
  } catch (const HookError& e) {
    EXPECT_EQ(e.status, 503);
    EXPECT_NE(std::string(e.what()).find("9"), std::string::npos);
  }
}

TEST(NotifySafekeepers, RefusesHostsThatWouldBreakTheSettingWith503) {
  EXPECT_EQ(render_status(record(1, "sk1.example")), 0);
  EXPECT_EQ(render_status(record(1, "192.168.0.7")), 0);
  EXPECT_EQ(render_status(record(1, "a,b")), 503);
  EXPECT_EQ(render_status(record(1, "sk1'")), 503);
  EXPECT_EQ(render_status(record(1, "sk\"1")), 503);
  EXPECT_EQ(render_status(record(1, "sk 1")), 503);
  EXPECT_EQ(render_status(record(1, "sk1\n")), 503);
  EXPECT_EQ(render_status(record(1, "sk1:5454")), 503);
  EXPECT_EQ(render_status(record(1, "::1")), 503);  // IPv6: Neon splits the host at the first ':'
  EXPECT_EQ(render_status(record(1, "fd00::7")), 503);
  EXPECT_EQ(render_status(record(1, "")), 503);
  EXPECT_EQ(render_status(record(1, "sk1", 0)), 503);
  EXPECT_EQ(render_status(record(1, "sk1", 65536)), 503);
}

TEST(NotifySafekeepers, ReadsSettingsLikeTheWalproposer) {
  auto with_gen = parse_safekeepers_setting("g#3:a:1,b:2");
  ASSERT_TRUE(with_gen);
  EXPECT_EQ(with_gen->generation, 3u);
  EXPECT_EQ(with_gen->entries, std::vector<std::string>({"a:1", "b:2"}));

  auto no_gen = parse_safekeepers_setting("a:1,b:2");
  ASSERT_TRUE(no_gen);
  EXPECT_EQ(no_gen->generation, 0u);
  EXPECT_EQ(no_gen->entries, std::vector<std::string>({"a:1", "b:2"}));

  auto empty = parse_safekeepers_setting("");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->generation, 0u);
  EXPECT_TRUE(empty->entries.empty());

  auto trailing = parse_safekeepers_setting("g#4:a:1,");  // the walproposer stops at the end too
  ASSERT_TRUE(trailing);
  EXPECT_EQ(trailing->entries, std::vector<std::string>({"a:1"}));

  EXPECT_FALSE(parse_safekeepers_setting("g#x:a:1"));
  EXPECT_FALSE(parse_safekeepers_setting("g#3a:1"));  // no ':' after the generation
  EXPECT_FALSE(parse_safekeepers_setting("g#:a:1"));
  EXPECT_FALSE(parse_safekeepers_setting("g#4294967296:a:1"));
  EXPECT_FALSE(parse_safekeepers_setting("a"));      // "port is not specified"
  EXPECT_FALSE(parse_safekeepers_setting("a:1,,b:2"));
  EXPECT_FALSE(parse_safekeepers_setting(":1"));
  EXPECT_FALSE(parse_safekeepers_setting("a:"));
}

TEST(NotifySafekeepers, NotHostedWhenTenantOrTimelineDiffers) {
  auto req = parse_safekeepers(kFinal);
  auto other_tenant = decide(req, "", true, "00000000000000000000000000000001");
  EXPECT_EQ(other_tenant.kind, SafekeepersDecision::NotHosted);
  EXPECT_TRUE(other_tenant.value.empty());
  // Same tenant, another timeline of it: still not this compute's business.
  EXPECT_EQ(decide(req, "", true, kTenant, "00000000000000000000000000000002").kind,
            SafekeepersDecision::NotHosted);
  // Unset tenant/timeline accept anything; the comparison ignores case.
  EXPECT_EQ(decide(req, "", true, "", "").kind, SafekeepersDecision::Apply);
  EXPECT_EQ(decide(req, "", true, "1F359DD625E519A1A4E8D7509690F6FC", "DE200BD42B49CC1814412C7E592DD6E9").kind,
            SafekeepersDecision::Apply);
}

TEST(NotifySafekeepers, ReplicasChangeNothing) {
  auto d = decide(parse_safekeepers(kFinal), "g#2:sk1.example:5454", false);
  EXPECT_EQ(d.kind, SafekeepersDecision::Replica);
  EXPECT_TRUE(d.value.empty());
}

TEST(NotifySafekeepers, LowerGenerationIsStale) {
  auto joint = parse_safekeepers(kJoint);  // generation 2
  auto d = decide(joint, "g#3:sk2.example:5454,sk3.example:5454,sk4.example:5454");
  EXPECT_EQ(d.kind, SafekeepersDecision::Stale);
  EXPECT_TRUE(d.value.empty());
  // Decided before any id lookup: a stale notification naming unknown ids is still a 200.
  auto unknown = parse_safekeepers(body("1", R"([{"id":99}])"));
  auto early = precheck_safekeepers(unknown, kTenant, kTimeline, true, "g#3:sk2.example:5454");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->kind, SafekeepersDecision::Stale);
  EXPECT_FALSE(precheck_safekeepers(joint, kTenant, kTimeline, true, "g#1:sk1.example:5454"));
}

TEST(NotifySafekeepers, SameGenerationAndSetIsUnchangedInAnyOrder) {
  auto final_conf = parse_safekeepers(kFinal);
  EXPECT_EQ(decide(final_conf, "g#3:sk2.example:5454,sk3.example:5454,sk4.example:5454").kind,
            SafekeepersDecision::Unchanged);
  EXPECT_EQ(decide(final_conf, "g#3:sk4.example:5454,sk2.example:5454,sk3.example:5454").kind,
            SafekeepersDecision::Unchanged);
  // Same generation, another set: storcon's list wins.
  auto d = decide(final_conf, "g#3:sk1.example:5454,sk2.example:5454,sk3.example:5454");
  EXPECT_EQ(d.kind, SafekeepersDecision::Apply);
  EXPECT_EQ(d.value, "g#3:sk2.example:5454,sk3.example:5454,sk4.example:5454");
}

TEST(NotifySafekeepers, AppliesANewerGenerationOrAReplacementForAnUnreadableValue) {
  auto final_conf = parse_safekeepers(kFinal);
  const std::string expected = "g#3:sk2.example:5454,sk3.example:5454,sk4.example:5454";
  for (const char* in_effect : {"g#2:sk1.example:5454,sk2.example:5454,sk3.example:5454,sk4.example:5454",
                                "sk2.example:5454,sk3.example:5454,sk4.example:5454",  // generation 0
                                "", "g#x:garbage"}) {
    auto d = decide(final_conf, in_effect);
    EXPECT_EQ(d.kind, SafekeepersDecision::Apply) << in_effect;
    EXPECT_EQ(d.value, expected) << in_effect;
    EXPECT_FALSE(d.detail.empty());
  }
}

namespace {
// The HookError message of parse_safekeepers, "" when the body is accepted.
std::string message_of(const std::string& b) {
  try {
    parse_safekeepers(b);
    return "";
  } catch (const HookError& e) {
    EXPECT_EQ(e.status, 400) << b;
    return e.what();
  }
}
}  // namespace

TEST(NotifySafekeepers, RefusesDuplicateKeysThatCouldChangeTheMeaning) {
  const std::string one = R"([{"id":1,"hostname":"sk1"}])";
  EXPECT_EQ(message_of(body("3", one)), "");
  std::string twice = body("3", one);
  twice.insert(twice.size() - 1, R"(,"generation":9)");  // a second generation would win silently
  EXPECT_EQ(message_of(twice), "duplicate key \"generation\"");
  twice = body("3", one);
  twice.insert(twice.size() - 1, R"(,"safekeepers":[{"id":2}])");
  EXPECT_EQ(message_of(twice), "duplicate key \"safekeepers\"");
  twice = body("3", one);
  twice.insert(twice.size() - 1, R"(,"timeline_id":"00000000000000000000000000000000")");
  EXPECT_EQ(message_of(twice), "duplicate key \"timeline_id\"");
  EXPECT_EQ(message_of(body("3", R"([{"id":1,"id":2}])")), "duplicate key \"id\"");
  EXPECT_EQ(message_of(body("3", R"([{"id":1,"hostname":"a","hostname":"b"}])")), "duplicate key \"hostname\"");
}

TEST(NotifySafekeepers, RefusesDeepNesting) {
  EXPECT_EQ(message_of(body("3", R"([{"id":1,"x":[[[[[1]]]]]}])")), "");  // depth 8 in all
  EXPECT_EQ(message_of(body("3", R"([{"id":1,"x":[[[[[[1]]]]]]}])")), "JSON nested deeper than 8 levels");
  EXPECT_EQ(message_of(std::string(65536, '[')), "JSON nested deeper than 8 levels");
}

TEST(NotifySafekeepers, RefusesIdsOfTheWrongShape) {
  const std::string ok = body("3", R"([{"id":1}])");
  for (const char* id : {"", "de200bd42b49cc1814412c7e592dd6e", "de200bd42b49cc1814412c7e592dd6e90",
                         "de200bd42b49cc1814412c7e592dd6eg", "de200bd42b49cc18 4412c7e592dd6e9"}) {
    std::string b = ok;
    b.replace(b.find(kTimeline), 32, id);
    EXPECT_EQ(message_of(b), "timeline_id must be 32 hexadecimal characters") << id;
    b = ok;
    b.replace(b.find(kTenant), 32, id);
    EXPECT_EQ(message_of(b), "tenant_id must be 32 hexadecimal characters") << id;
  }
}

TEST(NotifySafekeepers, RefusesSafekeeperIdsOutOfRange) {
  EXPECT_EQ(message_of(body("3", R"([{"id":0},{"id":9223372036854775807}])")), "");
  for (const char* id : {"-1", "9223372036854775808", "18446744073709551615"})
    EXPECT_EQ(message_of(body("3", std::string(R"([{"id":)") + id + "}]")), "field \"id\" is out of range") << id;
  for (const char* id : {"1.0", "1e2", "null", "true", "\"1\""})
    EXPECT_NE(message_of(body("3", std::string(R"([{"id":)") + id + "}]")), "") << id;
}

TEST(NotifySafekeepers, RefusesMoreHostCharactersWith503) {
  for (const std::string& host : {std::string("sk\t1"), std::string("sk\0" "1", 3), std::string("sk\\1"),
                                  std::string("sk1\x7f"), std::string("sk\r1"), std::string("sk=1"),
                                  std::string("sk\xc3\xa9"), std::string("sk1@x"), std::string("sk1/x")})
    EXPECT_EQ(render_status(record(1, host)), 503) << host;
  EXPECT_EQ(render_status(record(1, "sk1", 1)), 0);
  EXPECT_EQ(render_status(record(1, "sk1", 65535)), 0);
  EXPECT_EQ(render_status(record(1, "sk1", -1)), 503);
}
