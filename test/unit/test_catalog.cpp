// Decoding storcon's node and safekeeper lists (contract §3.5, §3.6) and the node directory.
#include <gtest/gtest.h>

#include "control/catalog.hpp"
#include "control/json_fields.hpp"

using namespace storcon;

namespace {
const char* kNodes = R"([
 {"id":1,"availability":"Active","scheduling":"Active","availability_zone_id":"az-1",
  "listen_http_addr":"ps1","listen_http_port":9898,"listen_https_port":null,"listen_pg_addr":"ps1",
  "listen_pg_port":6400,"listen_grpc_addr":null,"listen_grpc_port":null},
 {"id":2,"availability":"Offline","scheduling":"Pause","availability_zone_id":"az-2",
  "listen_http_addr":"ps2","listen_http_port":9898,"listen_https_port":9899,"listen_pg_addr":"10.0.0.2",
  "listen_pg_port":6400,"listen_grpc_addr":"10.0.0.2","listen_grpc_port":51051}])";
const char* kSafekeepers = R"([
 {"id":7,"region_id":"default","version":1,"host":"sk7","port":5454,"http_port":7676,"https_port":null,
  "availability_zone_id":"az-1","scheduling_policy":"Activating"}])";
}  // namespace

TEST(Catalog, DecodesNodeList) {
  auto nodes = decode_node_list(nlohmann::json::parse(kNodes));
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].node_id, 1);
  EXPECT_EQ(nodes[0].listen_pg_addr, "ps1");
  EXPECT_FALSE(nodes[0].listen_https_port.has_value());
  EXPECT_EQ(*nodes[1].listen_grpc_port, 51051);
  EXPECT_EQ(nodes[1].scheduling, "Pause");
}

TEST(Catalog, DecodesSafekeeperList) {
  auto sks = decode_safekeeper_list(nlohmann::json::parse(kSafekeepers));
  ASSERT_EQ(sks.size(), 1u);
  EXPECT_EQ(sks[0].host, "sk7");
  EXPECT_EQ(sks[0].port, 5454);
  EXPECT_EQ(sks[0].scheduling_policy, "Activating");
}

TEST(Catalog, ErrorsNameTheElementAndField) {
  auto j = nlohmann::json::parse(kNodes);
  j[1]["listen_pg_port"] = "6400";
  try {
    decode_node_list(j);
    FAIL() << "expected DecodeError";
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "node #1: field \"listen_pg_port\" must be an integer");
  }
  EXPECT_THROW(decode_node_list(nlohmann::json::parse("{}")), DecodeError);
  j = nlohmann::json::parse(kNodes);
  j[0]["listen_pg_port"] = 70000;
  EXPECT_THROW(decode_node_list(j), DecodeError);
}

TEST(Catalog, RowsRoundTripThroughTheTableShape) {
  auto nodes = decode_node_list(nlohmann::json::parse(kNodes));
  auto rows = node_rows(nodes);
  EXPECT_EQ(rows[0]["node_id"], 1);
  EXPECT_TRUE(rows[0]["listen_https_port"].is_null());
  NodeRecord back = node_from_row(rows[1]);
  EXPECT_EQ(back.node_id, 2);
  EXPECT_EQ(back.listen_pg_addr, "10.0.0.2");
  auto sk_rows = safekeeper_rows(decode_safekeeper_list(nlohmann::json::parse(kSafekeepers)));
  EXPECT_EQ(sk_rows[0]["id"], 7);
}

TEST(Catalog, DirectoryLooksUpAndReplaces) {
  NodeDirectory dir;
  dir.replace(decode_node_list(nlohmann::json::parse(kNodes)));
  ASSERT_NE(dir.find(2), nullptr);
  EXPECT_EQ(dir.find(2)->listen_pg_addr, "10.0.0.2");
  EXPECT_EQ(dir.find(3), nullptr);
  dir.replace({});
  EXPECT_EQ(dir.find(1), nullptr);
  EXPECT_EQ(dir.size(), 0u);
}
