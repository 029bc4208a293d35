#include "bgworker/reconciler.hpp"

#include "bgworker/storcon_fetch.hpp"
#include "control/reconcile.hpp"
#include "extension/gucs.hpp"

#include <algorithm>
#include <climits>

namespace storcon::worker {

namespace {
constexpr int64_t kSecond = 1000000;
constexpr long kPassTimeoutMs = 10000;
}  // namespace

void Reconciler::request(uint64_t http_id, uint64_t ticket) {
  // A pass still asking storcon answers this caller too; one whose answers are in is too old.
  bool join = pass_ != 0 && !applying_;
  auto& waiters = join || pass_ == 0 ? http_waiters_ : next_http_waiters_;
  uint64_t& t = join || pass_ == 0 ? ticket_ : next_ticket_;
  if (http_id != 0) waiters.push_back(http_id);
  t = std::max(t, ticket);
  if (!join) wanted_ = true;
}

void Reconciler::schedule_next(int64_t from_us) {
  next_due_us_ = pg::guc_sync_interval_s > 0 ? from_us + pg::guc_sync_interval_s * kSecond : INT64_MAX;
}

void Reconciler::on_reload() {
  if (failures_ == 0 && last_pass_end_us_ != 0) schedule_next(last_pass_end_us_);
  if (failures_ > 0 && pg::guc_sync_interval_s > 0)
    next_due_us_ = std::min(next_due_us_, clock_.now_us() + pg::guc_sync_interval_s * kSecond);
}

void Reconciler::tick() {
  if (pass_ == 0 && (wanted_ || clock_.now_us() >= next_due_us_)) start();
}

int64_t Reconciler::next_due_us() const {
  if (pass_ != 0) return INT64_MAX;  // the transfers and the engine wake the loop
  return wanted_ ? 0 : next_due_us_;
}

void Reconciler::start() {
  static uint64_t passes = 0;
  wanted_ = false;
  pass_ = ++passes;
  applying_ = false;
  started_us_ = clock_.now_us();
  results_.clear();
  const InEffect& now = engine_.in_effect();
  std::vector<std::pair<std::string, std::string>> paths = {{"nodes", kNodesPath}, {"safekeepers", kSafekeepersPath}};
  if (!now.tenant_id.empty()) {
    paths.push_back({"describe", "/control/v1/tenant/" + now.tenant_id});
    if (!now.timeline_id.empty() && now.primary)
      paths.push_back({"timeline", "/debug/v1/tenant/" + now.tenant_id + "/timeline/" + now.timeline_id + "/locate"});
  }
  try {
    for (const auto& [key, path] : paths) transfers_[fetcher_.start(storcon_get(path, kPassTimeoutMs))] = key;
  } catch (const std::exception& e) {
    for (const auto& [id, key] : transfers_) fetcher_.cancel(id);
    transfers_.clear();
    fail(e.what());
  }
}

bool Reconciler::on_transfer_done(AsyncFetcher::Id id, HttpResult& result) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return false;
  results_[it->second] = std::move(result);
  transfers_.erase(it);
  if (transfers_.empty()) complete();
  return true;
}

void Reconciler::complete() {
  stats_.event("reconcile");
  const InEffect now = engine_.in_effect();
  std::vector<ConfEntry> expected;
  std::string note;
  try {
    effects_.take_catalog(results_);
    if (!now.tenant_id.empty()) {
      // A 404 is an answer: storcon does not know the tenant, or does not manage the safekeepers.
      auto optional_json = [&](const char* key, const char* what) -> std::optional<nlohmann::json> {
        auto it = results_.find(key);
        if (it == results_.end() || (it->second.error.empty() && it->second.status == 404)) return std::nullopt;
        return answer_json(it->second, what);
      };
      ReconcileExpectation exp = expected_from_storcon(now, optional_json("describe", "tenant describe"),
                                                       optional_json("timeline", "timeline locate"),
                                                       engine_.catalog());
      expected = std::move(exp.settings);
      for (const auto& n : exp.notes) note += (note.empty() ? "" : "; ") + n;
    }
  } catch (const std::exception& e) {
    results_.clear();
    fail(e.what());
    return;
  }
  results_.clear();  // the answers are read: no need to hold them until the next pass
  failures_ = 0;
  last_error_.clear();
  last_note_ = note;
  last_success_us_ = clock_.now_us();
  ReconcilePlan plan = plan_reconcile(expected, now);
  if (plan.settings.empty()) {
    nlohmann::json body = {{"status", "unchanged"}, {"changes", nlohmann::json::array()}};
    if (!note.empty()) body["detail"] = note;
    finish(HookReply{200, body});
    return;
  }
  stats_.event("reconcile_action");
  applying_ = true;
  engine_.submit_reconcile(pass_, started_us_, plan.settings, changes_json(plan.changes));  // -> on_applied
}

void Reconciler::on_applied(uint64_t pass, const HookReply& reply) {
  if (pass == pass_) finish(reply);
}

void Reconciler::finish(const HookReply& reply) {
  std::vector<uint64_t> http = std::move(http_waiters_);
  uint64_t ticket = ticket_;
  http_waiters_ = std::move(next_http_waiters_);
  next_http_waiters_.clear();
  ticket_ = next_ticket_;
  next_ticket_ = 0;
  if (!http_waiters_.empty() || ticket_ != 0) wanted_ = true;
  pass_ = 0;
  applying_ = false;
  last_pass_end_us_ = clock_.now_us();
  if (failures_ == 0) schedule_next(last_pass_end_us_);
  for (uint64_t id : http)
    if (answer_http) answer_http(id, reply);
  if (ticket != 0 && answer_ticket) answer_ticket(ticket, reply);
}

void Reconciler::fail(const std::string& why) {
  failures_++;
  last_error_ = why;
  stats_.event("reconcile_failure");
  int64_t backoff = std::min<int64_t>(int64_t{1} << std::min(failures_, 6), 60) * kSecond;
  if (pg::guc_sync_interval_s > 0) backoff = std::min<int64_t>(backoff, pg::guc_sync_interval_s * kSecond);
  effects_.log("reconcile with storcon failed (retry in " + std::to_string(backoff / kSecond) + " s): " + why);
  finish(error_reply(503, "could not reconcile with storcon: " + why));
  next_due_us_ = clock_.now_us() + backoff;
}

void Reconciler::cancel(const std::string& why) {
  if (pass_ == 0 || applying_) return;
  for (const auto& [id, key] : transfers_) fetcher_.cancel(id);
  transfers_.clear();
  effects_.log("reconcile pass cancelled: " + why);
  finish(error_reply(503, "the reconcile pass was cancelled: " + why));
}

nlohmann::json Reconciler::status() const {
  int64_t now = clock_.now_us();
  auto seconds = [](int64_t us) { return nlohmann::json(us / kSecond); };
  nlohmann::json r = {{"running", pass_ != 0},
                      {"failures_in_a_row", failures_},
                      {"last_error", last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_)},
                      {"note", last_note_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_note_)},
                      {"seconds_since_success", last_success_us_ ? seconds(now - last_success_us_) : nlohmann::json(nullptr)},
                      {"next_in_seconds", next_due_us_ == INT64_MAX ? nlohmann::json(nullptr)
                                                                    : seconds(std::max<int64_t>(0, next_due_us_ - now))}};
  return r;
}

}  // namespace storcon::worker
