#include "bgworker/worker_effects.hpp"

#include "bgworker/pg_env.hpp"
#include "bgworker/storcon_fetch.hpp"
#include "control/durable_file.hpp"
#include "control/spec_sync.hpp"
#include "control/storcon_client.hpp"
#include "extension/config_writer.hpp"
#include "extension/gucs.hpp"
#include "extension/storcon_call.hpp"

#include <chrono>
#include <malloc.h>
#include <csignal>
#include <sys/stat.h>

extern "C" {
#include "access/xlog.h"
#include "miscadmin.h"
}

namespace storcon::worker {

int64_t SteadyClock::now_us() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

WriteResult WorkerEffects::write_settings(const std::vector<ConfEntry>& settings) {
  timings_.write_started(clock_.now_us());
  const int64_t fsync_before = pg::fsync_microseconds();
  pg::ConfWrite w = pg::edit_auto_conf_file(settings);
  timings_.written(clock_.now_us(), pg::fsync_microseconds() - fsync_before);
  WriteResult r;
  r.ok = w.ok;
  r.error = w.error;
  r.file_replaced = w.file_replaced;
  r.before = std::move(w.before);
  if (w.ok || w.file_replaced) {
    kill(PostmasterPid, SIGHUP);  // what pg_reload_conf() does
    timings_.signalled(clock_.now_us());
  }
  return r;
}

std::string WorkerEffects::undo_settings(const std::vector<ConfEntry>& written, const std::vector<ConfEntry>& before) {
  std::string what = pg::undo_auto_conf_edit(written, before);
  kill(PostmasterPid, SIGHUP);
  log("undo after a reload that did not take the written values: " + what);
  return what;
}

void WorkerEffects::start_catalog_refresh(int64_t deadline_us) {
  // storcon gives the hook 10 s in all: the refresh gets what is left of this notification's budget.
  long budget_ms = std::max<long>(100, static_cast<long>((deadline_us - clock_.now_us()) / 1000) - 200);
  refresh_results_.clear();
  try {
    for (const char* what : {"nodes", "safekeepers"}) {
      auto id = fetcher_.start(storcon_get(std::string(what) == "nodes" ? kNodesPath : kSafekeepersPath, budget_ms));
      refresh_ids_[id] = what;
    }
  } catch (const std::exception& e) {
    for (auto& [id, what] : refresh_ids_) fetcher_.cancel(id);
    refresh_ids_.clear();
    stats_.event("catalog_refresh_failure");
    std::string why = e.what();
    deferred_.push_back([this, why] { engine_->on_catalog_refreshed(false, why); });
  }
}

void WorkerEffects::finish_refresh() {
  std::string error;
  try {
    take_catalog(refresh_results_);
  } catch (const std::exception& e) {
    error = e.what();
  }
  refresh_results_.clear();
  engine_->on_catalog_refreshed(error.empty(), error);
}

void WorkerEffects::take_catalog(std::map<std::string, HttpResult>& answers) {
  const size_t answer_bytes = answers["nodes"].body.size() + answers["safekeepers"].body.size();
  std::string error;
  try {
    pg::CatalogSnapshot snap;
    snap.nodes = decode_node_list(answer_json(answers["nodes"], "node list"));
    snap.safekeepers = decode_safekeeper_list(answer_json(answers["safekeepers"], "safekeeper list"));
    replace_catalog(snap);
    stats_.event("catalog_refresh");
  } catch (const std::exception& e) {
    error = e.what();
    stats_.event("catalog_refresh_failure");
    stats_.event("storcon_error");
  }
  answers.erase("nodes");
  answers.erase("safekeepers");
  // A large catalog (thousands of nodes) passes through several megabytes of answer and parse
  // tree once; give the freed pages back rather than keep them resident for the worker's life.
  if (answer_bytes > (1u << 20)) malloc_trim(0);
  if (!error.empty()) throw std::runtime_error(error);
}

void WorkerEffects::replace_catalog(const pg::CatalogSnapshot& snap) {
  engine_->catalog().nodes.replace(snap.nodes);
  engine_->catalog().safekeepers.replace(snap.safekeepers);
  // Keep the mirror tables in step, except on a standby (read-only) or where the extension is absent.
  bool recovery = true;
  pg::pg_call([&] { recovery = RecoveryInProgress(); });
  if (recovery) return;
  try {
    in_transaction([&] {
      pg::ExtensionObjects ext = pg::lookup_extension_objects();
      if (!ext.installed()) return;
      if (!ext.problem.empty()) log("the catalog mirror is not written: " + ext.problem);
      if (OidIsValid(ext.mirror_nodes) && OidIsValid(ext.mirror_safekeepers)) pg::mirror_catalog(ext, snap);
    });
  } catch (const std::exception& e) {
    log(std::string("could not update the catalog mirror: ") + e.what());
  }
}

void WorkerEffects::load_catalog_from_mirror() {
  pg::CatalogSnapshot snap;
  in_transaction([&] {
    pg::ExtensionObjects ext = pg::lookup_extension_objects();
    if (!ext.problem.empty()) log("the catalog mirror is not read: " + ext.problem);
    snap = pg::load_mirror(ext);
  });
  engine_->catalog().nodes.replace(snap.nodes);
  engine_->catalog().safekeepers.replace(snap.safekeepers);
}

std::vector<ForwardTarget> WorkerEffects::forward_targets(const ParsedNotification& n, bool hosted_here) {
  // Every registered compute of the tenant (of the timeline, for safekeepers), but this one...
  std::vector<ForwardTarget> out;
  if (registry_ != nullptr) out = registry_->targets(n.tenant_id, n.timeline_id, self_id_);
  // ... and storcon.hook_forward_to: this compute's tenant's other computes.
  if (hosted_here)
    for (const auto& url : pg::split_url_list(pg::guc_hook_forward_to ? pg::guc_hook_forward_to : "")) {
      bool known = false;
      for (const auto& t : out) known = known || t.url == url;
      if (!known) out.push_back(ForwardTarget{url, ""});
    }
  return out;
}

void WorkerEffects::start_forward(uint64_t batch, const ForwardRequest& request) {
  Batch b;
  b.results.resize(request.targets.size());
  std::vector<std::string> headers = {std::string(kForwardedHeader) + ": 1"};
  long left_ms = std::max<long>(1, static_cast<long>((request.deadline_us - clock_.now_us()) / 1000));
  headers.push_back(std::string(kDeadlineHeader) + ": " + std::to_string(std::max<long>(1, left_ms - 100)));
  std::string token_error;
  if (pg::guc_hook_forward_token_file && pg::guc_hook_forward_token_file[0] != '\0') {
    try {
      std::string token = pg::read_token_file(pg::guc_hook_forward_token_file, "storcon.hook_forward_token_file");
      headers.push_back("Authorization: Bearer " + token);
    } catch (const std::exception& e) {
      token_error = e.what();
    }
  } else if (request.authorization) {
    headers.push_back("Authorization: " + *request.authorization);
  }
  for (size_t i = 0; i < request.targets.size(); i++) {
    b.results[i].target = request.targets[i];
    if (!token_error.empty()) {
      b.results[i].error = token_error;
      continue;
    }
    HttpRequest r;
    r.method = "PUT";
    r.url = join_url(request.targets[i].url, endpoint_name(request.endpoint));
    r.body = request.body;
    r.headers = headers;
    r.connect_timeout_ms = std::min<long>(1000, left_ms);
    r.timeout_ms = left_ms;
    r.ca_file = pg::guc_ca_file ? pg::guc_ca_file : "";
    r.max_response_bytes = 64 * 1024;
    try {
      forward_ids_[fetcher_.start(r)] = {batch, i};
      b.pending++;
    } catch (const std::exception& e) {
      b.results[i].error = e.what();
    }
  }
  bool done = b.pending == 0;
  batches_[batch] = std::move(b);
  if (done) deferred_.push_back([this, batch] { finish_forward(batch); });
}

void WorkerEffects::finish_forward(uint64_t batch) {
  auto it = batches_.find(batch);
  if (it == batches_.end()) return;
  std::vector<ForwardResult> results = std::move(it->second.results);
  batches_.erase(it);
  engine_->on_forwarded(batch, results);
}

bool WorkerEffects::on_transfer_done(AsyncFetcher::Id id, HttpResult& result) {
  if (auto it = refresh_ids_.find(id); it != refresh_ids_.end()) {
    refresh_results_[it->second] = std::move(result);
    refresh_ids_.erase(it);
    if (refresh_ids_.empty()) finish_refresh();
    return true;
  }
  if (auto it = forward_ids_.find(id); it != forward_ids_.end()) {
    auto [batch, index] = it->second;
    forward_ids_.erase(it);
    auto b = batches_.find(batch);
    if (b == batches_.end()) return true;
    ForwardResult& r = b->second.results[index];
    r.status = result.status;
    r.not_running = result.not_running;
    if (!result.error.empty())
      r.error = result.error;
    else if (result.status / 100 != 2)
      r.error = message_from_error_body(result.status, result.body);
    if (--b->second.pending == 0) finish_forward(batch);
    return true;
  }
  return false;
}

void WorkerEffects::answer(RequestId id, const HookReply& reply) {
  auto it = endpoints_.find(id);
  if (it != endpoints_.end()) {
    stats_.count(it->second, reply.status);
    endpoints_.erase(it);
  }
  // The server may have stopped since the request came (credentials removed at a reload): its
  // connections went with it, there is nobody to answer.
  if (server_ != nullptr) server_->answer(id, reply);
}

uint64_t WorkerEffects::record(const NotificationRecord& r) {
  if (r.wrote && r.status == 200) stats_.observe_apply(r.duration_ms);
  uint64_t seq = stats_.record_notification(r.tenant_id, r.status, outcome_word(r.outcome), r.detail);
  audit_.add(r.reconcile ? "reconcile" : endpoint_name(r.endpoint), r.tenant_id, r.timeline_id, r.body, r.status,
             outcome_word(r.outcome), r.detail, r.duration_ms, r.forwarded);
  if (r.status >= 500)
    log(std::string(r.reconcile ? "reconcile" : endpoint_name(r.endpoint)) + " for tenant " +
        (r.tenant_id.empty() ? "?" : r.tenant_id) + " answered " + std::to_string(r.status) + ": " + r.detail);
  return seq;
}

void WorkerEffects::reconcile_done(uint64_t pass, const HookReply& reply) {
  if (on_reconcile_done) on_reconcile_done(pass, reply);
}

void WorkerEffects::applied(const std::vector<ConfEntry>&) { sync_compute_ctl_config(); }

// compute_ctl rebuilds PGDATA from this file at every start: it must name what is in effect now.
// A failure does not change the answer (the compute runs with the right settings); it is logged,
// shown in /status, and the pre-start command pg_storcon_spec repairs the file before a restart.
void WorkerEffects::sync_compute_ctl_config() {
  const char* path = pg::guc_compute_ctl_config;
  if (path == nullptr || path[0] == '\0') return;
  try {
    std::string text = read_small_file(path, kMaxComputeConfigBytes);
    RewriteResult r = rewrite_compute_spec(text, spec_update_in_effect(engine_->in_effect(), engine_->catalog()));
    if (r.changed) {
      struct stat st {};
      if (stat(path, &st) != 0) throw FileError(std::string("cannot stat ") + path);
      ReplaceResult w = replace_file_durably(path, r.text, st.st_mode & 07777);
      if (!w.durable) throw FileError(w.not_durable_reason);
      spec_writes_++;
      for (const auto& change : r.changes) log("compute_ctl config: " + change);
    }
    spec_error_.clear();
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    if (spec_error_ != e.what()) log(std::string("could not update storcon.compute_ctl_config: ") + e.what());
    spec_error_ = e.what();
  }
}

nlohmann::json WorkerEffects::compute_ctl_status() const {
  const char* path = pg::guc_compute_ctl_config;
  if (path == nullptr || path[0] == '\0') return nullptr;
  return {{"path", path},
          {"writes", spec_writes_},
          {"last_error", spec_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(spec_error_)}};
}

void WorkerEffects::run_deferred() {
  std::vector<std::function<void()>> now;
  now.swap(deferred_);
  for (auto& f : now) f();
}

std::vector<std::string> WorkerEffects::take_log() {
  std::vector<std::string> out;
  out.swap(log_);
  return out;
}

}  // namespace storcon::worker
