// Where the time of one apply goes, from timestamps the worker takes: rendering and writing the
// file, its fsyncs, the signal to the postmaster, the wait until the worker is woken by the
// postmaster's reload, the worker's own reload, and the verification that answers. GET /status
// shows the last apply and the medians of the last 256, so that bench/ can show what the floor
// of a verified apply is made of.
#pragma once
#include "control/guard.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>

namespace storcon {

class ApplyTimings {
 public:
  static constexpr size_t kKept = 256;
  enum Phase { Write, Fsync, Signal, WakeUp, Reload, Verify, kPhases };

  void write_started(int64_t now_us);
  void written(int64_t now_us, int64_t fsync_us);  // fsync time included in the write
  void signalled(int64_t now_us);
  void reload_seen(int64_t now_us);                // the worker woke up for the reload
  void reloaded(int64_t now_us);                   // its ProcessConfigFile is done
  void verified(int64_t now_us);                   // answers given
  // {"count", "last": {phase: us}, "median_us": {phase: us}} (phases: write, fsync, signal,
  // wake_up, reload, verify, total)
  nlohmann::json to_json() const;

 private:
  struct Current {
    int64_t start = 0, written = 0, signalled = 0, seen = 0, reloaded = 0;
    int64_t fsync = 0;
  };
  std::optional<Current> current_;
  std::deque<std::array<int64_t, kPhases>> done_;
};

}  // namespace storcon
