// compute_ctl's config file: identity, and the rewrite of storage settings in every form the file
// can carry them (control/compute_spec.hpp), including the orderings and duplicates that decide
// what compute_ctl and PostgreSQL end up using.
#include <gtest/gtest.h>

#include "control/compute_spec.hpp"

#include <nlohmann/json.hpp>

using namespace storcon;
using OJson = nlohmann::ordered_json;

namespace {

const char* kTenant = "1f359dd625e519a1a4e8d7509690f6fc";
const char* kTimeline = "de200bd42b49cc1814412c7e592dd6e9";

std::string url(int port) {
  return "postgres://no_user@ps" + std::to_string(port) + ":" + std::to_string(port);
}

ShardMapUpdate one_shard(int64_t node, int port) {
  ShardMapUpdate m;
  m.shards.push_back({node, url(port), std::nullopt});
  return m;
}

ShardMapUpdate two_shards(uint32_t stripe = 2048) {
  ShardMapUpdate m;
  m.shards.push_back({1, url(6401), std::nullopt});
  m.shards.push_back({2, url(6402), std::nullopt});
  m.stripe_size = stripe;
  m.shard_count = 2;
  return m;
}

SafekeeperSetUpdate three_sks(uint32_t gen = 3) { return {gen, {"sk1:5454", "sk2:5454", "sk3:5454"}}; }

// A ComputeConfig whose storage is in spec fields, with fields we do not know.
std::string spec_fields_config() {
  return R"({
    "spec": {
        "format_version": 1.0,
        "zzz_unknown": {"b": 1, "a": [1, 2]},
        "suspend_timeout_seconds": -1,
        "cluster": {"roles": [], "databases": [], "settings": [
            {"name": "fsync", "value": "off", "vartype": "bool"}
        ]},
        "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc",
        "timeline_id": "de200bd42b49cc1814412c7e592dd6e9",
        "pageserver_connstring": "postgres://no_user@old:6400",
        "safekeeper_connstrings": ["old1:5454", "old2:5454", "old3:5454"],
        "safekeepers_generation": 1,
        "mode": "Primary"
    },
    "compute_ctl_config": {"jwks": {"keys": []}}
}
)";
}

// Neon's docker-compose form: every neon setting in cluster.settings.
std::string settings_config(const std::string& extra_settings = "") {
  return std::string(R"({"spec": {"format_version": 1.0, "suspend_timeout_seconds": -1,
    "cluster": {"roles": [], "databases": [], "settings": [
      {"name": "shared_preload_libraries", "value": "neon", "vartype": "string"},
      {"name": "neon.safekeepers", "value": "sk1:5454,sk2:5454,sk3:5454", "vartype": "string"},
      {"name": "neon.timeline_id", "value": "de200bd42b49cc1814412c7e592dd6e9", "vartype": "string"},
      {"name": "neon.tenant_id", "value": "1f359dd625e519a1a4e8d7509690f6fc", "vartype": "string"},
      {"name": "neon.pageserver_connstring", "value": "host=pageserver port=6400", "vartype": "string"})") +
         extra_settings + R"(
    ]}}, "compute_ctl_config": {"jwks": {"keys": []}}})";
}

OJson parse(const std::string& text) { return OJson::parse(text); }

const OJson& spec_of(const OJson& j) { return j.contains("spec") ? j["spec"] : j; }

// The settings entries (name, value) in order.
std::vector<std::pair<std::string, std::string>> settings_of(const OJson& j) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : spec_of(j)["cluster"]["settings"])
    out.emplace_back(e["name"].get<std::string>(),
                     e["value"].is_null() ? "<null>" : e["value"].get<std::string>());
  return out;
}

std::vector<size_t> positions(const OJson& j, const std::string& name) {
  std::vector<size_t> out;
  auto s = settings_of(j);
  for (size_t i = 0; i < s.size(); i++)
    if (s[i].first == name) out.push_back(i);
  return out;
}

std::vector<std::string> keys_of(const OJson& obj) {
  std::vector<std::string> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) out.push_back(it.key());
  return out;
}

}  // namespace

TEST(ComputeSpec, IdentityFromSpecFields) {
  ComputeIdentity id = read_compute_identity(spec_fields_config());
  EXPECT_EQ(id.tenant_id, kTenant);
  EXPECT_EQ(id.timeline_id, kTimeline);
  EXPECT_FALSE(id.safekeeper_proto_version.has_value());
  EXPECT_TRUE(id.primary);
}

TEST(ComputeSpec, IdentityFromSettingsAndProtoVersion) {
  auto text =
      settings_config(R"(, {"name": "neon.safekeeper_proto_version", "value": "2", "vartype": "integer"})");
  ComputeIdentity id = read_compute_identity(text);
  EXPECT_EQ(id.tenant_id, kTenant);
  EXPECT_EQ(id.timeline_id, kTimeline);
  ASSERT_TRUE(id.safekeeper_proto_version.has_value());
  EXPECT_EQ(*id.safekeeper_proto_version, 2);
}

TEST(ComputeSpec, ProtoVersionFromPostgresqlConfIsOverriddenBySettings) {
  std::string only_conf = R"({"cluster": {"roles": [], "databases": [],
      "postgresql_conf": "shared_buffers = 1MB\n# neon.safekeeper_proto_version = 9\nneon.safekeeper_proto_version = '2' # old neon\n"},
      "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc", "timeline_id": "de200bd42b49cc1814412c7e592dd6e9"})";
  EXPECT_EQ(read_compute_identity(only_conf).safekeeper_proto_version, 2);

  std::string both = R"({"cluster": {"roles": [], "databases": [],
      "postgresql_conf": "neon.safekeeper_proto_version = 2\n",
      "settings": [{"name": "neon.safekeeper_proto_version", "value": "3", "vartype": "integer"}]},
      "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc", "timeline_id": "de200bd42b49cc1814412c7e592dd6e9"})";
  EXPECT_EQ(read_compute_identity(both).safekeeper_proto_version, 3);
}

TEST(ComputeSpec, ReplicaAndStaticAreNotPrimary) {
  std::string base =
      R"({"cluster": {"roles": [], "databases": []}, "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc",
                         "timeline_id": "de200bd42b49cc1814412c7e592dd6e9", "mode": )";
  EXPECT_FALSE(read_compute_identity(base + R"("Replica"})").primary);
  EXPECT_FALSE(read_compute_identity(base + R"({"Static": "0/169AD58"}})").primary);
  EXPECT_TRUE(read_compute_identity(base + R"("Primary"})").primary);
  EXPECT_THROW(read_compute_identity(base + R"("Leader"})"), ComputeSpecError);
}

TEST(ComputeSpec, IdentityErrorsNameTheProblem) {
  auto message = [](const std::string& text) {
    try {
      read_compute_identity(text);
    } catch (const ComputeSpecError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(message("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(message("[1]").find("JSON object"), std::string::npos);
  EXPECT_NE(message(R"({"spec": null, "compute_ctl_config": {}})").find("no \"spec\""), std::string::npos);
  EXPECT_NE(message(R"({"foo": 1})").find("neither a ComputeConfig"), std::string::npos);
  EXPECT_NE(message(R"({"cluster": {}, "a": 1, "a": 2})").find("duplicate key"), std::string::npos);
  EXPECT_NE(message(R"({"cluster": {}})").find("names no tenant id"), std::string::npos);
  // The docker-compose template before compute.sh substituted the ids.
  std::string placeholder = settings_config();
  placeholder.replace(placeholder.find(kTenant), 32, "TENANT_ID");
  EXPECT_NE(message(placeholder).find("\"TENANT_ID\", not a tenant id"), std::string::npos);
  // The spec field and a settings entry disagree: PostgreSQL and compute_ctl would use different ids.
  std::string two = R"({"cluster": {"roles": [], "databases": [], "settings": [
      {"name": "neon.tenant_id", "value": "00000000000000000000000000000001", "vartype": "string"}]},
      "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc", "timeline_id": "de200bd42b49cc1814412c7e592dd6e9"})";
  EXPECT_NE(message(two).find("names two tenant ids"), std::string::npos);
  // Two settings entries that disagree.
  std::string dup = settings_config(
      R"(, {"name": "neon.timeline_id", "value": "00000000000000000000000000000002", "vartype": "string"})");
  EXPECT_NE(message(dup).find("names two timeline ids"), std::string::npos);
  // Upper-case ids are the same id.
  std::string upper = settings_config(
      R"(, {"name": "neon.tenant_id", "value": "1F359DD625E519A1A4E8D7509690F6FC", "vartype": "string"})");
  EXPECT_EQ(read_compute_identity(upper).tenant_id, kTenant);
}

TEST(ComputeSpec, RefusesOversizedAndDeeplyNestedFiles) {
  std::string big(kMaxComputeConfigBytes + 1, ' ');
  EXPECT_THROW(read_compute_identity(big), ComputeSpecError);
  std::string deep = std::string(200, '[') + std::string(200, ']');
  EXPECT_THROW(read_compute_identity(deep), ComputeSpecError);
}

TEST(ComputeSpec, SpecFieldsFormIsRewrittenInPlace) {
  const std::string text = spec_fields_config();
  ComputeSpecUpdate u;
  u.shard_map = two_shards();
  u.safekeepers = three_sks(5);
  RewriteResult r = rewrite_compute_spec(text, u);
  ASSERT_TRUE(r.changed);
  OJson j = parse(r.text);
  const OJson& spec = j["spec"];
  EXPECT_EQ(spec["pageserver_connstring"], url(6401) + "," + url(6402));
  EXPECT_EQ(spec["shard_stripe_size"], 2048);
  EXPECT_EQ(spec["safekeeper_connstrings"], OJson({"sk1:5454", "sk2:5454", "sk3:5454"}));
  EXPECT_EQ(spec["safekeepers_generation"], 5);
  // Unknown fields and key order are kept; the new key comes last.
  EXPECT_EQ(spec["zzz_unknown"], OJson::parse(R"({"b": 1, "a": [1, 2]})"));
  auto keys = keys_of(spec);
  EXPECT_EQ(keys.front(), "format_version");
  EXPECT_EQ(keys[1], "zzz_unknown");
  EXPECT_EQ(keys.back(), "shard_stripe_size");
  EXPECT_EQ(keys_of(j), (std::vector<std::string>{"spec", "compute_ctl_config"}));
  // Layout of the original: 4-space indentation, trailing newline.
  EXPECT_NE(r.text.find("\n    \"spec\": {\n        \"format_version\": 1.0"), std::string::npos);
  EXPECT_EQ(r.text.back(), '\n');
  EXPECT_FALSE(r.changes.empty());

  // The same update again: nothing to do, the text comes back byte for byte.
  RewriteResult again = rewrite_compute_spec(r.text, u);
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.text, r.text);
  EXPECT_TRUE(again.changes.empty());
}

TEST(ComputeSpec, UnchangedInputIsReturnedByteForByte) {
  // Odd formatting that a re-serialisation would change.
  std::string text =
      "{ \"cluster\" : "
      "{\"roles\":[],\"databases\":[]},\t\"tenant_id\":\"1f359dd625e519a1a4e8d7509690f6fc\",\n"
      "\"timeline_id\":\"de200bd42b49cc1814412c7e592dd6e9\", \"pageserver_connstring\": \"" +
      url(6401) +
      "\", \"format_version\": 1.00, \"safekeeper_connstrings\": [\"sk1:5454\",\"sk2:5454\",\"sk3:5454\"],"
      " \"safekeepers_generation\": 3 }";
  ComputeSpecUpdate u;
  u.shard_map = one_shard(1, 6401);
  u.safekeepers = three_sks(3);
  RewriteResult r = rewrite_compute_spec(text, u);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(r.text, text);
}

TEST(ComputeSpec, CompactFileStaysCompact) {
  std::string text =
      R"({"cluster":{"roles":[],"databases":[]},"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","timeline_id":"de200bd42b49cc1814412c7e592dd6e9","pageserver_connstring":"x"})";
  ComputeSpecUpdate u;
  u.shard_map = one_shard(1, 6401);
  RewriteResult r = rewrite_compute_spec(text, u);
  ASSERT_TRUE(r.changed);
  EXPECT_EQ(r.text.find('\n'), std::string::npos);
  EXPECT_EQ(parse(r.text)["pageserver_connstring"], url(6401));
}

TEST(ComputeSpec, BareSpecForm) {
  std::string text = R"({
  "format_version": 1.0,
  "cluster": {"roles": [], "databases": []},
  "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc",
  "timeline_id": "de200bd42b49cc1814412c7e592dd6e9",
  "pageserver_connstring": "postgres://no_user@old:6400"
})";
  ComputeSpecUpdate u;
  u.shard_map = one_shard(7, 6407);
  RewriteResult r = rewrite_compute_spec(text, u);
  ASSERT_TRUE(r.changed);
  OJson j = parse(r.text);
  EXPECT_FALSE(j.contains("spec"));
  EXPECT_EQ(j["pageserver_connstring"], url(6407));
  EXPECT_FALSE(j.contains("shard_stripe_size"));  // one shard: the stripe size does not matter
  EXPECT_NE(r.text.find("\n  \"format_version\""), std::string::npos);  // 2-space indentation kept
}

TEST(ComputeSpec, ConnectionInfoFormFollowsAMoveAndASplit) {
  std::string text = R"({"spec": {"cluster": {"roles": [], "databases": []},
    "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc", "timeline_id": "de200bd42b49cc1814412c7e592dd6e9",
    "pageserver_connection_info": {"shard_count": 0, "stripe_size": null,
      "shards": {"0000": {"pageservers": [{"id": 1, "libpq_url": "postgres://no_user@ps6401:6401",
                                            "grpc_url": "grpc://no_user@ps1:51051", "extra": true}]}},
      "prefer_protocol": "libpq"}}, "compute_ctl_config": {"jwks": {"keys": []}}})";
  // Same node, the update does not know the gRPC address: nothing changes.
  ComputeSpecUpdate same;
  same.shard_map = one_shard(1, 6401);
  EXPECT_FALSE(rewrite_compute_spec(text, same).changed);

  // A move to node 2.
  ComputeSpecUpdate moved;
  moved.shard_map = one_shard(2, 6402);
  RewriteResult r = rewrite_compute_spec(text, moved);
  ASSERT_TRUE(r.changed);
  OJson info = parse(r.text)["spec"]["pageserver_connection_info"];
  EXPECT_EQ(info["shard_count"], 0);
  EXPECT_TRUE(info["stripe_size"].is_null());
  EXPECT_EQ(keys_of(info["shards"]), std::vector<std::string>{"0000"});
  OJson ps = info["shards"]["0000"]["pageservers"];
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0]["id"], 2);
  EXPECT_EQ(ps[0]["libpq_url"], url(6402));
  EXPECT_TRUE(ps[0]["grpc_url"].is_null());  // node 1's gRPC address is not node 2's
  EXPECT_EQ(keys_of(info),
            (std::vector<std::string>{"shard_count", "stripe_size", "shards", "prefer_protocol"}));

  // A split to 4 shards: keys NNCC with the new count, stripe size set.
  ComputeSpecUpdate split;
  split.shard_map = ShardMapUpdate{};
  for (int i = 0; i < 4; i++)
    split.shard_map->shards.push_back(
        {i + 1, url(6401 + i), "grpc://no_user@ps:" + std::to_string(51051 + i)});
  split.shard_map->stripe_size = 32768;
  r = rewrite_compute_spec(text, split);
  info = parse(r.text)["spec"]["pageserver_connection_info"];
  EXPECT_EQ(info["shard_count"], 4);
  EXPECT_EQ(info["stripe_size"], 32768);
  EXPECT_EQ(keys_of(info["shards"]), (std::vector<std::string>{"0004", "0104", "0204", "0304"}));
  EXPECT_EQ(info["shards"]["0204"]["pageservers"][0]["id"], 3);
  EXPECT_EQ(info["shards"]["0204"]["pageservers"][0]["grpc_url"], "grpc://no_user@ps:51053");
  EXPECT_EQ(info["shards"]["0004"]["pageservers"][0]["libpq_url"], url(6401));
}

TEST(ComputeSpec, ConnectionInfoKeepsOrTakesTheLiteralShardCount) {
  auto with_count = [](int count) {
    return std::string(
               R"({"cluster": {"roles": [], "databases": []}, "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc",
      "timeline_id": "de200bd42b49cc1814412c7e592dd6e9", "pageserver_connection_info": {"shard_count": )") +
           std::to_string(count) + R"(, "stripe_size": )" + (count == 0 ? "null" : "2048") +
           R"(, "shards": {"00)" + (count == 0 ? "00" : "01") +
           R"(": {"pageservers": [{"id": 1, "libpq_url": "postgres://no_user@ps6401:6401", "grpc_url": null}]}}}})";
  };
  // A notification does not say 0 or 1: the file's count stays.
  ComputeSpecUpdate hook;
  hook.shard_map = one_shard(2, 6402);
  OJson info = parse(rewrite_compute_spec(with_count(1), hook).text)["pageserver_connection_info"];
  EXPECT_EQ(info["shard_count"], 1);
  EXPECT_EQ(info["stripe_size"], 2048);
  EXPECT_TRUE(info["shards"].contains("0001"));
  // storcon's describe says count 0: keys and stripe follow.
  ComputeSpecUpdate described = hook;
  described.shard_map->shard_count = 0;
  described.shard_map->stripe_size = 2048;
  info = parse(rewrite_compute_spec(with_count(1), described).text)["pageserver_connection_info"];
  EXPECT_EQ(info["shard_count"], 0);
  EXPECT_TRUE(info["stripe_size"].is_null());
  EXPECT_EQ(keys_of(info["shards"]), std::vector<std::string>{"0000"});
}

TEST(ComputeSpec, GrpcPreferringFileNeedsGrpcAddresses) {
  std::string text =
      R"({"cluster": {"roles": [], "databases": []}, "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc",
    "timeline_id": "de200bd42b49cc1814412c7e592dd6e9", "pageserver_connection_info": {"shard_count": 0,
    "stripe_size": null, "shards": {"0000": {"pageservers": [{"id": 1, "libpq_url": "postgres://no_user@ps6401:6401",
    "grpc_url": "grpc://no_user@ps1:51051"}]}}, "prefer_protocol": "grpc"}})";
  ComputeSpecUpdate u;
  u.shard_map = one_shard(2, 6402);
  try {
    rewrite_compute_spec(text, u);
    FAIL() << "a gRPC basebackup without a gRPC address was accepted";
  } catch (const ComputeSpecError& e) {
    EXPECT_NE(std::string(e.what()).find("prefers gRPC"), std::string::npos);
  }
  u.shard_map->shards[0].grpc_url = "grpc://no_user@ps2:51052";
  OJson info = parse(rewrite_compute_spec(text, u).text)["pageserver_connection_info"];
  EXPECT_EQ(info["shards"]["0000"]["pageservers"][0]["grpc_url"], "grpc://no_user@ps2:51052");
}

TEST(ComputeSpec, SettingsFormLikeNeonsDockerCompose) {
  ComputeSpecUpdate u;
  u.shard_map = two_shards(16384);
  u.safekeepers = three_sks(4);
  RewriteResult r = rewrite_compute_spec(settings_config(), u);
  ASSERT_TRUE(r.changed);
  OJson j = parse(r.text);
  auto s = settings_of(j);
  // neon.stripe_size was inserted right before the connstring entry.
  auto stripe = positions(j, "neon.stripe_size");
  auto conn = positions(j, "neon.pageserver_connstring");
  ASSERT_EQ(stripe.size(), 1u);
  ASSERT_EQ(conn.size(), 1u);
  EXPECT_EQ(stripe[0] + 1, conn[0]);
  EXPECT_EQ(s[stripe[0]].second, "16384");
  EXPECT_EQ(j["spec"]["cluster"]["settings"][stripe[0]]["vartype"], "integer");
  EXPECT_EQ(s[conn[0]].second, url(6401) + "," + url(6402));
  // PostgreSQL gets the generation; compute_ctl's own list (spec field) has no prefix.
  auto sk = positions(j, "neon.safekeepers");
  ASSERT_EQ(sk.size(), 1u);
  EXPECT_EQ(s[sk[0]].second, "g#4:sk1:5454,sk2:5454,sk3:5454");
  EXPECT_EQ(j["spec"]["safekeeper_connstrings"], OJson({"sk1:5454", "sk2:5454", "sk3:5454"}));
  EXPECT_EQ(j["spec"]["safekeepers_generation"], 4);
  // No spec field for the pageserver was added: the settings stay compute_ctl's source.
  EXPECT_FALSE(j["spec"].contains("pageserver_connstring"));
  EXPECT_FALSE(j["spec"].contains("pageserver_connection_info"));
  // Other entries untouched, in order.
  EXPECT_EQ(s[0], (std::pair<std::string, std::string>{"shared_preload_libraries", "neon"}));

  EXPECT_FALSE(rewrite_compute_spec(r.text, u).changed);
}

TEST(ComputeSpec, SettingsFormWithoutPrefixNeedsNoSpecList) {
  ComputeSpecUpdate u;
  u.safekeepers = three_sks(4);
  u.generation_prefix = false;
  RewriteResult r = rewrite_compute_spec(settings_config(), u);
  // The settings value already is the list; no prefix means compute_ctl can split it as is.
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(r.text, settings_config());

  u.safekeepers->entries = {"sk4:5454", "sk2:5454", "sk3:5454"};
  r = rewrite_compute_spec(settings_config(), u);
  OJson j = parse(r.text);
  EXPECT_EQ(settings_of(j)[positions(j, "neon.safekeepers")[0]].second, "sk4:5454,sk2:5454,sk3:5454");
  EXPECT_FALSE(j["spec"].contains("safekeeper_connstrings"));
}

TEST(ComputeSpec, StripeEntryAfterTheConnstringMovesBeforeIt) {
  // Last occurrence wins and settings take effect in the order of the winning lines: a stripe
  // entry after the connstring entry would take effect after it.
  auto text = settings_config(R"(, {"name": "neon.stripe_size", "value": "8", "vartype": "integer"},
      {"name": "work_mem", "value": "4MB", "vartype": "string"})");
  ComputeSpecUpdate u;
  u.shard_map = two_shards();
  RewriteResult r = rewrite_compute_spec(text, u);
  OJson j = parse(r.text);
  auto stripe = positions(j, "neon.stripe_size");
  auto conn = positions(j, "neon.pageserver_connstring");
  ASSERT_EQ(stripe.size(), 1u);
  EXPECT_LT(stripe.back(), conn.back());
  EXPECT_EQ(settings_of(j)[stripe[0]].second, "2048");
  EXPECT_EQ(settings_of(j).back().first, "work_mem");  // the rest keeps its order
  EXPECT_FALSE(rewrite_compute_spec(r.text, u).changed);
}

TEST(ComputeSpec, EveryOccurrenceOfASettingIsUpdated) {
  // compute_ctl reads the FIRST entry of a name, PostgreSQL the LAST: both must say the same.
  auto text = settings_config(
      R"(, {"name": "neon.pageserver_connstring", "value": "postgres://no_user@other:1", "vartype": "string"},
      {"name": "NEON.SAFEKEEPERS", "value": "x:1", "vartype": "string"})");
  ComputeSpecUpdate u;
  u.shard_map = one_shard(3, 6403);
  u.safekeepers = three_sks(2);
  u.generation_prefix = false;
  OJson j = parse(rewrite_compute_spec(text, u).text);
  auto s = settings_of(j);
  for (size_t i : positions(j, "neon.pageserver_connstring")) EXPECT_EQ(s[i].second, url(6403));
  EXPECT_EQ(positions(j, "neon.pageserver_connstring").size(), 2u);
  EXPECT_EQ(s[positions(j, "neon.safekeepers")[0]].second, "sk1:5454,sk2:5454,sk3:5454");
  EXPECT_EQ(s[positions(j, "NEON.SAFEKEEPERS")[0]].second, "sk1:5454,sk2:5454,sk3:5454");
}

TEST(ComputeSpec, SpecFieldsAndSettingsTogether) {
  // Spec fields (compute_ctl's source) and settings entries (PostgreSQL's winners) both present.
  std::string text = R"({"cluster": {"roles": [], "databases": [], "settings": [
      {"name": "neon.stripe_size", "value": "8", "vartype": "integer"},
      {"name": "neon.safekeepers", "value": "g#1:a:1,b:1,c:1", "vartype": "string"}]},
    "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc", "timeline_id": "de200bd42b49cc1814412c7e592dd6e9",
    "pageserver_connstring": "postgres://no_user@old:1,postgres://no_user@old:2", "shard_stripe_size": 8,
    "safekeeper_connstrings": ["a:1", "b:1", "c:1"], "safekeepers_generation": 1})";
  ComputeSpecUpdate u;
  u.shard_map = two_shards();
  u.safekeepers = three_sks(3);
  RewriteResult r = rewrite_compute_spec(text, u);
  OJson j = parse(r.text);
  EXPECT_EQ(j["pageserver_connstring"], url(6401) + "," + url(6402));
  EXPECT_EQ(j["shard_stripe_size"], 2048);
  EXPECT_EQ(j["safekeeper_connstrings"], OJson({"sk1:5454", "sk2:5454", "sk3:5454"}));
  EXPECT_EQ(j["safekeepers_generation"], 3);
  auto s = settings_of(j);
  EXPECT_EQ(s[positions(j, "neon.safekeepers")[0]].second, "g#3:sk1:5454,sk2:5454,sk3:5454");
  // The settings stripe entry would win after the spec fields' connstring line: the connstring is
  // repeated after it, so the stripe size takes effect first.
  auto stripe = positions(j, "neon.stripe_size");
  auto conn = positions(j, "neon.pageserver_connstring");
  ASSERT_EQ(conn.size(), 1u);
  EXPECT_EQ(conn[0], stripe[0] + 1);
  EXPECT_EQ(s[stripe[0]].second, "2048");
  EXPECT_EQ(s[conn[0]].second, url(6401) + "," + url(6402));
  EXPECT_FALSE(rewrite_compute_spec(r.text, u).changed);
}

TEST(ComputeSpec, NoGenerationPrefixRemovesTheGenerationField) {
  ComputeSpecUpdate u;
  u.safekeepers = three_sks(7);
  u.generation_prefix = false;
  OJson spec = parse(rewrite_compute_spec(spec_fields_config(), u).text)["spec"];
  EXPECT_EQ(spec["safekeeper_connstrings"], OJson({"sk1:5454", "sk2:5454", "sk3:5454"}));
  EXPECT_FALSE(spec.contains("safekeepers_generation"));
}

TEST(ComputeSpec, FileWithoutStoragePlacesGetsSpecFields) {
  std::string text =
      R"({"cluster": {"roles": [], "databases": []}, "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc",
                         "timeline_id": "de200bd42b49cc1814412c7e592dd6e9"})";
  ComputeSpecUpdate u;
  u.shard_map = two_shards();
  u.safekeepers = three_sks(1);
  RewriteResult r = rewrite_compute_spec(text, u);
  OJson j = parse(r.text);
  EXPECT_EQ(j["pageserver_connstring"], url(6401) + "," + url(6402));
  EXPECT_EQ(j["shard_stripe_size"], 2048);
  EXPECT_EQ(j["safekeepers_generation"], 1);
  EXPECT_FALSE(r.notes.empty());
}

TEST(ComputeSpec, ReplicaKeepsItsSafekeepers) {
  std::string text =
      R"({"cluster": {"roles": [], "databases": []}, "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc",
                         "timeline_id": "de200bd42b49cc1814412c7e592dd6e9", "mode": "Replica",
                         "pageserver_connstring": "postgres://no_user@ps6401:6401"})";
  ComputeSpecUpdate u;
  u.shard_map = one_shard(1, 6401);
  u.safekeepers = three_sks(3);
  RewriteResult r = rewrite_compute_spec(text, u);
  EXPECT_FALSE(r.changed);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("not a primary"), std::string::npos);
}

TEST(ComputeSpec, RefusesUpdatesNeonCannotUse) {
  ComputeSpecUpdate u;
  u.shard_map = two_shards();
  u.shard_map->stripe_size.reset();
  EXPECT_THROW(rewrite_compute_spec(spec_fields_config(), u), ComputeSpecError);  // sharded, no stripe
  u.shard_map = ShardMapUpdate{};
  for (int i = 0; i < 129; i++) u.shard_map->shards.push_back({1, url(6401), std::nullopt});
  u.shard_map->stripe_size = 8;
  EXPECT_THROW(rewrite_compute_spec(spec_fields_config(), u), ComputeSpecError);  // > 128 shards
  u.shard_map = one_shard(1, 6401);
  u.shard_map->shards[0].libpq_url = "postgres://no_user@" + std::string(250, 'a') + ":1";
  EXPECT_THROW(rewrite_compute_spec(spec_fields_config(), u), ComputeSpecError);  // entry >= 256 bytes
  u.shard_map->shards[0].libpq_url = "postgres://a:1,postgres://b:2";
  EXPECT_THROW(rewrite_compute_spec(spec_fields_config(), u), ComputeSpecError);  // a comma inside
  u.shard_map.reset();
  for (const char* bad : {"", "host", "host:", ":5454", "h:54x", "h o:1", "g#1:h:1", "h:1'"}) {
    u.safekeepers = SafekeeperSetUpdate{1, {bad}};
    EXPECT_THROW(rewrite_compute_spec(spec_fields_config(), u), ComputeSpecError) << bad;
  }
  u.safekeepers = SafekeeperSetUpdate{1, {"sk1:1", "sk2:1", "sk1:1"}};
  EXPECT_THROW(rewrite_compute_spec(spec_fields_config(), u),
               ComputeSpecError);  // compute_ctl refuses duplicates
  u.safekeepers = SafekeeperSetUpdate{1, {}};
  EXPECT_THROW(rewrite_compute_spec(spec_fields_config(), u), ComputeSpecError);
  u.safekeepers = SafekeeperSetUpdate{1, {}};
  for (int i = 0; i < 32; i++) u.safekeepers->entries.push_back("sk" + std::to_string(i) + ":1");
  EXPECT_THROW(rewrite_compute_spec(spec_fields_config(), u), ComputeSpecError);
}

TEST(ComputeSpec, RefusesStoragePlacesOfTheWrongShape) {
  ComputeSpecUpdate u;
  u.shard_map = one_shard(1, 6401);
  auto base = [](const std::string& extra) {
    return R"({"cluster": {"roles": [], "databases": []}, "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc",
               "timeline_id": "de200bd42b49cc1814412c7e592dd6e9", )" +
           extra + "}";
  };
  EXPECT_THROW(rewrite_compute_spec(base(R"("pageserver_connstring": 5)"), u), ComputeSpecError);
  EXPECT_THROW(rewrite_compute_spec(base(R"("pageserver_connection_info": [])"), u), ComputeSpecError);
  EXPECT_THROW(rewrite_compute_spec(base(R"("pageserver_connection_info": {"shards": {}})"), u),
               ComputeSpecError);
  EXPECT_THROW(rewrite_compute_spec(base(R"("pageserver_connection_info": {"shard_count": 0, "shards": {},
                                              "prefer_protocol": "carrier-pigeon"})"),
                                    u),
               ComputeSpecError);
  EXPECT_THROW(rewrite_compute_spec(base(R"("shard_stripe_size": "big", "pageserver_connstring": "x")"), u),
               ComputeSpecError);
  // A settings entry for the connstring without a value: compute_ctl would write the bare name.
  std::string no_value = R"({"cluster": {"roles": [], "databases": [], "settings": [
      {"name": "neon.pageserver_connstring", "value": null, "vartype": "string"}]},
      "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc", "timeline_id": "de200bd42b49cc1814412c7e592dd6e9"})";
  EXPECT_THROW(rewrite_compute_spec(no_value, u), ComputeSpecError);
  EXPECT_THROW(rewrite_compute_spec(base(R"("safekeeper_connstrings": "a:1")"),
                                    ComputeSpecUpdate{std::nullopt, three_sks(), true}),
               ComputeSpecError);
}

TEST(ComputeSpec, NonStringVartypeOfAConnstringBecomesString) {
  // compute_ctl writes a non-"string" value unquoted: a URL list would not parse in postgresql.conf.
  auto text = settings_config();
  text.replace(text.find(R"("host=pageserver port=6400", "vartype": "string")"),
               std::string(R"("host=pageserver port=6400", "vartype": "string")").size(),
               R"("host=pageserver port=6400", "vartype": "enum")");
  ComputeSpecUpdate u;
  u.shard_map = one_shard(1, 6401);
  OJson j = parse(rewrite_compute_spec(text, u).text);
  size_t i = positions(j, "neon.pageserver_connstring")[0];
  EXPECT_EQ(j["spec"]["cluster"]["settings"][i]["vartype"], "string");
}

TEST(ComputeSpec, RenderHelpers) {
  EXPECT_EQ(render_pageserver_connstring(two_shards()), url(6401) + "," + url(6402));
  EXPECT_EQ(render_neon_safekeepers(three_sks(9), true), "g#9:sk1:5454,sk2:5454,sk3:5454");
  EXPECT_EQ(render_neon_safekeepers(three_sks(9), false), "sk1:5454,sk2:5454,sk3:5454");
  EXPECT_EQ(render_neon_safekeepers(three_sks(0), true), "sk1:5454,sk2:5454,sk3:5454");
}

TEST(ComputeSpec, SettingsAreUpdatedAfterTheSpecGrows) {
  // Eight keys: adding shard_stripe_size makes the spec object's storage grow (and copy its
  // values) before the settings entries are edited. Found by test/e2e/test_spec_tool.py.
  std::string text = R"({"format_version": 1.0, "suspend_timeout_seconds": 300,
    "cluster": {"roles": [], "databases": [], "settings": [
      {"name": "fsync", "value": "on", "vartype": "bool"},
      {"name": "neon.stripe_size", "value": "2048", "vartype": "integer"}]},
    "tenant_id": "1f359dd625e519a1a4e8d7509690f6fc", "timeline_id": "de200bd42b49cc1814412c7e592dd6e9",
    "pageserver_connstring": "postgres://no_user@old:6400",
    "safekeeper_connstrings": ["a:1", "b:1", "c:1"], "safekeepers_generation": 1})";
  ComputeSpecUpdate u;
  u.shard_map = two_shards(4096);
  OJson j = parse(rewrite_compute_spec(text, u).text);
  EXPECT_EQ(j["shard_stripe_size"], 4096);
  auto stripe = positions(j, "neon.stripe_size");
  auto conn = positions(j, "neon.pageserver_connstring");
  ASSERT_EQ(stripe.size(), 1u);
  ASSERT_EQ(conn.size(), 1u);
  EXPECT_EQ(settings_of(j)[stripe[0]].second, "4096");
  EXPECT_LT(stripe[0], conn[0]);
}
