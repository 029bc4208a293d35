#include "bgworker/notification_queue.hpp"

#include "bgworker/storcon_fetch.hpp"
#include "control/storcon_client.hpp"
#include "extension/config_writer.hpp"
#include "extension/gucs.hpp"

#include <csignal>
#include <ctime>
#include <fstream>
#include <sstream>

extern "C" {
#include "miscadmin.h"
#include "utils/timestamp.h"
}

namespace storcon::worker {

long long now_us() { return static_cast<long long>(GetCurrentTimestamp()); }

namespace {
// Writes the edit in its own transaction; throws (PgError / std::exception) and leaves the old file.
std::vector<ConfEntry> write_settings(const std::vector<ConfEntry>& set, const std::vector<std::string>& remove) {
  std::vector<ConfEntry> before;
  in_transaction([&] {
    pg::validate_settings(set);
    before = pg::edit_auto_conf_file(set, remove);
  });
  return before;
}

void signal_reload() { kill(PostmasterPid, SIGHUP); }

HookReply text_reply(int status, std::string text) {
  HookReply r{status, nullptr};
  r.text = std::move(text);
  return r;
}
}  // namespace

void NotificationQueue::set_auth(HookAuthSetup auth, std::string warning) {
  auth_ = std::move(auth);
  auth_warning_ = std::move(warning);
}

std::vector<std::string> NotificationQueue::take_log() {
  std::vector<std::string> out;
  out.swap(log_);
  return out;
}

bool NotificationQueue::dispatch(Request& req, HookReply* reply) {
  Endpoint e = req.endpoint;
  std::optional<AuthDecision> denied;
  // storcon.reconcile() calls POST /reconcile from this machine; everything else needs credentials.
  bool local_reconcile = e == Endpoint::Reconcile && req.from_this_host;
  if (e != Endpoint::NotFound && e != Endpoint::Healthz && !local_reconcile && auth_.auth) {
    AuthDecision d = auth_.auth->check(req.authorization ? req.authorization->c_str() : nullptr,
                                       static_cast<int64_t>(std::time(nullptr)));
    if (!d.ok()) denied = d;
  }
  if (e == Endpoint::NotFound) {
    *reply = error_reply(404, "no such endpoint: " + req.path);
  } else if (req.method != endpoint_method(e)) {
    *reply = error_reply(405, std::string(endpoint_name(e)) + " accepts " + endpoint_method(e) + " only");
  } else if (e == Endpoint::Healthz) {
    *reply = HookReply{200, {{"status", "ok"}}};
  } else if (!auth_.auth && !local_reconcile) {
    // Configured but unusable credentials: refuse rather than run open (storcon retries a 503).
    *reply = error_reply(503, "hook authentication is misconfigured; see the server log");
  } else if (denied) {
    log_.push_back(std::string("refused ") + req.method + " " + req.path + ": " + denied->reason);
    *reply = error_reply(denied->http_status(), denied->client_message());
  } else if (e == Endpoint::Status) {
    nlohmann::json st = status_json(server_ ? server_->listen() : "", env_.cached(), stats_, queue_.size(),
                                    in_flight_.has_value());
    st["auth"] = auth_.mode;
    if (!auth_warning_.empty()) st["warning"] = auth_warning_;
    st["recent"] = audit_.recent();
    if (status_extra_) st.update(status_extra_());
    *reply = HookReply{200, st};
  } else if (e == Endpoint::Metrics) {
    *reply = text_reply(200, stats_.prometheus(env_.cached()));
  } else if (e == Endpoint::Reconcile) {
    if (on_reconcile_) on_reconcile_(&req);
    return false;  // answered when the reconcile pass is done
  } else {
    Job job{&req, e, std::nullopt, now_us()};
    if (idle()) {
      // Nothing ahead of it: decide now. Planning reads only memory (the settings as of the last
      // reload, the directories), so it is safe here; what needs writing, refreshing or forwarding
      // is suspended and done by pump(), outside MHD's callbacks.
      job.plan = e == Endpoint::NotifySafekeepers ? plan_safekeepers(req.body, env_) : plan_attach(req.body, env_);
      bool forwards = job.plan->reply && job.plan->reply->status / 100 == 2 && job.plan->outcome != "not_hosted" &&
                      !req.forwarded && pg::guc_hook_forward_to && pg::guc_hook_forward_to[0] != '\0';
      if (job.plan->reply && !forwards) {
        *reply = *job.plan->reply;
        record(job, job.plan->outcome, *reply, false);
        stats_.count(e, reply->status);
        return true;
      }
    }
    queue_.push_back(std::move(job));
    return false;
  }
  stats_.count(e, reply->status);
  return true;
}

void NotificationQueue::answer(Request* req, HookReply reply) {
  stats_.count(req->endpoint, reply.status);
  server_->resume(*req, std::move(reply));
}

void NotificationQueue::finish(Job& job, const std::string& outcome, HookReply reply, bool wrote) {
  if (start_forwarding(job, outcome, reply, wrote)) return;
  complete(job, outcome, std::move(reply), wrote);
}

namespace {
bool read_token(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  while (!out->empty() && (out->back() == '\n' || out->back() == '\r' || out->back() == ' ')) out->pop_back();
  return true;
}
}  // namespace

// A notification accepted here goes to the tenant's other computes (storcon calls one URL), in
// parallel, with the same body; the queue waits, so they see notifications in storcon's order.
bool NotificationQueue::start_forwarding(Job& job, const std::string& outcome, HookReply& reply, bool wrote) {
  if (job.request == nullptr || job.request->forwarded || job.kind == Endpoint::Reconcile) return false;
  if (reply.status < 200 || reply.status > 299) return false;  // not accepted here: storcon retries anyway
  if (outcome == "not_hosted") return false;                   // not this tenant: not its computes' either
  auto targets = pg::split_url_list(pg::guc_hook_forward_to ? pg::guc_hook_forward_to : "");
  if (targets.empty()) return false;
  std::vector<std::string> headers = {std::string(kForwardedHeader) + ": 1"};
  std::string token;
  if (pg::guc_hook_forward_token_file && pg::guc_hook_forward_token_file[0] != '\0') {
    if (!read_token(pg::guc_hook_forward_token_file, &token)) {
      complete(job, "forward_failed",
               error_reply(503, "applied here, but the file named by storcon.hook_forward_token_file cannot be read"),
               wrote);
      return true;
    }
    headers.push_back("Authorization: Bearer " + token);
  } else if (job.request->authorization) {
    headers.push_back("Authorization: " + *job.request->authorization);
  }
  std::vector<FetchRequest> batch;
  for (const auto& base : targets)
    batch.push_back(FetchRequest{base, "PUT", join_url(base, endpoint_name(job.kind)), job.request->body, headers,
                                 1000, 8000, pg::guc_ca_file ? pg::guc_ca_file : ""});
  forward_fetch_.start(batch);
  forwarding_ = Forwarding{std::move(job), outcome, std::move(reply), wrote};
  return true;
}

void NotificationQueue::poll_forwarding() {
  if (!forwarding_ || !forward_fetch_.poll()) return;
  Forwarding f = std::move(*forwarding_);
  forwarding_.reset();
  std::string failures;
  nlohmann::json forwarded = nlohmann::json::array();
  for (const auto& [url, r] : forward_fetch_.results()) {
    forwarded.push_back({{"url", url}, {"status", r.status}});
    if (r.status != 200)
      failures += (failures.empty() ? "" : "; ") + url + ": " +
                  (r.error.empty() ? message_from_error_body(r.status, r.body) : r.error);
  }
  if (!failures.empty()) {
    complete(f.job, "forward_failed", error_reply(503, "applied here, but not on every compute: " + failures), f.wrote);
    return;
  }
  f.local.body["forwarded"] = forwarded;
  complete(f.job, f.outcome, std::move(f.local), f.wrote);
}

// A node or safekeeper id missing from the directory: refresh it from storcon without blocking the
// loop, then plan the job again (a second miss is answered 503).
void NotificationQueue::start_refresh(Job job) {
  try {
    refresh_fetch_.start(storcon_gets(kCatalogPaths, 3000));  // storcon gives the hook 10 s in all
  } catch (const std::exception& e) {
    job.plan.reset();
    finish(job, "unresolved", error_reply(503, std::string("could not refresh the catalog from storcon: ") + e.what()),
           false);
    return;
  }
  refreshing_ = std::move(job);
}

void NotificationQueue::poll_refresh() {
  if (!refreshing_ || !refresh_fetch_.poll()) return;
  Job job = std::move(*refreshing_);
  refreshing_.reset();
  try {
    env_.replace_catalog(fetched_catalog(refresh_fetch_));
    stats_.event("catalog_refresh");
  } catch (const std::exception& e) {
    stats_.event("catalog_refresh_failure");
    stats_.event("storcon_error");
    finish(job, "unresolved", error_reply(503, std::string("could not refresh the catalog from storcon: ") + e.what()),
           false);
    return;
  }
  job.plan.reset();
  env_.set_fresh(true);  // the new plan sees the refreshed directories; a second miss is final
  start(std::move(job));
  env_.set_fresh(false);
}

void NotificationQueue::complete(Job& job, const std::string& outcome, HookReply reply, bool wrote) {
  record(job, outcome, reply, wrote);
  if (job.request) answer(job.request, std::move(reply));
}

void NotificationQueue::record(Job& job, const std::string& outcome, HookReply& reply, bool wrote) {
  const std::string tenant = job.plan ? job.plan->tenant_id : "";
  std::string detail = reply.body.contains("msg") ? reply.body["msg"].get<std::string>() : "";
  if (detail.empty() && reply.body.contains("detail")) detail = reply.body["detail"].get<std::string>();
  reply.body["seq"] = stats_.record_notification(tenant, reply.status, outcome, detail);
  double ms = static_cast<double>(now_us() - job.received_us) / 1000.0;
  if (wrote && reply.status == 200) {
    stats_.observe_apply(ms);
    if (job.kind != Endpoint::Reconcile) last_notification_applied_us_ = now_us();
  }
  std::string timeline = reply.body.contains("timeline_id") && reply.body["timeline_id"].is_string()
                             ? reply.body["timeline_id"].get<std::string>()
                             : "";
  std::string body = job.request ? job.request->body
                                 : (reply.body.contains("changes") ? reply.body["changes"].dump() : "");
  if (job.kind != Endpoint::Reconcile || wrote || reply.status != 200 || job.request)
    audit_.add(endpoint_name(job.kind), tenant, timeline, body, reply.status, outcome, detail, ms);
  if (reply.status >= 500 || reply.status == 423)
    log_.push_back(std::string(endpoint_name(job.kind)) + " for tenant " + (tenant.empty() ? "?" : tenant) +
                   " answered " + std::to_string(reply.status) + ": " + detail);
}

void NotificationQueue::pump() {
  poll_forwarding();
  poll_refresh();
  while (!in_flight_ && !forwarding_ && !refreshing_ && !queue_.empty()) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    start(std::move(job));
  }
}

void NotificationQueue::start(Job job) {
  if (job.kind == Endpoint::Reconcile && last_notification_applied_us_ > job.received_us) {
    // A notification applied after storcon was asked is newer than this plan: keep it.
    finish(job, "superseded", HookReply{200, {{"status", "superseded"}, {"changes", nlohmann::json::array()}}},
           false);
    return;
  }
  if (!job.plan) {
    try {
      job.plan = job.kind == Endpoint::NotifySafekeepers ? plan_safekeepers(job.request->body, env_)
                                                         : plan_attach(job.request->body, env_);
    } catch (const std::exception& e) {
      finish(job, "error", error_reply(503, std::string("could not plan the notification: ") + e.what()), false);
      return;
    }
  }
  if (job.plan->outcome == "refreshing") {
    start_refresh(std::move(job));
    return;
  }
  if (job.plan->reply) {
    HookReply reply = *job.plan->reply;
    finish(job, job.plan->outcome, std::move(reply), false);
    return;
  }
  std::vector<ConfEntry> before;
  try {
    before = write_settings(job.plan->settings, {});
  } catch (const std::exception& e) {
    finish(job, "write_failed",
           error_reply(503, std::string("could not write postgresql.auto.conf (left unchanged): ") + e.what()), false);
    return;
  }
  signal_reload();
  long long deadline = now_us() + static_cast<long long>(pg::guc_hook_apply_timeout_ms) * 1000;
  in_flight_ = InFlight{std::move(job), std::move(before), deadline};
}

void NotificationQueue::on_reload() {
  env_.read_settings();
  if (!in_flight_) return;
  InFlight f = std::move(*in_flight_);
  in_flight_.reset();
  if (settings_in_effect(f.job.plan->settings, env_.cached())) {
    HookReply reply = f.job.plan->applied;
    finish(f.job, "applied", std::move(reply), true);
    return;
  }
  // The reload did not take the values (the server log says why): put the old ones back, so the
  // file is fully old again, and let storcon retry.
  std::vector<ConfEntry> undo_set;
  std::vector<std::string> undo_remove;
  pg::undo_edit(f.before, f.job.plan->settings, &undo_set, &undo_remove);
  std::string restored = "restored";
  try {
    write_settings(undo_set, undo_remove);
    signal_reload();
  } catch (const std::exception& e) {
    restored = std::string("could not be restored: ") + e.what();
  }
  finish(f.job, "not_in_effect",
         error_reply(503, "the written settings did not take effect after reload; postgresql.auto.conf " + restored),
         false);
}

void NotificationQueue::on_tick() {
  if (!in_flight_ || now_us() < in_flight_->deadline_us) return;
  InFlight f = std::move(*in_flight_);
  in_flight_.reset();
  // Written and durable, but the reload was not observed in time. For notify-attach, 423 tells
  // storcon the change is persisted and not yet applied; it sends the same body again later. For
  // notify-safekeepers storcon would treat 423 as done (contract §1.5), so that answer is 503.
  int status = f.job.kind == Endpoint::NotifyAttach ? 423 : 503;
  finish(f.job, "pending_reload",
         error_reply(status, "the settings are written to postgresql.auto.conf and take effect at the next reload"),
         true);
}

long NotificationQueue::wait_cap_ms() const {
  if (forwarding_ || refreshing_) return 20;  // poll the transfers; they never block
  if (!in_flight_) return 1000;
  long long left = (in_flight_->deadline_us - now_us()) / 1000;
  return left < 0 ? 0 : (left > 1000 ? 1000 : static_cast<long>(left) + 1);
}

}  // namespace storcon::worker
