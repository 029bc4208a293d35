#include "bgworker/hook_auth_setup.hpp"

#include "extension/gucs.hpp"

#include <fstream>
#include <sstream>

namespace storcon::worker {

namespace {
bool read_file(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

bool set(const char* v) { return v != nullptr && v[0] != '\0'; }
}  // namespace

HookAuthSetup load_hook_auth() {
  HookAuthSetup out;
  std::string contents;
  try {
    if (set(pg::guc_hook_jwt_public_key_file)) {
      out.mode = "jwt";
      if (!read_file(pg::guc_hook_jwt_public_key_file, &contents))
        out.error = "cannot read the file named by storcon.hook_jwt_public_key_file";
      else
        out.auth = HookAuthenticator::with_public_key(contents, set(pg::guc_hook_jwt_scope) ? pg::guc_hook_jwt_scope : "");
    } else if (set(pg::guc_hook_token_file)) {
      out.mode = "token";
      if (!read_file(pg::guc_hook_token_file, &contents))
        out.error = "cannot read the file named by storcon.hook_token_file";
      else
        out.auth = HookAuthenticator::with_static_token(trimmed(contents));
    } else {
      out.mode = "none";
      out.auth = HookAuthenticator::open();
    }
  } catch (const std::exception& e) {
    out.auth.reset();
    out.error = std::string("invalid hook credentials: ") + e.what();  // messages carry no key material
  }
  return out;
}

bool is_loopback(const std::string& a) { return a == "::1" || a.rfind("127.", 0) == 0 || a == "localhost"; }

}  // namespace storcon::worker
