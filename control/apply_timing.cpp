#include "control/apply_timing.hpp"

#include <algorithm>
#include <vector>

namespace storcon {

namespace {
const char* const kNames[] = {"write", "fsync", "signal", "wake_up", "reload", "verify"};
}

void ApplyTimings::write_started(int64_t now_us) {
  current_ = Current{};
  current_->start = now_us;
}

void ApplyTimings::written(int64_t now_us, int64_t fsync_us) {
  if (!current_) return;
  current_->written = now_us;
  current_->fsync = fsync_us;
}

void ApplyTimings::signalled(int64_t now_us) {
  if (current_) current_->signalled = now_us;
}

void ApplyTimings::reload_seen(int64_t now_us) {
  if (current_ && current_->signalled != 0 && current_->seen == 0) current_->seen = now_us;
}

void ApplyTimings::reloaded(int64_t now_us) {
  if (current_ && current_->seen != 0 && current_->reloaded == 0) current_->reloaded = now_us;
}

void ApplyTimings::verified(int64_t now_us) {
  if (!current_ || current_->reloaded == 0) return;
  const Current& c = *current_;
  std::array<int64_t, kPhases> d = {c.written - c.start - c.fsync, c.fsync, c.signalled - c.written,
                                    c.seen - c.signalled,          c.reloaded - c.seen, now_us - c.reloaded};
  done_.push_back(d);
  if (done_.size() > kKept) done_.pop_front();
  current_.reset();
}

nlohmann::json ApplyTimings::to_json() const {
  nlohmann::json out = {{"count", done_.size()}, {"last", nullptr}, {"median_us", nullptr}};
  if (done_.empty()) return out;
  auto phases = [](const std::array<int64_t, kPhases>& d) {
    nlohmann::json j;
    int64_t total = 0;
    for (int p = 0; p < kPhases; p++) {
      j[kNames[p]] = d[p];
      total += d[p];
    }
    j["total"] = total;
    return j;
  };
  out["last"] = phases(done_.back());
  std::array<int64_t, kPhases> median{};
  for (int p = 0; p < kPhases; p++) {
    std::vector<int64_t> v;
    for (const auto& d : done_) v.push_back(d[p]);
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    median[p] = v[v.size() / 2];
  }
  out["median_us"] = phases(median);
  return out;
}

}  // namespace storcon
