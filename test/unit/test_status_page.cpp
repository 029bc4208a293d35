// The status page (control/status_page): hostile values in the embedded /status JSON cannot leave
// their <script> element, the CSP allows exactly the inline code the page carries (the hashes are
// checked against known answers, one of them computed by Chromium), the script builds the DOM
// without markup, and GET / needs the hook's credentials like /status.
#include <gtest/gtest.h>

#include "control/hook_router.hpp"
#include "control/status_page.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <string>

using namespace storcon;

namespace {

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) n++;
  return n;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The text between `open` and the next "</tag>", or "" when absent.
std::string between(const std::string& html, const std::string& open, const std::string& close) {
  size_t a = html.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = html.find(close, a);
  return b == std::string::npos ? "" : html.substr(a, b - a);
}

const std::string kDataOpen = "<script type=\"application/json\" id=\"status-data\">";

nlohmann::json hostile_status() {
  const std::string evil =
      "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>&amp;\xe2\x80\xa8\xe2\x80\xa9";
  nlohmann::json st = {
      {"tenant_id", evil},
      {"timeline_id", "</SCRIPT >"},
      {"shard_map", {{{"shard", 0}, {"host", evil}, {"port", 6400}, {"availability_zone_id", evil}}}},
      {"recent", {{{"kind", "notify-attach"}, {"body", {{"preferred_az", evil}}}, {"detail", "]]>-->"}}}}};
  st[evil] = "a hostile key";
  return st;
}

}  // namespace

TEST(StatusPage, JsonForScriptEscapesEverythingThatCouldEndTheElement) {
  nlohmann::json v = hostile_status();
  std::string text = json_for_script(v);
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(text.find('>'), std::string::npos) << text;
  EXPECT_EQ(text.find('&'), std::string::npos) << text;
  EXPECT_EQ(text.find("\xe2\x80\xa8"), std::string::npos);
  EXPECT_EQ(text.find("\xe2\x80\xa9"), std::string::npos);
  EXPECT_NE(text.find("\\u003c/script\\u003e"), std::string::npos);
  EXPECT_NE(text.find("\\u2028\\u2029"), std::string::npos);
  // Still JSON, and the same value: JSON.parse in the page gets back exactly what /status says.
  EXPECT_EQ(nlohmann::json::parse(text), v);
}

TEST(StatusPage, JsonForScriptReplacesBytesThatAreNotUtf8) {
  nlohmann::json v = {{"host", std::string("a\xff<b\xc3")}};
  std::string text = json_for_script(v);
  nlohmann::json back = nlohmann::json::parse(text);  // valid UTF-8 JSON
  EXPECT_EQ(back["host"], "a\xef\xbf\xbd<b\xef\xbf\xbd");
  EXPECT_EQ(text.find('<'), std::string::npos);
}

TEST(StatusPage, HostileValuesStayInsideTheDataElement) {
  nlohmann::json st = hostile_status();
  std::string html = render_status_page(st);
  // One data element and one script: nothing in the data opened or closed another.
  EXPECT_EQ(count(lower(html), "<script"), 2u);
  EXPECT_EQ(count(lower(html), "</script"), 2u);
  EXPECT_EQ(count(html, "<!--"), 0u);
  EXPECT_EQ(count(lower(html), "<img"), 0u);
  std::string data = between(html, kDataOpen, "</script>");
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(nlohmann::json::parse(data), st);
  // The data element is the first script, the code follows it.
  EXPECT_LT(html.find(kDataOpen), html.find("<script>"));
}

TEST(StatusPage, CspHashKnownAnswers) {
  EXPECT_EQ(csp_sha256(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
  EXPECT_EQ(csp_sha256("abc"), "'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='");
  // What Chromium 156 reported for an inline script it refused under default-src 'none'.
  EXPECT_EQ(csp_sha256("document.getElementById('x').textContent='ran'"),
            "'sha256-W1G5aKXMtT68cxhB06EGUdDiBcUeZICbz/fDtNU+67w='");
}

TEST(StatusPage, CspAllowsExactlyTheInlineCodeOfThePage) {
  std::string html = render_status_page(nlohmann::json::object());
  std::string script = between(html, "</script>\n<script>", "</script>");
  std::string style = between(html, "<style>", "</style>");
  ASSERT_FALSE(script.empty());
  ASSERT_FALSE(style.empty());
  EXPECT_EQ(script, status_page_script());
  EXPECT_EQ(style, status_page_style());
  std::string csp = status_page_csp();
  EXPECT_NE(csp.find("script-src " + csp_sha256(script) + ";"), std::string::npos) << csp;
  EXPECT_NE(csp.find("style-src " + csp_sha256(style) + ";"), std::string::npos) << csp;
  for (const char* d : {"default-src 'none'", "connect-src 'self'", "base-uri 'none'", "form-action 'none'",
                        "frame-ancestors 'none'"})
    EXPECT_NE(csp.find(d), std::string::npos) << d;
  for (const char* bad : {"unsafe-inline", "unsafe-eval", "unsafe-hashes", "*", "http:", "https:", "data:"})
    EXPECT_EQ(csp.find(bad), std::string::npos) << bad;
  // No other place for code: no second inline script or style, no event-handler attribute, no URL
  // that could run script, in the markup around them.
  EXPECT_EQ(count(lower(html), "<style"), 1u);
  std::string markup = html;
  for (std::string_view inner : {status_page_script(), status_page_style()}) {
    size_t at = markup.find(inner);
    ASSERT_NE(at, std::string::npos);
    markup.erase(at, inner.size());
  }
  EXPECT_FALSE(std::regex_search(markup, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase))) << markup;
  EXPECT_EQ(lower(markup).find("javascript:"), std::string::npos);
}

TEST(StatusPage, ScriptBuildsTheDomFromTextOnly) {
  const std::string js(status_page_script());
  for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(",
                           "setAttribute('style'", ".style.", "javascript:", "srcdoc"})
    EXPECT_EQ(js.find(sink), std::string::npos) << sink;
  EXPECT_NE(js.find("textContent"), std::string::npos);
  // Neither the script nor the style can end its own element early.
  EXPECT_EQ(lower(js).find("</script"), std::string::npos);
  EXPECT_EQ(js.find("<!--"), std::string::npos);
  EXPECT_EQ(lower(std::string(status_page_style())).find("</style"), std::string::npos);
  // Only relative, same-origin fetches (the page may sit behind a path prefix).
  EXPECT_NE(js.find("fetch('status'"), std::string::npos);
  EXPECT_EQ(count(js, "http://"), count(js, "'http://www.w3.org/2000/svg'"));  // a namespace, not a fetch
  EXPECT_EQ(js.find("https://"), std::string::npos);
}

TEST(StatusPage, ReplyCarriesTheHeaders) {
  HookReply r = status_page_reply({{"tenant_id", "t"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.text.find(kDataOpen + "{\"tenant_id\":\"t\"}</script>"), std::string::npos);
  auto header = [&](const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return std::string("<absent>");
  };
  EXPECT_EQ(header("Content-Security-Policy"), status_page_csp());
  EXPECT_EQ(header("Cache-Control"), "no-store");
  EXPECT_EQ(header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header("X-Frame-Options"), "DENY");
}

TEST(StatusPage, NeedsTheHookCredentialsLikeStatus) {
  auto auth = HookAuthenticator::with_static_token("s3cret-token-for-the-page");
  RequestHead head;
  head.method = "GET";
  head.path = "/";
  HeadDecision d = decide_on_head(head, &auth, 0);
  EXPECT_EQ(d.endpoint, Endpoint::Page);
  ASSERT_TRUE(d.refuse);
  EXPECT_EQ(d.refuse->status, 401);
  head.authorization = "Bearer wrong";
  d = decide_on_head(head, &auth, 0);
  ASSERT_TRUE(d.refuse);
  EXPECT_EQ(d.refuse->status, 403);
  head.authorization = "Bearer s3cret-token-for-the-page";
  d = decide_on_head(head, &auth, 0);
  EXPECT_FALSE(d.refuse);
  EXPECT_EQ(d.endpoint, Endpoint::Page);
  head.method = "POST";
  d = decide_on_head(head, &auth, 0);
  ASSERT_TRUE(d.refuse);
  EXPECT_EQ(d.refuse->status, 405);
  head.method = "GET";
  head.path = "/index.html";
  d = decide_on_head(head, &auth, 0);
  ASSERT_TRUE(d.refuse);
  EXPECT_EQ(d.refuse->status, 404);
}
