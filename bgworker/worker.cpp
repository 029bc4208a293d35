// The hook worker: the canonical worker loop (worker_spi, autoprewarm), with every call into
// PostgreSQL through pg_call so that no ERROR longjmps over the loop's C++ objects. One wait set
// holds the latch, postmaster death, libmicrohttpd's epoll fd and the fetcher's; each wake-up runs
// interrupts, a pending reload, finished transfers, new requests, deadlines and the reconcile
// schedule, in that order, and answers whatever became ready. Nothing waits on a fixed period.
//
// Signals and their meaning:
// - SIGHUP: the postmaster reloaded the configuration (a write of ours, or anyone's): re-read it
//   and let the state machine verify pending writes.
// - SIGINT (pg_cancel_backend): stops what the worker is doing (the running reconcile pass); the
//   worker itself carries on serving.
// - SIGTERM (pg_terminate_backend, shutdown): die(); the worker exits with code 1 and the
//   postmaster restarts it after bgw_restart_time (1 s), unless the server is shutting down.
#include "bgworker/audit_log.hpp"
#include "bgworker/hook_auth_setup.hpp"
#include "bgworker/hub_client.hpp"
#include "bgworker/http_server.hpp"
#include "bgworker/pg_env.hpp"
#include "bgworker/reconciler.hpp"
#include "bgworker/worker_effects.hpp"
#include "control/hook_engine.hpp"
#include "control/ids.hpp"
#include "control/json_fields.hpp"
#include "control/status_page.hpp"
#include "control/status_view.hpp"
#include "extension/gucs.hpp"
#include "extension/registry_store.hpp"
#include "extension/worker_shmem.hpp"

#include <algorithm>
#include <climits>
#include <ctime>

extern "C" {
#include "access/xlog.h"
#include "pgstat.h"
#include "utils/timestamp.h"
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

void log_line(int level, const std::string& line) {
  const char* text = line.c_str();
  try {
    pg::pg_call([&] { elog(level, "pg_storcon hook: %s", text); });
  } catch (...) {  // a log line that cannot be written is not worth a crash
  }
}

// The engine's rules with storcon.hook_apply_timeout as its answer budget.
EngineConfig engine_config() {
  EngineConfig c;
  c.answer_budget_us = static_cast<int64_t>(pg::guc_hook_apply_timeout_ms) * 1000;
  return c;
}

class Worker {
 public:
  [[noreturn]] void serve();

 private:
  void start();
  void iteration();
  void on_reload();
  void start_server();
  void rebuild_wait_set();
  long wait_timeout_ms() const;
  void run_server();
  void handle(IncomingRequest& r);
  void reply(uint64_t id, Endpoint e, const HookReply& reply);
  HookReply status_reply();
  HookReply import_complete(const IncomingRequest& r);
  HookReply computes(const IncomingRequest& r);
  void load_registry();
  void flush_logs();

  SteadyClock clock_;
  HookStats stats_;
  AuditLog audit_;
  AsyncFetcher fetcher_;
  WorkerEffects effects_{fetcher_, clock_, stats_, audit_};
  HookEngine engine_{effects_, clock_};
  Reconciler reconciler_{fetcher_, engine_, effects_, clock_, stats_};
  HookCredentials creds_;
  ComputeRegistry registry_;
  uint64_t registry_version_ = 0;
  HubClient hub_{fetcher_, clock_, effects_};
  std::unique_ptr<HookServer> server_;
  std::string server_problem_;
  std::string open_warning_;  // served open beyond loopback, on purpose
  WaitEventSet* wait_set_ = nullptr;
  std::vector<int> waited_fds_;
  uint64_t tickets_seen_ = 0;
  bool backoff_ = false;  // the last iteration failed: do not spin
  int64_t started_us_ = 0;
  std::string compute_ctl_config_;
};

void Worker::start() {
  started_us_ = clock_.now_us();
  pg::worker_attach();
  effects_.attach(&engine_, nullptr);
  effects_.on_reconcile_done = [this](uint64_t pass, const HookReply& r) { reconciler_.on_applied(pass, r); };
  reconciler_.answer_http = [this](uint64_t id, const HookReply& r) { reply(id, Endpoint::Reconcile, r); };
  reconciler_.answer_ticket = [](uint64_t ticket, const HookReply& r) {
    pg::reconcile_finished(ticket, r.status, r.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  engine_.configure(engine_config());
  engine_.on_reload(read_in_effect());
  // The mirror serves a cold start: with storcon down (it restarts too), ids it holds still resolve.
  try {
    effects_.load_catalog_from_mirror();
  } catch (const std::exception& e) {
    log_line(WARNING, std::string("could not load the catalog mirror (ids are resolved from storcon): ") + e.what());
  }
  compute_ctl_config_ = pg::guc_compute_ctl_config ? pg::guc_compute_ctl_config : "";
  effects_.sync_compute_ctl_config();
  creds_.reload();
  start_server();
  load_registry();
  effects_.route_with(&registry_, own_compute_id(creds_.tls_configured()));
  hub_.configure(engine_.in_effect(), creds_.tls_configured());
  before_shmem_exit([](int, Datum arg) { reinterpret_cast<HubClient*>(DatumGetPointer(arg))->leave(); },
                    PointerGetDatum(&hub_));
  rebuild_wait_set();
  pg::pg_call([] { pgstat_report_activity(STATE_IDLE, nullptr); });
}

void Worker::start_server() {
  const HookAuthSetup& a = creds_.setup();
  if (!a.auth) log_line(WARNING, a.error + "; every request but /healthz is refused until it is fixed");
  if (a.refuse_to_serve) {
    server_problem_ = "the hook listens on a non-loopback address without authentication: set "
                      "storcon.hook_jwt_public_key_file or storcon.hook_token_file (or storcon.hook_auth = 'none' "
                      "to serve it open on purpose); it does not serve until then";
    log_line(WARNING, server_problem_);
    return;
  }
  try {
    auto tls = creds_.tls();
    auto check = [this](const RequestHead& h) {
      const HookAuthSetup& s = creds_.setup();
      return decide_on_head(h, s.auth ? &*s.auth : nullptr, static_cast<int64_t>(std::time(nullptr)));
    };
    server_ = std::make_unique<HookServer>(pg::guc_hook_listen_addr, pg::guc_hook_port, check, tls ? tls->cert : "",
                                           tls ? tls->key : "");
    server_problem_.clear();
    effects_.attach(&engine_, server_.get());
    open_warning_.clear();
    if (a.mode == "none" && !is_loopback(pg::guc_hook_listen_addr)) {
      open_warning_ = "the hook listens on a non-loopback address without authentication (storcon.hook_auth = "
                      "'none'): anyone who reaches it can repoint this compute";
      log_line(WARNING, open_warning_);
    }
    log_line(LOG, std::string("listening on ") + (tls ? "https://" : "http://") + server_->listen() + " (auth: " +
                      creds_.setup().mode + ")");
  } catch (const std::exception& e) {
    server_problem_ = e.what();
    log_line(WARNING, std::string("the hook does not serve: ") + e.what());
  }
}

void Worker::rebuild_wait_set() {
  std::vector<int> fds = {fetcher_.wait_fd()};
  if (server_)
    for (int fd : server_->wait_fds()) fds.push_back(fd);
  if (wait_set_ != nullptr && fds == waited_fds_) return;
  WaitEventSet* old = wait_set_;
  const int* fd_data = fds.data();
  const int n = static_cast<int>(fds.size());
  wait_set_ = nullptr;
  pg::pg_call([&] {
    if (old != nullptr) FreeWaitEventSet(old);
    WaitEventSet* set = CreateWaitEventSet(TopMemoryContext, 2 + n);
    AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
    AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
    for (int i = 0; i < n; i++) AddWaitEventToSet(set, WL_SOCKET_READABLE, fd_data[i], nullptr, nullptr);
    wait_set_ = set;
  });
  waited_fds_ = fds;
}

long Worker::wait_timeout_ms() const {
  if (backoff_) return 100;
  long t = 60'000;
  auto until = [&](int64_t at_us) {
    if (at_us == INT64_MAX) return;
    int64_t ms = (at_us - clock_.now_us() + 999) / 1000;
    t = std::min<long>(t, static_cast<long>(std::max<int64_t>(0, ms)));
  };
  until(engine_.next_deadline_us());
  until(reconciler_.next_due_us());
  until(hub_.next_due_us());
  long fetch = fetcher_.timeout_ms();
  if (fetch >= 0) t = std::min(t, fetch);
  if (effects_.has_deferred()) t = 0;
  if (server_) t = server_->timeout_ms(t);
  if (long long audit = audit_.next_due_us(); audit != INT64_MAX) {
    long long now = 0;
    pg::pg_call([&] { now = GetCurrentTimestamp(); });
    t = std::min<long>(t, static_cast<long>(std::clamp<long long>((audit - now) / 1000 + 1, 0, 1000)));
  }
  return t;
}

void Worker::on_reload() {
  engine_.configure(engine_config());
  engine_.on_reload(read_in_effect());  // verifies a pending write: first, the answers wait for it
  if (creds_.reload()) {
    if (!server_ && !creds_.setup().refuse_to_serve) {
      start_server();
    } else if (server_ && creds_.setup().refuse_to_serve) {
      server_.reset();  // no credentials beyond loopback any more: stop serving
      effects_.attach(&engine_, nullptr);
      start_server();   // logs why it does not serve
    }
  }
  if (server_ && creds_.tls_changed()) {
    try {
      auto tls = creds_.tls();
      if (tls) {
        server_->reload_tls(tls->cert, tls->key);
        log_line(LOG, "the hook's certificate was reloaded");
      }
    } catch (const std::exception& e) {
      log_line(WARNING, std::string("the hook keeps its previous certificate: ") + e.what());
    }
  }
  reconciler_.on_reload();
  effects_.route_with(&registry_, own_compute_id(creds_.tls_configured()));
  hub_.configure(engine_.in_effect(), creds_.tls_configured());
  std::string spec = pg::guc_compute_ctl_config ? pg::guc_compute_ctl_config : "";
  if (spec != compute_ctl_config_) {  // newly named: make it describe what is in effect now
    compute_ctl_config_ = spec;
    effects_.sync_compute_ctl_config();
  }
}

void Worker::reply(uint64_t id, Endpoint e, const HookReply& r) {
  stats_.count(e, r.status);
  if (server_) server_->answer(id, r);
}

HookReply Worker::status_reply() {
  nlohmann::json st = status_json(server_ ? server_->listen() : "", engine_.in_effect(), stats_, engine_.catalog());
  st["uptime_seconds"] = (clock_.now_us() - started_us_) / 1000000;
  st["hook_url"] = server_ ? nlohmann::json(std::string(creds_.tls_configured() ? "https://" : "http://") +
                                            server_->listen())
                           : nlohmann::json(nullptr);
  if (!server_problem_.empty()) st["problem"] = server_problem_;
  st.update(engine_.status());
  st["auth"] = creds_.setup().mode;
  if (!creds_.setup().error.empty()) st["warning"] = creds_.setup().error;
  if (!open_warning_.empty()) st["warning"] = open_warning_;
  st["recent"] = audit_.recent();
  st["reconcile"] = reconciler_.status();
  st["apply_breakdown"] = effects_.timings().to_json();
  st["compute_ctl_config"] = effects_.compute_ctl_status();
  st["computes"] = registry_.to_json(static_cast<int64_t>(std::time(nullptr)));
  st["hub"] = hub_.status();
  st["catalog"] = {{"nodes", engine_.catalog().nodes.size()}, {"safekeepers", engine_.catalog().safekeepers.size()}};
  return HookReply{200, st};
}

// storcon's PUT import_complete (timeline imports): accepted, recorded and logged; storcon
// retries it every second until it gets a 2xx.
HookReply Worker::import_complete(const IncomingRequest& r) {
  std::string tenant, timeline, detail;
  try {
    auto j = parse_strict(r.body, 4);
    tenant = normalize_hex_id(get_string(j, "tenant_id"), "tenant_id");
    timeline = normalize_hex_id(get_string(j, "timeline_id"), "timeline_id");
    auto error = get_opt_string(j, "error");
    detail = error ? "import failed: " + *error : "import finished";
  } catch (const std::exception& e) {
    return error_reply(400, e.what());
  }
  audit_.add("import_complete", tenant, timeline, r.body, 200, "recorded", detail, 0);
  effects_.log("import_complete for " + tenant + "/" + timeline + ": " + loggable(detail));
  return HookReply{200, {{"status", "recorded"}, {"tenant_id", tenant}, {"timeline_id", timeline}}};
}

void Worker::load_registry() {
  try {
    std::vector<ComputeEntry> entries;
    in_transaction([&] { entries = pg::load_registry(pg::lookup_extension_objects()); });
    registry_.replace(std::move(entries));
  } catch (const std::exception& e) {
    log_line(WARNING, std::string("could not read storcon.computes (routing with the registry in memory): ") +
                          e.what());
  }
}

// A compute registers itself (PUT /computes/<id>) or leaves (DELETE): kept in memory, and in
// storcon.computes on a primary where the extension is installed (a hub that restarts keeps it).
HookReply Worker::computes(const IncomingRequest& r) {
  const std::string id = r.path.substr(std::string("/computes/").size());
  const int64_t now_s = static_cast<int64_t>(std::time(nullptr));
  ComputeEntry e;
  if (r.method == "PUT") {
    try {
      e = parse_registration(id, r.body, now_s);
    } catch (const HookError& err) {
      return error_reply(err.status, err.what());
    }
    registry_.upsert(e);
  } else {
    if (!valid_compute_id(id) || !registry_.remove(id)) return error_reply(404, "no compute " + loggable(id) + " here");
    e.compute_id = id;  // no tenant: it left
  }
  bool stored = false;
  bool recovery = false;
  pg::pg_call([&] { recovery = RecoveryInProgress(); });
  if (!recovery) {
    try {
      in_transaction([&] {  // the compute renews it at its next heartbeat: no WAL flush to wait for
        commit_without_waiting();
        stored = pg::store_registration(pg::lookup_extension_objects(), e);
      });
    } catch (const std::exception& err) {
      log_line(WARNING, std::string("could not write storcon.computes (kept in memory): ") + err.what());
    }
  }
  if (r.method == "DELETE") return HookReply{200, {{"status", "removed"}, {"compute_id", id}}};
  return HookReply{200, {{"status", "registered"}, {"compute_id", id}, {"stored", stored},
                         {"stale_after_seconds", 3 * e.heartbeat_seconds}}};
}

void Worker::handle(IncomingRequest& r) {
  switch (r.endpoint) {
    case Endpoint::NotifyAttach:
    case Endpoint::NotifySafekeepers: {
      effects_.track(r.id, r.endpoint);
      int64_t deadline = r.deadline_ms > 0 ? clock_.now_us() + r.deadline_ms * 1000 : 0;
      engine_.receive(Notification{r.id, r.endpoint, std::move(r.body), r.authorization, r.forwarded, deadline});
      return;
    }
    case Endpoint::Reconcile:
      reconciler_.request(r.id, 0);
      return;
    case Endpoint::ImportComplete:
      reply(r.id, r.endpoint, import_complete(r));
      return;
    case Endpoint::Computes:
      reply(r.id, r.endpoint, computes(r));
      return;
    case Endpoint::Healthz:
      reply(r.id, r.endpoint, HookReply{200, {{"status", "ok"}}});
      return;
    case Endpoint::Status:
      reply(r.id, r.endpoint, status_reply());
      return;
    case Endpoint::Page:  // the status page: drawn from the very same JSON as /status
      reply(r.id, r.endpoint, status_page_reply(status_reply().body));
      return;
    case Endpoint::Metrics: {
      HookReply m{200, nullptr};
      m.text = stats_.prometheus(engine_.in_effect()) +
               "# HELP pg_storcon_audit_dropped_total Audit records dropped (the table refused them, or too many "
               "waited).\n# TYPE pg_storcon_audit_dropped_total counter\npg_storcon_audit_dropped_total " +
               std::to_string(audit_.dropped()) + "\n";
      m.content_type = "text/plain; version=0.0.4; charset=utf-8";
      reply(r.id, r.endpoint, m);
      return;
    }
    default:
      reply(r.id, r.endpoint, error_reply(404, "no such endpoint: " + loggable(r.path)));
      return;
  }
}

void Worker::run_server() {
  if (!server_) return;
  // A few rounds: answers given while handling the arrivals go out at once.
  for (int round = 0; round < 4; round++) {
    server_->run();
    auto arrived = server_->take_arrived();
    for (auto& r : arrived) handle(r);
    effects_.run_deferred();
    if (arrived.empty() && !server_->resumed_pending()) break;
  }
}

void Worker::flush_logs() {
  for (const auto& line : effects_.take_log()) log_line(LOG, line);
  if (server_)
    for (const auto& line : server_->take_log()) log_line(LOG, line);
}

void Worker::iteration() {
  const long timeout = wait_timeout_ms();
  backoff_ = false;
  WaitEvent events[8];
  pg::pg_call([&] {
    (void)WaitEventSetWait(wait_set_, timeout, events, 8, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  });
  pg::pg_call([] { CHECK_FOR_INTERRUPTS(); });  // a cancel is a PgError here; SIGTERM ends the process
  if (ConfigReloadPending) {
    ConfigReloadPending = false;
    effects_.timings().reload_seen(clock_.now_us());
    pg::pg_call([] { ProcessConfigFile(PGC_SIGHUP); });
    effects_.timings().reloaded(clock_.now_us());
    on_reload();
    effects_.timings().verified(clock_.now_us());
  }
  if (uint64_t ticket = pg::reconcile_requested(); ticket > tickets_seen_) {
    tickets_seen_ = ticket;
    reconciler_.request(0, ticket);
  }
  if (uint64_t v = pg::registry_version(); v != registry_version_) {
    registry_version_ = v;
    load_registry();  // an administrator changed storcon.computes
  }
  for (auto& [id, result] : fetcher_.perform())
    if (!effects_.on_transfer_done(id, result) && !reconciler_.on_transfer_done(id, result))
      hub_.on_transfer_done(id, result);
  effects_.run_deferred();
  run_server();
  engine_.tick();
  reconciler_.tick();
  hub_.tick();
  effects_.run_deferred();
  if (server_ && server_->resumed_pending()) run_server();
  if (engine_.idle() && audit_.due())
    for (const auto& line : audit_.flush()) log_line(LOG, line);
  flush_logs();
  rebuild_wait_set();
}

void Worker::serve() {
  start();
  for (;;) {
    try {
      iteration();
    } catch (const pg::PgError& e) {
      if (e.is_cancel()) {
        // pg_cancel_backend: stop what the worker is doing, not the worker.
        reconciler_.cancel("a query cancel was requested");
        log_line(LOG, "cancel request received: the current reconcile pass (if any) was stopped; serving goes on");
      } else {
        log_line(WARNING, std::string("error in the worker loop (continuing): ") + e.what());
        backoff_ = true;
      }
      pg::pg_call([] {
        if (IsTransactionState()) AbortCurrentTransaction();
      });
    } catch (const std::exception& e) {
      log_line(WARNING, std::string("error in the worker loop (continuing): ") + e.what());
      backoff_ = true;
    }
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
  char failure[512] = "stopped";
  try {
    static storcon::worker::Worker worker;  // static: nothing of it lives on a stack a longjmp could cross
    worker.serve();
  } catch (const std::exception& e) {
    strlcpy(failure, e.what(), sizeof failure);
  } catch (...) {
    strlcpy(failure, "unknown exception", sizeof failure);
  }
  // Copied out of the catch before logging; exit 1: the postmaster starts the worker again.
  elog(LOG, "pg_storcon hook: %s", failure);
  proc_exit(1);
}
