// The hook worker's main loop (the worker_spi / autoprewarm pattern): die on SIGTERM (exit 1, so
// pg_terminate_backend leads to a restart after bgw_restart_time; postmaster shutdown does not
// restart it), SignalHandlerForConfigReload on SIGHUP, and one wait set holding the latch,
// postmaster death and libmicrohttpd's epoll fd. An ERROR outside a handled path is promoted to
// FATAL in a background worker: exit 1, restart.
#include "bgworker/notification_queue.hpp"
#include "bgworker/hook_auth_setup.hpp"
#include "bgworker/http_server.hpp"
#include "bgworker/pg_env.hpp"
#include "bgworker/reconciler.hpp"
#include "extension/gucs.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

extern "C" {
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/wait_event.h"

PGDLLEXPORT void storcon_hook_worker_main(Datum arg);
}

namespace storcon::worker {

namespace {

void log_server_messages(HookServer& server, NotificationQueue& queue) {
  for (const auto& m : server.take_log()) elog(LOG, "pg_storcon hook: libmicrohttpd: %s", m.c_str());
  for (const auto& m : queue.take_log()) elog(LOG, "pg_storcon hook: %s", m.c_str());
}

// The hook's certificate and key (PEM text), when storcon.hook_tls_cert_file is set.
bool read_tls_files(std::string* cert, std::string* key, std::string* error) {
  auto set = [](const char* v) { return v != nullptr && v[0] != '\0'; };
  if (!set(pg::guc_hook_tls_cert_file) && !set(pg::guc_hook_tls_key_file)) return true;
  if (!set(pg::guc_hook_tls_cert_file) || !set(pg::guc_hook_tls_key_file)) {
    *error = "storcon.hook_tls_cert_file and storcon.hook_tls_key_file must be set together";
    return false;
  }
  auto slurp = [](const char* path, std::string* out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    return true;
  };
  if (!slurp(pg::guc_hook_tls_cert_file, cert) || !slurp(pg::guc_hook_tls_key_file, key)) {
    *error = "cannot read the hook's TLS certificate or key file";
    return false;
  }
  return true;
}

// (Re)reads the hook's credentials; called at start and after every reload.
void configure_auth(NotificationQueue& queue) {
  HookAuthSetup setup = load_hook_auth();
  std::string warning;
  if (!setup.auth) {
    elog(WARNING, "pg_storcon hook: %s; every request but /healthz is refused until it is fixed",
         setup.error.c_str());
  } else if (setup.mode == "none" && !is_loopback(pg::guc_hook_listen_addr)) {
    warning = "the hook listens on a non-loopback address without authentication: anyone who reaches it "
              "can repoint this compute; set storcon.hook_jwt_public_key_file or storcon.hook_token_file";
    elog(WARNING, "pg_storcon hook: %s", warning.c_str());
  }
  queue.set_auth(std::move(setup), warning);
}

[[noreturn]] void serve() {
  PgHookEnv env;
  env.read_settings();
  std::string failure;
  try {
    env.load_catalog();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty())
    elog(WARNING, "pg_storcon hook: could not load the catalog mirror (%s); ids are resolved from storcon",
         failure.c_str());

  NotificationQueue queue(env);
  configure_auth(queue);
  Reconciler reconciler(env, queue);
  queue.set_reconcile_handler([&](Request* r) { reconciler.request_now(r); });
  queue.set_status_extra([&] { return reconciler.status(); });
  reconciler.request_now(nullptr);  // converge at start: this compute may have missed notifications
  std::unique_ptr<HookServer> server;
  try {
    std::string cert, key;
    if (!read_tls_files(&cert, &key, &failure)) throw std::runtime_error(failure);
    server = std::make_unique<HookServer>(pg::guc_hook_listen_addr, pg::guc_hook_port, queue, cert, key);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!server) ereport(FATAL, (errmsg("pg_storcon hook: %s", failure.c_str())));
  queue.set_server(server.get());
  ereport(LOG, (errmsg("pg_storcon hook listening on %s://%s",
                       pg::guc_hook_tls_cert_file && pg::guc_hook_tls_cert_file[0] ? "https" : "http",
                       server->listen().c_str())));
  pgstat_report_activity(STATE_IDLE, nullptr);

  for (;;) {
    long timeout = server->timeout_ms(std::min(queue.wait_cap_ms(), reconciler.wait_cap_ms()));
    (void)WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                            server->epoll_fd(), timeout, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
      configure_auth(queue);
      queue.on_reload();
    }
    queue.on_tick();
    server->run();       // reads requests, answers /healthz, /status, /metrics, queues notifications
    reconciler.tick();   // advances storcon requests without blocking; queues what differs
    queue.pump();        // applies queued work (may resume connections)
    // Answers of resumed connections. MHD's epoll is edge-triggered and an idle socket that is
    // already writable raises no new event, so drive the resumed connections here rather than
    // waiting for the next wake-up (which costs up to the loop's 1 s cap).
    for (int i = 0; i < 4 && server->take_resumed(); i++) {
      server->run();
      server->run();
      SetLatch(MyLatch);  // and go round once more without sleeping
    }
    if (queue.idle() && queue.audit().due()) queue.audit().flush();
    log_server_messages(*server, queue);
  }
}

}  // namespace

}  // namespace storcon::worker

void storcon_hook_worker_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(storcon::pg::guc_database, nullptr, 0);
  pgstat_report_appname("pg_storcon hook");
  try {
    storcon::worker::serve();
  } catch (const std::exception& e) {
    // Copy out of the catch before raising: FATAL ends the process (exit 1, restarted).
    elog(LOG, "pg_storcon hook: %s", e.what());
  }
  proc_exit(1);
}
