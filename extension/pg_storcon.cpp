// Module entry: the magic block, the settings, and (when preloaded) the hook worker's registration.
#include "extension/gucs.hpp"
#include "extension/pg.hpp"
#include "extension/worker_shmem.hpp"

#include <curl/curl.h>

extern "C" {
#include "postmaster/bgworker.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
}

namespace {

void register_hook_worker() {
  BackgroundWorker worker = {};
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  // Hot standbys serve the hook too: the worker only writes the config file, never tables.
  worker.bgw_start_time = BgWorkerStart_ConsistentState;
  // Restart policy: the worker catches every ERROR itself (a query cancel only stops what it is
  // doing); pg_terminate_backend (SIGTERM) or a FATAL ends it with exit code 1 and the
  // postmaster starts it again after bgw_restart_time; at server shutdown it ends with the server.
  worker.bgw_restart_time = 1;
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_storcon");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "storcon_hook_worker_main");
  snprintf(worker.bgw_name, BGW_MAXLEN, "pg_storcon hook");
  snprintf(worker.bgw_type, BGW_MAXLEN, "pg_storcon hook");
  RegisterBackgroundWorker(&worker);
}

}  // namespace

void _PG_init(void) {
  // libcurl's global state, once per process, before any thread could exist.
  curl_global_init(CURL_GLOBAL_ALL);
  storcon::pg::define_gucs();
  if (!process_shared_preload_libraries_in_progress) return;
  storcon::pg::request_shared_memory();  // storcon.reconcile() reaches the worker through it
  if (storcon::pg::guc_hook_port != 0) register_hook_worker();
}
