#include "bgworker/reconciler.hpp"

#include "control/compute_config.hpp"
#include "control/json_fields.hpp"
#include "control/reconcile.hpp"
#include "control/storcon_client.hpp"
#include "extension/catalog_sync.hpp"
#include "extension/gucs.hpp"
#include "bgworker/storcon_fetch.hpp"

#include <algorithm>

namespace storcon::worker {

namespace {
constexpr long long kSecond = 1000000;
}  // namespace

void Reconciler::request_now(Request* waiter) {
  if (waiter != nullptr && waiter_ != nullptr) {
    queue_.answer(waiter, error_reply(409, "a reconcile pass is already running"));
    return;
  }
  waiter_ = waiter;
  if (!fetching_) next_due_us_ = 0;
}

void Reconciler::answer_waiter(HookReply reply) {
  if (waiter_ == nullptr) return;
  Request* w = waiter_;
  waiter_ = nullptr;
  queue_.answer(w, std::move(reply));
}

void Reconciler::start() {
  const InEffect& now = env_.cached();
  auto paths = kCatalogPaths;
  if (!now.tenant_id.empty()) {
    paths.push_back({"locate", "/debug/v1/tenant/" + now.tenant_id + "/locate"});
    if (!now.timeline_id.empty() && now.primary)
      paths.push_back({"timeline", "/debug/v1/tenant/" + now.tenant_id + "/timeline/" + now.timeline_id + "/locate"});
  }
  try {
    fetch_.start(storcon_gets(paths, 10000));
  } catch (const std::exception& e) {
    fail(e.what());
    return;
  }
  started_us_ = now_us();
  fetching_ = true;
}

void Reconciler::fail(const std::string& why) {
  failures_++;
  last_error_ = why;
  queue_.stats().event("reconcile_failure");
  long long backoff = std::min<long long>(1LL << std::min(failures_, 6), 60) * kSecond;
  if (pg::guc_sync_interval_s > 0) backoff = std::min<long long>(backoff, pg::guc_sync_interval_s * kSecond);
  next_due_us_ = now_us() + backoff;
  elog(LOG, "pg_storcon hook: reconcile with storcon failed (retry in %lld s): %s", backoff / kSecond, why.c_str());
  answer_waiter(error_reply(503, "could not reconcile with storcon: " + why));
}

void Reconciler::complete() {
  fetching_ = false;
  queue_.stats().event("reconcile");
  const InEffect& now = env_.cached();
  std::vector<ConfEntry> expected;
  std::string tenant_note;
  try {
    pg::CatalogSnapshot snap;
    try {
      snap = fetched_catalog(fetch_);
    } catch (const std::exception&) {
      queue_.stats().event("catalog_refresh_failure");
      queue_.stats().event("storcon_error");
      throw;
    }
    env_.replace_catalog(snap);
    queue_.stats().event("catalog_refresh");
    if (!now.tenant_id.empty()) {
      if (fetched_status(fetch_, "locate") == 404) {
        tenant_note = "storcon does not know tenant " + now.tenant_id;
      } else {
        nlohmann::json placement = fetched_json(fetch_, "locate", "tenant locate");
        std::optional<nlohmann::json> sk_placement;
        bool has_timeline = fetch_.results().count("timeline") > 0;
        if (has_timeline && fetched_status(fetch_, "timeline") != 404)
          sk_placement = fetched_json(fetch_, "timeline", "timeline locate");
        expected = compute_config(now.tenant_id, now.timeline_id, placement, sk_placement, snap.safekeepers);
      }
    }
  } catch (const std::exception& e) {
    fail(e.what());
    return;
  }
  failures_ = 0;
  last_error_.clear();
  last_success_us_ = now_us();
  next_due_us_ = pg::guc_sync_interval_s > 0 ? now_us() + pg::guc_sync_interval_s * kSecond : -1;

  ReconcilePlan plan = plan_reconcile(expected, now);
  if (plan.settings.empty()) {
    nlohmann::json body = {{"status", "unchanged"}, {"changes", nlohmann::json::array()}};
    if (!tenant_note.empty()) body["detail"] = tenant_note;
    answer_waiter(HookReply{200, body});
    return;
  }
  queue_.stats().event("reconcile_action");
  HookPlan hp;
  hp.tenant_id = now.tenant_id;
  hp.outcome = "apply";
  hp.settings = plan.settings;
  hp.applied = HookReply{200, {{"status", "applied"}, {"changes", changes_json(plan.changes)}}};
  Request* waiter = waiter_;
  waiter_ = nullptr;
  queue_.enqueue(Job{waiter, Endpoint::Reconcile, std::move(hp), started_us_});
}

void Reconciler::tick() {
  if (fetching_) {
    if (fetch_.poll()) complete();
    return;
  }
  if (next_due_us_ >= 0 && now_us() >= next_due_us_) start();
}

long Reconciler::wait_cap_ms() const {
  if (fetching_) return 20;  // poll the transfers often; they never block
  if (next_due_us_ < 0) return 1000;
  long long left = (next_due_us_ - now_us()) / 1000;
  return static_cast<long>(std::clamp<long long>(left, 0, 1000));
}

nlohmann::json Reconciler::status() const {
  nlohmann::json r = {{"running", fetching_},
                      {"failures_in_a_row", failures_},
                      {"last_error", last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_)},
                      {"seconds_since_success",
                       last_success_us_ ? nlohmann::json((now_us() - last_success_us_) / kSecond) : nlohmann::json(nullptr)},
                      {"next_in_seconds",
                       next_due_us_ < 0 ? nlohmann::json(nullptr)
                                        : nlohmann::json(std::max<long long>(0, (next_due_us_ - now_us()) / kSecond))}};
  return {{"reconcile", r}};
}

}  // namespace storcon::worker
