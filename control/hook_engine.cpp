#include "control/hook_engine.hpp"

#include <algorithm>
#include <climits>

namespace storcon {

namespace {

bool in_group(const ConfEntry& e, SettingGroup g) {
  bool sk = e.name == kSafekeepersGuc;
  return g == SettingGroup::Safekeepers ? sk : !sk;
}

std::vector<ConfEntry> filtered(const std::vector<ConfEntry>& settings, SettingGroup g) {
  std::vector<ConfEntry> out;
  for (const auto& e : settings)
    if (in_group(e, g)) out.push_back(e);
  return out;
}

constexpr SettingGroup kGroups[] = {SettingGroup::ShardMap, SettingGroup::Safekeepers};
int gi(SettingGroup g) { return g == SettingGroup::ShardMap ? 0 : 1; }


std::string seconds_text(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(us) / 1e6);
  return buf;
}

HookReply superseded_reply(const std::string& tenant_id) {
  return HookReply{200, {{"status", "superseded"},
                         {"tenant_id", tenant_id},
                         {"detail", "a newer notification's configuration is in effect"}}};
}

}  // namespace

HookEngine::Entry* HookEngine::find(uint64_t seq) {
  auto it = entries_.find(seq);
  return it == entries_.end() ? nullptr : &it->second;
}

bool HookEngine::newer_decided(const Entry& e, SettingGroup g) const {
  return decided_[gi(g)] > std::make_pair(e.intent_us, e.seq);
}

void HookEngine::receive(Notification n) {
  const int64_t now = clock_.now_us();
  Entry e;
  e.seq = next_seq_++;
  e.id = n.id;
  e.endpoint = n.endpoint;
  e.body = std::move(n.body);
  e.authorization = std::move(n.authorization);
  e.received_us = e.intent_us = now;
  e.deadline_us = now + config_.answer_budget_us;
  if (n.deadline_us > 0 && n.deadline_us < e.deadline_us) e.deadline_us = n.deadline_us;
  try {
    e.parsed = parse_notification(e.endpoint, e.body);
  } catch (const HookError& err) {
    e.plan.outcome = Outcome::Rejected;
    e.plan.reply = error_reply(err.status, err.what());
  }
  const uint64_t seq = e.seq;
  Entry& ref = entries_.emplace(seq, std::move(e)).first->second;
  if (!ref.parsed) {
    ref.local = Local::Done;
  } else {
    ref.tenant_id = ref.parsed->tenant_id;
    ref.timeline_id = ref.parsed->timeline_id;
    const bool hosted = hosted_here(*ref.parsed, in_effect_);
    if (!n.forwarded) ref.targets = effects_.forward_targets(*ref.parsed, hosted);
    if (hosted) {
      plan(ref, false);
    } else {
      ref.local = Local::Done;
      ref.plan.outcome = Outcome::NotHosted;
      ref.plan.reply = not_hosted_reply(*ref.parsed, in_effect_);
    }
    if (!ref.targets.empty()) {
      ref.fwd = Fwd::Waiting;
      forward_queue_[std::string(endpoint_name(ref.endpoint)) + "/" + ref.tenant_id + "/" + ref.timeline_id]
          .push_back(seq);
    }
  }
  pump();
  if (Entry* again = find(seq)) maybe_answer(*again);
}

void HookEngine::submit_reconcile(uint64_t pass, int64_t started_us, const std::vector<ConfEntry>& settings,
                                  nlohmann::json changes) {
  const int64_t now = clock_.now_us();
  Entry e;
  e.seq = next_seq_++;
  e.reconcile_pass = pass;
  e.endpoint = Endpoint::Reconcile;
  e.tenant_id = in_effect_.tenant_id;
  e.received_us = now;
  e.intent_us = started_us;
  e.deadline_us = now + config_.answer_budget_us;
  for (SettingGroup g : kGroups) {
    auto part = filtered(settings, g);
    if (part.empty() || newer_decided(e, g)) continue;  // a notification after the question is newer
    e.groups[gi(g)] = true;
    e.plan.settings.insert(e.plan.settings.end(), part.begin(), part.end());
  }
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& c : changes)
    for (const auto& s : e.plan.settings)
      if (c.value("setting", "") == s.name) kept.push_back(c);
  e.body = kept.dump();
  if (e.plan.settings.empty()) {
    bool superseded = !settings.empty();
    effects_.reconcile_done(pass, HookReply{200, {{"status", superseded ? "superseded" : "unchanged"},
                                                  {"changes", nlohmann::json::array()}}});
    return;
  }
  e.plan.kind = LocalPlan::Write;
  e.plan.applied = HookReply{200, {{"status", "applied"}, {"changes", kept}}};
  const uint64_t seq = e.seq;
  Entry& ref = entries_.emplace(seq, std::move(e)).first->second;
  queue_write(ref);
  pump();
  if (Entry* again = find(seq)) maybe_answer(*again);
}

// A hosted notification's local decision, against the configuration as it will be once the writes
// already pending are in effect.
void HookEngine::plan(Entry& e, bool refreshed) {
  const SettingGroup g = e.parsed->group();
  InEffect projected = in_effect_;
  std::optional<uint64_t> pending;  // the newest write pending for g, if any
  for (const auto& [seq, other] : entries_) {
    if (&other == &e || !other.groups[gi(g)] || (other.local != Local::Queued && other.local != Local::Written)) continue;
    if (!pending || std::make_pair(other.intent_us, other.seq) > std::make_pair(find(*pending)->intent_us, *pending))
      pending = seq;
  }
  if (pending) {
    for (const auto& s : filtered(find(*pending)->plan.settings, g)) {
      if (s.name == kConnstringGuc) projected.pageserver_connstring = s.value;
      if (s.name == kSafekeepersGuc) projected.safekeepers = s.value;
      if (s.name == kStripeSizeGuc) projected.stripe_size = std::stoll(s.value);
    }
  }
  LocalPlan p = plan_local(*e.parsed, projected, catalog_, refreshed);
  if (p.kind == LocalPlan::NeedCatalog) {
    e.local = Local::Waiting;
    if (!refreshing_) {
      refreshing_ = true;
      effects_.start_catalog_refresh(e.deadline_us);
    }
    return;
  }
  const bool older = newer_decided(e, g);
  if (p.kind == LocalPlan::Write || (p.outcome == Outcome::Unchanged && pending)) {
    // To be written, or equal to a write still pending: answered once that write is in effect.
    e.plan = std::move(p);
    if (older && !pending) {
      finish_local(e, Outcome::Superseded, superseded_reply(e.tenant_id));
      return;
    }
    queue_write(e);
    return;
  }
  if (outcome_ok(p.outcome) && !older) decided_[gi(g)] = {e.intent_us, e.seq};
  if (outcome_ok(p.outcome) && older && !pending) p = LocalPlan{LocalPlan::Decided, Outcome::Superseded,
                                                                superseded_reply(e.tenant_id), {}, {}};
  finish_local(e, p.outcome, p.reply);
}

void HookEngine::queue_write(Entry& e) {
  e.local = Local::Queued;
  for (SettingGroup g : kGroups) {
    if (filtered(e.plan.settings, g).empty()) continue;
    e.groups[gi(g)] = true;
    decided_[gi(g)] = std::max(decided_[gi(g)], std::make_pair(e.intent_us, e.seq));
  }
}

void HookEngine::finish_local(Entry& e, Outcome outcome, HookReply reply) {
  e.local = Local::Done;
  e.plan.kind = LocalPlan::Decided;
  e.plan.outcome = outcome;
  e.plan.reply = std::move(reply);
}

void HookEngine::pump() {
  pump_write();
  pump_forwards();
  std::vector<uint64_t> seqs;
  for (const auto& [seq, e] : entries_) seqs.push_back(seq);
  for (uint64_t seq : seqs)
    if (Entry* e = find(seq)) maybe_answer(*e);
}

void HookEngine::pump_write() {
  // The newest queued plan of each group is what the configuration must become.
  std::optional<uint64_t> newest[2];
  std::vector<uint64_t> queued;
  for (const auto& [seq, e] : entries_) {
    if (e.local != Local::Queued) continue;
    queued.push_back(seq);
    for (SettingGroup g : kGroups) {
      if (!e.groups[gi(g)]) continue;
      auto& n = newest[gi(g)];
      if (!n || std::make_pair(e.intent_us, e.seq) > std::make_pair(find(*n)->intent_us, *n)) n = seq;
    }
  }
  if (queued.empty()) return;
  const int64_t now = clock_.now_us();
  std::vector<ConfEntry> settings;
  for (SettingGroup g : kGroups) {
    std::vector<ConfEntry> part;
    if (newest[gi(g)]) {
      part = filtered(find(*newest[gi(g)])->plan.settings, g);
    } else if (writing_) {
      part = filtered(writing_->settings, g);  // keep what the write in flight sets
    }
    settings.insert(settings.end(), part.begin(), part.end());
  }
  if (writing_ && settings == writing_->settings) {  // nothing newer: join the write in flight
    for (uint64_t seq : queued) {
      find(seq)->local = Local::Written;
      writing_->covered.push_back(seq);
    }
    return;
  }
  // One write at a time, verified by its reload; notifications queued meanwhile share the next.
  // A write whose reload is slow may be replaced by a newer one after rewrite_after_us.
  if (writing_ && now - writing_->written_us < config_.rewrite_after_us) return;
  WriteResult r = effects_.write_settings(settings);
  if (!r.ok) {
    std::string msg = r.file_replaced
                          ? "postgresql.auto.conf was replaced but could not be made durable (" + r.error +
                                "); it takes effect at the next reload"
                          : "could not write postgresql.auto.conf (left unchanged): " + r.error;
    for (uint64_t seq : queued) finish_local(*find(seq), Outcome::WriteFailed, error_reply(503, msg));
    return;
  }
  Writing w;
  w.settings = settings;
  w.before = writing_ ? writing_->before : r.before;
  w.covered = writing_ ? writing_->covered : std::vector<uint64_t>{};
  w.written_us = now;
  for (uint64_t seq : queued) {
    Entry& e = *find(seq);
    e.local = Local::Written;
    e.wrote = true;
    w.covered.push_back(seq);
  }
  writing_ = std::move(w);
}

void HookEngine::on_reload(const InEffect& now) {
  in_effect_ = now;
  if (writing_) {
    Writing w = std::move(*writing_);
    writing_.reset();
    if (settings_in_effect(w.settings, now)) {
      effects_.applied(w.settings);
      for (uint64_t seq : w.covered) {
        Entry* e = find(seq);
        if (e == nullptr || e->local != Local::Written) continue;
        bool own = true;
        for (SettingGroup g : kGroups)
          if (e->groups[gi(g)] && filtered(e->plan.settings, g) != filtered(w.settings, g)) own = false;
        if (own) {
          HookReply applied = e->plan.applied;
          finish_local(*e, Outcome::Applied, std::move(applied));
        } else {
          finish_local(*e, Outcome::Superseded, superseded_reply(e->tenant_id));
        }
      }
    } else {
      // The reload did not take the values (the server log says why): put back what is still ours,
      // so that the file is fully old again, and let storcon retry.
      std::string undone = effects_.undo_settings(w.settings, w.before);
      for (uint64_t seq : w.covered) {
        Entry* e = find(seq);
        if (e == nullptr || e->local != Local::Written) continue;
        finish_local(*e, Outcome::NotInEffect,
                     error_reply(503, "the written settings did not take effect after the reload (see the server "
                                      "log); " + undone));
      }
    }
  }
  pump();
}

void HookEngine::on_catalog_refreshed(bool ok, const std::string& error) {
  refreshing_ = false;
  std::vector<uint64_t> waiting;
  for (const auto& [seq, e] : entries_)
    if (e.local == Local::Waiting) waiting.push_back(seq);
  for (uint64_t seq : waiting) {
    Entry& e = *find(seq);
    if (!ok) {
      finish_local(e, Outcome::Unresolved, error_reply(503, "could not refresh the catalog from storcon: " + error));
      continue;
    }
    plan(e, true);
  }
  pump();
}

void HookEngine::pump_forwards() {
  const int64_t now = clock_.now_us();
  for (auto it = forward_queue_.begin(); it != forward_queue_.end();) {
    const std::string key = it->first;
    std::deque<uint64_t>& queue = it->second;
    if (batch_of_key_.count(key) != 0) {
      ++it;
      continue;
    }
    // The newest body of the tenant goes out; the older ones queued behind it share its result.
    // A key leaves the map with its queue: a hub sees every tenant, the map must not keep them all.
    Entry* newest = queue.empty() ? nullptr : find(queue.back());
    Batch b;
    b.key = key;
    b.covered.assign(queue.begin(), queue.end());
    it = forward_queue_.erase(it);
    if (newest == nullptr) continue;
    ForwardRequest r;
    r.endpoint = newest->endpoint;
    r.body = newest->body;
    r.authorization = newest->authorization;
    r.targets = newest->targets;
    r.deadline_us = std::max(now, newest->deadline_us - config_.forward_margin_us);
    uint64_t id = next_batch_++;
    batch_of_key_[key] = id;
    batches_[id] = std::move(b);
    effects_.start_forward(id, r);
  }
}

void HookEngine::on_forwarded(uint64_t batch, const std::vector<ForwardResult>& results) {
  auto it = batches_.find(batch);
  if (it == batches_.end()) return;
  Batch b = std::move(it->second);
  batches_.erase(it);
  batch_of_key_.erase(b.key);
  for (uint64_t seq : b.covered) {
    Entry* e = find(seq);
    if (e == nullptr) continue;
    e->fwd = Fwd::Done;
    e->fwd_results = results;
  }
  pump();
}

HookReply HookEngine::compose(const Entry& e, Outcome* outcome) const {
  *outcome = e.plan.outcome;
  HookReply reply = e.plan.reply;
  if (e.fwd != Fwd::Done) return reply;
  nlohmann::json forwarded = nlohmann::json::array();
  std::string failures;
  bool any_ok = false;
  for (const auto& r : e.fwd_results) {
    const char* how = r.not_running ? "not_running" : (r.error.empty() && r.status / 100 == 2 ? "ok" : "failed");
    nlohmann::json j = {{"url", r.target.url}, {"outcome", how}};
    if (!r.target.compute_id.empty()) j["compute_id"] = r.target.compute_id;
    if (r.status != 0) j["status"] = r.status;
    if (!r.error.empty()) j["error"] = r.error;
    forwarded.push_back(j);
    if (std::string(how) == "failed")
      failures += (failures.empty() ? "" : "; ") + r.target.url + ": " +
                  (r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
    any_ok = any_ok || std::string(how) == "ok";
  }
  if (!outcome_ok(*outcome)) {
    if (reply.body.is_object()) reply.body["forwarded"] = forwarded;
    return reply;
  }
  if (!failures.empty()) {
    *outcome = Outcome::ForwardFailed;
    std::string here = e.plan.outcome == Outcome::NotHosted ? "not hosted here" : std::string(outcome_word(e.plan.outcome)) + " here";
    reply = error_reply(503, here + ", but not every compute of the tenant took it: " + failures);
    reply.body["forwarded"] = forwarded;
    return reply;
  }
  if (*outcome == Outcome::NotHosted && any_ok) {
    *outcome = Outcome::Forwarded;
    reply.body["status"] = "forwarded";
  }
  if (reply.body.is_object()) reply.body["forwarded"] = forwarded;
  return reply;
}

void HookEngine::maybe_answer(Entry& e) {
  const bool local_done = e.local == Local::None || e.local == Local::Done;
  const bool fwd_done = e.fwd != Fwd::Waiting;
  if (!local_done || !fwd_done) return;
  if (!e.answered) {
    Outcome outcome;
    HookReply reply = compose(e, &outcome);
    send_answer(e, std::move(reply), outcome);
  }
  entries_.erase(e.seq);
}

void HookEngine::fail_deadline(Entry& e) {
  std::vector<std::string> waiting;
  if (e.local == Local::Waiting) waiting.push_back("storcon's answer to the catalog refresh");
  if (e.local == Local::Queued) waiting.push_back("an earlier change to take effect");
  if (e.local == Local::Written) waiting.push_back("the reload that makes the written settings take effect");
  if (e.fwd == Fwd::Waiting) {
    std::string who;
    for (const auto& t : e.targets) who += (who.empty() ? "" : ", ") + t.url;
    waiting.push_back("computes " + who + " to answer");
  }
  std::string msg = "not done within " + seconds_text(e.deadline_us - e.received_us) + ": waiting for ";
  for (size_t i = 0; i < waiting.size(); i++) msg += (i ? " and " : "") + waiting[i];
  msg += "; storcon retries";
  HookReply reply = error_reply(503, msg);
  // Not written yet: dropped (storcon's retry brings it again). Written: the reload still decides.
  if (e.local == Local::Waiting || e.local == Local::Queued) finish_local(e, Outcome::Deadline, reply);
  send_answer(e, std::move(reply), Outcome::Deadline);
}

// Records the answer (its detail is the reply's msg or detail) and gives it to whoever waits.
void HookEngine::send_answer(Entry& e, HookReply reply, Outcome outcome) {
  NotificationRecord rec;
  rec.endpoint = e.endpoint;
  rec.tenant_id = e.tenant_id;
  rec.timeline_id = e.timeline_id;
  rec.body = e.body;
  rec.status = reply.status;
  rec.outcome = outcome;
  if (reply.body.is_object()) {
    if (reply.body.contains("msg") && reply.body["msg"].is_string()) rec.detail = reply.body["msg"];
    else if (reply.body.contains("detail") && reply.body["detail"].is_string()) rec.detail = reply.body["detail"];
    if (reply.body.contains("forwarded")) rec.forwarded = reply.body["forwarded"];
  }
  rec.duration_ms = static_cast<double>(clock_.now_us() - e.received_us) / 1000.0;
  rec.wrote = e.wrote;
  rec.reconcile = e.reconcile_pass != 0;
  uint64_t seq = effects_.record(rec);
  if (reply.body.is_object()) reply.body["seq"] = seq;
  e.answered = true;
  if (e.reconcile_pass != 0)
    effects_.reconcile_done(e.reconcile_pass, reply);
  else if (e.id != 0)
    effects_.answer(e.id, reply);
}

void HookEngine::tick() {
  const int64_t now = clock_.now_us();
  std::vector<uint64_t> due;
  for (const auto& [seq, e] : entries_)
    if (!e.answered && e.deadline_us <= now) due.push_back(seq);
  for (uint64_t seq : due) fail_deadline(*find(seq));
  pump();
}

int64_t HookEngine::next_deadline_us() const {
  int64_t next = INT64_MAX;
  bool queued = false;
  for (const auto& [seq, e] : entries_) {
    if (!e.answered) next = std::min(next, e.deadline_us);
    queued = queued || e.local == Local::Queued;
  }
  if (writing_ && queued) next = std::min(next, writing_->written_us + config_.rewrite_after_us);
  return next;
}

nlohmann::json HookEngine::status() const {
  size_t waiting = 0, queued = 0, written = 0, forwarding = 0;
  for (const auto& [seq, e] : entries_) {
    waiting += e.local == Local::Waiting;
    queued += e.local == Local::Queued;
    written += e.local == Local::Written;
    forwarding += e.fwd == Fwd::Waiting;
  }
  return {{"pending", entries_.size()}, {"waiting_for_catalog", waiting}, {"queued", queued},
          {"applying", writing_.has_value()}, {"awaiting_reload", written}, {"forwarding", forwarding},
          {"refreshing_catalog", refreshing_}};
}

}  // namespace storcon
