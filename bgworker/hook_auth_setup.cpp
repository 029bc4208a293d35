#include "bgworker/hook_auth_setup.hpp"

#include "control/durable_file.hpp"
#include "extension/gucs.hpp"
#include "extension/storcon_call.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace storcon::worker {

namespace {
constexpr size_t kMaxCredentialBytes = 64 * 1024;

bool set(const char* v) { return v != nullptr && v[0] != '\0'; }

// What identifies a file's version without reading it.
std::string stat_of(const char* path) {
  if (!set(path)) return "-";
  struct stat st {};
  if (stat(path, &st) != 0) return std::string(path) + ":missing";
  return std::string(path) + ":" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

// A small file's contents, refused when larger than max_bytes (std::runtime_error, no contents).
std::string read_file_bounded(const std::string& path, size_t max_bytes, const char* what) {
  try {
    return read_small_file(path, max_bytes);
  } catch (const FileError& e) {  // names the file (the settings are superuser-only), never its contents
    throw std::runtime_error(std::string("cannot read the file named by ") + what + ": " + e.reason());
  }
}
}  // namespace

bool HookCredentials::reload() {
  const char* key = pg::guc_hook_jwt_public_key_file;
  const char* token = pg::guc_hook_token_file;
  std::string fp = stat_of(key) + "|" + stat_of(token) + "|" + (set(pg::guc_hook_jwt_scope) ? pg::guc_hook_jwt_scope : "") +
                   "|" + (pg::guc_hook_auth_none ? "none" : "auto") + "|" +
                   (pg::guc_hook_listen_addr ? pg::guc_hook_listen_addr : "");
  if (fp == fingerprint_) return false;
  fingerprint_ = fp;
  HookAuthSetup out;
  try {
    if (set(key)) {
      out.mode = "jwt";
      out.auth = HookAuthenticator::with_public_key(
          read_file_bounded(key, kMaxCredentialBytes, "storcon.hook_jwt_public_key_file"),
          set(pg::guc_hook_jwt_scope) ? pg::guc_hook_jwt_scope : "");
    } else if (set(token)) {
      out.mode = "token";
      out.auth = HookAuthenticator::with_static_token(
          pg::read_token_file(token, "storcon.hook_token_file"));
    } else {
      out.mode = "none";
      out.auth = HookAuthenticator::open();
      out.refuse_to_serve = !pg::guc_hook_auth_none && !is_loopback(pg::guc_hook_listen_addr ? pg::guc_hook_listen_addr : "");
    }
  } catch (const std::exception& e) {
    out.auth.reset();
    out.error = std::string("invalid hook credentials: ") + e.what();  // messages carry no key material
  }
  setup_ = std::move(out);
  return true;
}

std::optional<HookCredentials::Tls> HookCredentials::tls() const {
  const char* cert = pg::guc_hook_tls_cert_file;
  const char* key = pg::guc_hook_tls_key_file;
  tls_fingerprint_ = stat_of(cert) + "|" + stat_of(key);
  if (!set(cert) && !set(key)) return std::nullopt;
  if (!set(cert) || !set(key))
    throw std::runtime_error("storcon.hook_tls_cert_file and storcon.hook_tls_key_file must be set together");
  // PostgreSQL's rule for ssl_key_file: no access for others; group read only when owned by root.
  struct stat st {};
  if (stat(key, &st) != 0)
    throw std::runtime_error(std::string("cannot read storcon.hook_tls_key_file: ") + std::strerror(errno));
  bool owner_ok = st.st_uid == geteuid() || st.st_uid == 0;
  bool mode_ok = st.st_uid == geteuid() ? (st.st_mode & (S_IRWXG | S_IRWXO)) == 0
                                        : (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) == 0;
  if (!owner_ok || !mode_ok)
    throw std::runtime_error("storcon.hook_tls_key_file must not be accessible to others (chmod 0600; or 0640 "
                             "owned by root)");
  Tls t;
  t.cert = read_file_bounded(cert, kMaxCredentialBytes, "storcon.hook_tls_cert_file");
  t.key = read_file_bounded(key, kMaxCredentialBytes, "storcon.hook_tls_key_file");
  return t;
}

bool HookCredentials::tls_changed() const {
  return stat_of(pg::guc_hook_tls_cert_file) + "|" + stat_of(pg::guc_hook_tls_key_file) != tls_fingerprint_;
}

bool HookCredentials::tls_configured() const { return set(pg::guc_hook_tls_cert_file); }

bool is_loopback(const std::string& a) { return a == "::1" || a.rfind("127.", 0) == 0 || a == "localhost"; }

}  // namespace storcon::worker
