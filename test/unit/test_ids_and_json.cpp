// Identifier formats (contract §5) and strict JSON field access.
#include <gtest/gtest.h>

#include "control/ids.hpp"
#include "control/json_fields.hpp"

using namespace storcon;

TEST(Ids, HexIdsAreExactly32HexDigits) {
  EXPECT_TRUE(is_hex_id("1f359dd625e519a1a4e8d7509690f6fc"));
  EXPECT_TRUE(is_hex_id("1F359DD625E519A1A4E8D7509690F6FC"));
  EXPECT_FALSE(is_hex_id("1f359dd625e519a1a4e8d7509690f6f"));
  EXPECT_FALSE(is_hex_id("1f359dd625e519a1a4e8d7509690f6fg"));
  EXPECT_EQ(normalize_hex_id("1F359DD625E519A1A4E8D7509690F6FC", "tenant id"), "1f359dd625e519a1a4e8d7509690f6fc");
  EXPECT_THROW(normalize_hex_id("nope", "tenant id"), std::invalid_argument);
}

TEST(Ids, TenantShardIdsFollowTheSlugFormat) {
  EXPECT_TRUE(is_tenant_shard_id("072f1291a5310026820b2fe4b2968934"));
  EXPECT_TRUE(is_tenant_shard_id("072f1291a5310026820b2fe4b2968934-0102"));
  EXPECT_FALSE(is_tenant_shard_id("072f1291a5310026820b2fe4b2968934-012"));
  EXPECT_FALSE(is_tenant_shard_id("072f1291a5310026820b2fe4b2968934_0102"));
  EXPECT_EQ(tenant_shard_id("072f1291a5310026820b2fe4b2968934", 10, 16), "072f1291a5310026820b2fe4b2968934-0a10");
  EXPECT_EQ(tenant_shard_id("072f1291a5310026820b2fe4b2968934", 0, 0), "072f1291a5310026820b2fe4b2968934");
}

TEST(Ids, RandomIdsAreValidAndDistinct) {
  auto a = random_hex_id(), b = random_hex_id();
  EXPECT_TRUE(is_hex_id(a));
  EXPECT_NE(a, b);
}

TEST(JsonFields, RefusesWrongTypesAndRanges) {
  auto j = nlohmann::json::parse(R"({"s":"x","i":5,"f":1.5,"neg":-1,"b":true,"n":null,"str_num":"5"})");
  EXPECT_EQ(get_string(j, "s"), "x");
  EXPECT_EQ(get_int(j, "i", 0, 10), 5);
  EXPECT_THROW(get_int(j, "f", 0, 10), DecodeError);
  EXPECT_THROW(get_int(j, "str_num", 0, 10), DecodeError);
  EXPECT_THROW(get_int(j, "neg", 0, 10), DecodeError);
  EXPECT_THROW(get_int(j, "i", 0, 4), DecodeError);
  EXPECT_THROW(get_string(j, "missing"), DecodeError);
  EXPECT_FALSE(get_opt_string(j, "n").has_value());
  EXPECT_FALSE(get_opt_int(j, "missing", 0, 1).has_value());
  EXPECT_TRUE(get_bool(j, "b"));
  EXPECT_THROW(get_bool(j, "i"), DecodeError);
}

TEST(JsonFields, HugeUnsignedIsOutOfRangeNotWrapped) {
  auto j = nlohmann::json::parse(R"({"i":18446744073709551615})");
  EXPECT_THROW(get_int(j, "i", 0, INT64_MAX), DecodeError);
}
