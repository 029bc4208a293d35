// Paths storcon.api() and the administration functions may send: dot segments (raw or
// percent-encoded, any case) would be resolved away by libcurl or decoded by storcon's router and
// reach another route, so they are refused before anything is sent.
#include <gtest/gtest.h>

#include "control/request_path.hpp"

using storcon::check_request_path;

TEST(RequestPath, OrdinaryPathsPass) {
  EXPECT_NO_THROW(check_request_path("/status"));
  EXPECT_NO_THROW(check_request_path("/control/v1/node/1"));
  EXPECT_NO_THROW(check_request_path("/control/v1/node/1/delete?force=true"));
  EXPECT_NO_THROW(check_request_path("/v1/tenant/1f359dd625e519a1a4e8d7509690f6fc/timeline"));
  EXPECT_NO_THROW(check_request_path("/control/v1/tenant/"));  // trailing slash: an empty last segment
  EXPECT_NO_THROW(check_request_path("/x/.hidden/a..b/..."));  // dots inside a name are not dot segments
  EXPECT_NO_THROW(check_request_path("/x/%41%62"));            // other escapes pass
  EXPECT_NO_THROW(check_request_path("/x?next=/../y"));        // the query is not a path
}

TEST(RequestPath, RawDotSegmentsAreRefused) {
  for (const char* p : {"/control/v1/node/..", "/control/v1/../x", "/./status", "/v1/tenant/.", "/..",
                        "/x/../", "/x/..?force=true"})
    EXPECT_THROW(check_request_path(p), std::invalid_argument) << p;
}

TEST(RequestPath, EncodedDotSegmentsAreRefusedInAnyCase) {
  for (const char* p : {"/control/v1/%2e%2e/x", "/v1/tenant/%2E%2E", "/v1/%2e", "/v1/.%2e/x", "/v1/%2e./x",
                        "/v1/%2E%2e", "/v1/.%2E"})
    EXPECT_THROW(check_request_path(p), std::invalid_argument) << p;
}

TEST(RequestPath, EncodedSlashesAndBadEscapesAreRefused) {
  for (const char* p : {"/v1/%2f/x", "/v1/a%2Fb", "/v1/%5c", "/v1/%", "/v1/%2", "/v1/%zz", "/v1/%2g"})
    EXPECT_THROW(check_request_path(p), std::invalid_argument) << p;
}

TEST(RequestPath, ShapeAndCharacterRules) {
  for (const char* p : {"", "status", "//status", "/a//b", "/a b", "/a#b", "/a\\b", "/a\tb", "/a\x7f"})
    EXPECT_THROW(check_request_path(p), std::invalid_argument) << p;
}

TEST(RequestPath, TheMessageNamesTheSegment) {
  try {
    check_request_path("/control/v1/%2e%2E/x");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"%2e%2E\""), std::string::npos) << e.what();
  }
}
