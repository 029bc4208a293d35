#include "extension/gucs.hpp"

#include "control/storcon_client.hpp"
#include "extension/pg.hpp"

namespace storcon::pg {

char* guc_url = nullptr;
char* guc_jwt_token_file = nullptr;
char* guc_database = nullptr;
int guc_connect_timeout_ms = 2000;
int guc_request_timeout_ms = 35000;
char* guc_hook_listen_addr = nullptr;
int guc_hook_port = 3000;
int guc_hook_apply_timeout_ms = 8000;
char* guc_hook_jwt_public_key_file = nullptr;
char* guc_hook_jwt_scope = nullptr;
char* guc_hook_token_file = nullptr;
int guc_sync_interval_s = 60;
char* guc_hook_forward_to = nullptr;
char* guc_hook_tls_cert_file = nullptr;
char* guc_hook_tls_key_file = nullptr;
char* guc_ca_file = nullptr;
char* guc_hook_forward_token_file = nullptr;
int guc_notifications_max_rows = 10000;
bool guc_hook_auth_none = false;
char* guc_compute_ctl_config = nullptr;
char* guc_hub_url = nullptr;
char* guc_hook_advertise_url = nullptr;
char* guc_compute_id = nullptr;
int guc_hub_heartbeat_s = 30;
namespace {
int guc_hook_auth = 0;  // 0 = auto, 1 = none
const struct config_enum_entry kHookAuthValues[] = {{"auto", 0, false}, {"none", 1, false}, {nullptr, 0, false}};
void assign_hook_auth(int value, void*) { guc_hook_auth_none = value == 1; }
}  // namespace

namespace {

// GUC check hooks run inside PostgreSQL's GUC machinery: no exception may leave them.
bool check_url(char** newval, void**, GucSource) {
  if (*newval == nullptr || (*newval)[0] == '\0') return true;  // unset: storcon calls will fail clearly
  try {
    validate_base_url(*newval);
    return true;
  } catch (const std::exception& e) {
    GUC_check_errdetail("%s", e.what());
    return false;
  }
}

bool check_url_list(char** newval, void**, GucSource) {
  try {
    for (const auto& url : split_url_list(*newval ? *newval : "")) validate_base_url(url);
    return true;
  } catch (const std::exception& e) {
    GUC_check_errdetail("%s", e.what());
    return false;
  }
}

}  // namespace

std::vector<std::string> split_url_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void define_gucs() {
  // storcon.url and the token file are superuser-only: letting a user point the backend at
  // another URL would send the token there.
  DefineCustomStringVariable(
      "storcon.url", "Base URL of the storage controller's HTTP API.",
      "For example http://storcon:1234. Used by the storcon.* SQL functions and the hook worker.",
      &guc_url, "http://127.0.0.1:1234", PGC_SUSET, 0, check_url, nullptr, nullptr);
  DefineCustomStringVariable(
      "storcon.jwt_token_file", "File holding the token sent to storcon as Authorization: Bearer.",
      "Empty means no Authorization header (storcon without --public-key). The file is read on every "
      "call; its contents never appear in logs or errors.",
      &guc_jwt_token_file, "", PGC_SUSET, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("storcon.database", "Database the hook worker connects to.",
                             "The extension should be created there for the catalog mirror.",
                             &guc_database, "postgres", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("storcon.connect_timeout", "Timeout for connecting to storcon.", nullptr,
                          &guc_connect_timeout_ms, 2000, 1, 600000, PGC_USERSET, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("storcon.request_timeout", "Timeout for a whole storcon request.",
                          "storcon itself waits up to 30 s for reconciles, so keep this above 30 s.",
                          &guc_request_timeout_ms, 35000, 1, 3600000, PGC_USERSET, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomStringVariable("storcon.hook_listen_addr",
                             "Address the compute hook listens on (IPv4 or IPv6 literal).", nullptr,
                             &guc_hook_listen_addr, "127.0.0.1", PGC_POSTMASTER, 0, nullptr, nullptr,
                             nullptr);
  DefineCustomIntVariable("storcon.hook_port", "TCP port of the compute hook; 0 disables it.",
                          nullptr, &guc_hook_port, 3000, 0, 65535, PGC_POSTMASTER, 0, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable(
      "storcon.hook_apply_timeout",
      "The longest any hook answer takes: catalog refreshes, the reload and forwards included.",
      "storcon gives up on a hook call after 10 s, so this stays below that. What is not done by then "
      "is answered 503 (storcon retries) and finished or undone later.",
      &guc_hook_apply_timeout_ms, 8000, 100, 9500, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);
  DefineCustomEnumVariable(
      "storcon.hook_auth", "'none' lets the hook serve without credentials beyond loopback.",
      "With 'auto' (the default), a hook that listens on a non-loopback address without "
      "storcon.hook_jwt_public_key_file or storcon.hook_token_file does not serve at all.",
      &guc_hook_auth, 0, kHookAuthValues, PGC_SIGHUP, 0, nullptr, assign_hook_auth, nullptr);
  DefineCustomStringVariable(
      "storcon.hook_jwt_public_key_file",
      "Ed25519 public key (SPKI PEM) that hook requests' EdDSA JWTs must be signed with.",
      "When set, every hook request except GET /healthz needs Authorization: Bearer <JWT>. Re-read on reload.",
      &guc_hook_jwt_public_key_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("storcon.hook_jwt_scope",
                             "Scope the hook's JWTs must carry in their scope claim; empty = any.", nullptr,
                             &guc_hook_jwt_scope, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "storcon.hook_token_file", "File holding a static bearer token the hook requires instead of a JWT.",
      "Used when storcon.hook_jwt_public_key_file is empty. Compared in constant time. Re-read on reload.",
      &guc_hook_token_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("storcon.sync_interval",
                          "How often the hook worker reconciles this compute with storcon; 0 = only at start.",
                          "Each pass refreshes the catalog mirror and applies storcon's placement and safekeeper set if they differ.",
                          &guc_sync_interval_s, 60, 0, 86400, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("storcon.notifications_max_rows", "Rows kept in storcon.notifications (oldest pruned).",
                          nullptr, &guc_notifications_max_rows, 10000, 0, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomStringVariable(
      "storcon.hook_forward_to", "Hook base URLs of this tenant's other computes (comma-separated).",
      "Each notification this hook accepts is forwarded to them, in parallel; storcon gets 200 only when "
      "every one answered 200. Forwarded requests are never forwarded again.",
      &guc_hook_forward_to, "", PGC_SIGHUP, 0, check_url_list, nullptr, nullptr);
  DefineCustomStringVariable("storcon.hook_forward_token_file",
                             "Token sent as Authorization: Bearer to other pg_storcon hooks: forwards and the "
                             "registration with a hub.",
                             "Empty: forwards carry storcon's own header, registrations none.", &guc_hook_forward_token_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr,
                             nullptr, nullptr);
  DefineCustomStringVariable("storcon.hook_tls_cert_file",
                             "Certificate (PEM) of the hook; with storcon.hook_tls_key_file the hook serves HTTPS.",
                             nullptr, &guc_hook_tls_cert_file, "", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("storcon.hook_tls_key_file", "Private key (PEM) of the hook's certificate.", nullptr,
                             &guc_hook_tls_key_file, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr,
                             nullptr);
  DefineCustomStringVariable("storcon.ca_file",
                             "CA certificates (PEM) trusted for https:// calls to storcon and to other computes' hooks.",
                             "Empty: the system's trust store.", &guc_ca_file, "", PGC_SUSET, 0, nullptr, nullptr,
                             nullptr);
  DefineCustomStringVariable(
      "storcon.compute_ctl_config", "compute_ctl's config file, kept in step with every applied change.",
      "compute_ctl rebuilds PGDATA from it at every start; each change the hook applies (notifications and "
      "reconcile passes) is also written there, durably, in the file's own form. Empty: not kept.",
      &guc_compute_ctl_config, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "storcon.hub_url", "Hook URL of the hub this compute registers with (the Postgres storcon calls).",
      "When set, the hook worker registers this compute there at start (tenant, timeline, primary or replica, "
      "storcon.hook_advertise_url), renews it every storcon.hub_heartbeat_interval and removes it on a clean "
      "shutdown; the hub then forwards this tenant's notifications here. A hub that is down never delays the "
      "compute. Authenticated with storcon.hook_forward_token_file.",
      &guc_hub_url, "", PGC_SIGHUP, 0, check_url, nullptr, nullptr);
  DefineCustomStringVariable(
      "storcon.hook_advertise_url", "The URL at which a hub reaches this compute's hook.",
      "Empty: http(s)://<storcon.hook_listen_addr>:<storcon.hook_port>, with this machine's host name when the "
      "hook listens on every address.",
      &guc_hook_advertise_url, "", PGC_SIGHUP, 0, check_url, nullptr, nullptr);
  DefineCustomStringVariable("storcon.compute_id", "This compute's id in a hub's registry.",
                             "Empty: the host:port of storcon.hook_advertise_url.", &guc_compute_id, "", PGC_SIGHUP, 0,
                             nullptr, nullptr, nullptr);
  DefineCustomIntVariable("storcon.hub_heartbeat_interval",
                          "How often a compute renews its registration with its hub.",
                          "A registration not renewed for three intervals is shown as stale.", &guc_hub_heartbeat_s,
                          30, 1, 3600, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("storcon");
}

}  // namespace storcon::pg
