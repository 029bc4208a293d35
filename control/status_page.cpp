// Assembles the status page (see status_page.hpp): the document around the /status JSON, the JSON
// escaped for its <script> element, and the Content-Security-Policy with the inline code's hashes.
#include "control/status_page.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace storcon {

std::string json_for_script(const nlohmann::json& value) {
  // A setting value or a body field may not be UTF-8: replaced, never thrown.
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (size_t i = 0; i < text.size(); i++) {
    const char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')) {
      out += text[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";  // line/paragraph separators
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string csp_sha256(std::string_view content) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(content.data(), content.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, digest, static_cast<int>(length));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(b64), static_cast<size_t>(n)) + "'";
}

std::string status_page_csp() {
  // Computed once: the script and the style are constants.
  static const std::string csp = "default-src 'none'; script-src " + csp_sha256(status_page_script()) +
                                 "; style-src " + csp_sha256(status_page_style()) +
                                 "; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  return csp;
}

std::string render_status_page(const nlohmann::json& status) {
  const std::string data = json_for_script(status);
  const std::string_view style = status_page_style();
  const std::string_view script = status_page_script();
  std::string html;
  html.reserve(data.size() + style.size() + script.size() + 1024);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"referrer\" content=\"no-referrer\">\n<title>pg_storcon status</title>\n<style>";
  html += style;
  html += "</style>\n</head>\n<body>\n<noscript><p>This page draws with JavaScript. The same data is at "
          "<a href=\"status\">status</a> (JSON).</p></noscript>\n<div id=\"app\"></div>\n"
          "<script type=\"application/json\" id=\"status-data\">";
  html += data;
  html += "</script>\n<script>";
  html += script;
  html += "</script>\n</body>\n</html>\n";
  return html;
}

HookReply status_page_reply(const nlohmann::json& status) {
  HookReply r{200, nullptr};
  r.text = render_status_page(status);
  r.content_type = "text/html; charset=utf-8";
  r.headers = {{"Content-Security-Policy", status_page_csp()},
               {"Cache-Control", "no-store"},
               {"Referrer-Policy", "no-referrer"},
               {"X-Frame-Options", "DENY"}};
  return r;
}

}  // namespace storcon
