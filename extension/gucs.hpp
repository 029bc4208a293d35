// pg_storcon's settings (storcon.*). Documented in docs/configuration.md.
#pragma once

#include <string>
#include <vector>

namespace storcon::pg {

extern char* guc_url;
extern char* guc_jwt_token_file;
extern char* guc_database;
extern int guc_connect_timeout_ms;
extern int guc_request_timeout_ms;
extern char* guc_hook_listen_addr;
extern int guc_hook_port;
extern int guc_hook_apply_timeout_ms;
extern char* guc_hook_jwt_public_key_file;
extern char* guc_hook_jwt_scope;
extern char* guc_hook_token_file;
extern int guc_sync_interval_s;
extern char* guc_hook_forward_to;
extern char* guc_hook_tls_cert_file;
extern char* guc_hook_tls_key_file;
extern char* guc_ca_file;
extern char* guc_hook_forward_token_file;
extern int guc_notifications_max_rows;
extern bool guc_hook_auth_none;
extern char* guc_compute_ctl_config;
extern char* guc_hub_url;
extern char* guc_hook_advertise_url;
extern char* guc_compute_id;
extern int guc_hub_heartbeat_s;

void define_gucs();

// "a, b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_url_list(const std::string& list);

}  // namespace storcon::pg
