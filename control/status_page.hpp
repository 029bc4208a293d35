// The status page (GET / on the hook): one self-contained HTML document an operator opens in a
// browser to see where this compute reads from and what just happened. It draws the same JSON as
// GET /status (one source of truth): the worker passes its /status body in, the page embeds it in a
// <script type="application/json"> element, and one inline script renders it and then re-fetches
// /status every few seconds. Everything shown goes through textContent / createElement, and the
// embedded JSON is escaped so that no value can end the element; a strict Content-Security-Policy
// allows the one inline script and the one inline style by their SHA-256 hashes and nothing else.
#pragma once
#include "control/guard.hpp"

#include "control/hook.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace storcon {

// JSON text safe inside an HTML <script> element: '<', '>', '&', U+2028 and U+2029 are written as
// \uXXXX escapes (they can only occur inside JSON strings), so neither "</script" nor "<!--" can
// appear; bytes that are not UTF-8 become U+FFFD. JSON.parse of the text gives the value back.
std::string json_for_script(const nlohmann::json& value);

// "'sha256-<base64>'": the CSP source expression that allows an inline element with this content.
std::string csp_sha256(std::string_view content);

// The page's inline script and stylesheet, exactly as they appear between their tags.
std::string_view status_page_script();
std::string_view status_page_style();
namespace detail {
std::string_view status_page_script_sections();  // the script's second part (status_page_sections.cpp)
}  // namespace detail

// The Content-Security-Policy header value: nothing but the inline script and style (by hash) and
// same-origin fetches of /status.
std::string status_page_csp();

// The whole document for a /status body.
std::string render_status_page(const nlohmann::json& status);

// 200 text/html with the page, its CSP and the headers that keep it out of caches and frames.
HookReply status_page_reply(const nlohmann::json& status);

}  // namespace storcon
