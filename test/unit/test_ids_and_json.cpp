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

namespace {
// The DecodeError message of parse_strict, "" when the body is accepted.
std::string strict_error(const std::string& body, int max_depth = 8) {
  try {
    parse_strict(body, max_depth);
    return "";
  } catch (const DecodeError& e) {
    return e.what();
  }
}
}  // namespace

TEST(ParseStrict, AcceptsWhatPlainParsingAccepts) {
  auto j = parse_strict(R"({"a":{"a":1},"b":[{"a":1},{"a":2}],"c":null})", 8);
  EXPECT_EQ(j["a"]["a"], 1);  // the same key in different objects is not a duplicate
  EXPECT_EQ(j["b"][1]["a"], 2);
  EXPECT_EQ(parse_strict("3", 8), 3);  // any value; callers check for an object
  EXPECT_EQ(parse_strict("[]", 1), nlohmann::json::array());
  EXPECT_EQ(strict_error(R"({"":1,"x":{"":2}})"), "");
}

TEST(ParseStrict, RefusesDuplicateKeysAtAnyDepth) {
  // nlohmann alone keeps the last value: the body would silently mean something else.
  EXPECT_EQ(nlohmann::json::parse(R"({"shards":[1],"shards":[2]})")["shards"][0], 2);
  EXPECT_EQ(strict_error(R"({"shards":[1],"shards":[2]})"), "duplicate key \"shards\"");
  EXPECT_EQ(strict_error(R"({"a":1,"a":1})"), "duplicate key \"a\"");  // even with the same value
  EXPECT_EQ(strict_error(R"({"s":[{"node_id":1,"shard_number":0,"node_id":2}]})"), "duplicate key \"node_id\"");
  EXPECT_EQ(strict_error(R"({"x":{"y":{"":1,"":2}}})"), "duplicate key \"\"");
  // Keys that differ only by escaping are the same key.
  EXPECT_EQ(strict_error(R"({"ab":1,"a\u0062":2})"), "duplicate key \"ab\"");
}

TEST(ParseStrict, KeysInMessagesAreEscapedAndShortened) {
  EXPECT_EQ(strict_error(R"({"a\nb":1,"a\nb":2})"), R"(duplicate key "a\nb")");  // no raw newline
  EXPECT_EQ(strict_error("{\"\xc3\xa9\":1,\"\xc3\xa9\":2}"), R"(duplicate key "\u00e9")");
  std::string long_key(63, 'k');
  long_key += "\xc3\xa9tail";  // the 64-byte cut falls inside the two-byte character
  std::string msg = strict_error("{\"" + long_key + "\":1,\"" + long_key + "\":2}");
  EXPECT_EQ(msg, "duplicate key \"" + std::string(63, 'k') + "\"...");
}

TEST(ParseStrict, RefusesNestingDeeperThanTheLimit) {
  EXPECT_EQ(strict_error(R"({"a":[{"b":1}]})", 3), "");
  EXPECT_EQ(strict_error(R"({"a":[{"b":[]}]})", 3), "JSON nested deeper than 3 levels");
  EXPECT_EQ(strict_error(R"({"a":[{"b":{}}]})", 3), "JSON nested deeper than 3 levels");
  EXPECT_EQ(strict_error("[[[[[[[[1]]]]]]]]"), "");
  EXPECT_EQ(strict_error("1", 0), "");
  EXPECT_EQ(strict_error("[]", 0), "JSON nested deeper than 0 levels");
  EXPECT_EQ(strict_error("[]", -1), "JSON nested deeper than -1 levels");  // never "no limit"
  EXPECT_EQ(strict_error("[[[[[[[[[1]]]]]]]]]"), "JSON nested deeper than 8 levels");
  // 64 KiB of '[' (the hook's body limit) is refused at the ninth, not parsed 65536 deep.
  EXPECT_EQ(strict_error(std::string(65536, '[')), "JSON nested deeper than 8 levels");
}

TEST(ParseStrict, InvalidJsonIsOneMessage) {
  for (const char* bad : {"", "{", "{\"a\":1,}", "[1] x", "{'a':1}", "\"\xff\"", "{\"a\":1e999}", "nul"})
    EXPECT_EQ(strict_error(bad), "request body is not valid JSON") << bad;
  // nlohmann alone stops at a NUL byte: the rest of the body would be ignored.
  EXPECT_EQ(nlohmann::json::parse(std::string("{\"a\":1}\0{\"a\":2}", 15))["a"], 1);
  EXPECT_EQ(strict_error(std::string("{\"a\":1}\0{\"a\":2}", 15)), "request body is not valid JSON");
  EXPECT_EQ(strict_error(std::string("{\"a\":1}\0", 8)), "request body is not valid JSON");
}

TEST(StrictJson, EscapedNulIsRefusedInValuesAndKeys) {
  EXPECT_NO_THROW(parse_strict(R"({"a":"x\u0001y"})", 8));
  try {
    parse_strict(R"({"preferred_az":"az\u0000-1"})", 8);
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "a string holds \\u0000 (NUL)");
  }
  EXPECT_THROW(parse_strict(R"({"a\u0000":1})", 8), DecodeError);
  EXPECT_THROW(parse_strict(R"(["ok","\u0000"])", 8), DecodeError);
}
