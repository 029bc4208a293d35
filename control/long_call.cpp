#include "control/long_call.hpp"

#include <algorithm>
#include <chrono>

namespace storcon {

namespace {
bool contains(const std::vector<long>& v, long status) {
  return std::find(v.begin(), v.end(), status) != v.end();
}
}  // namespace

LongCallStep classify_long_call_answer(const LongCallPolicy& policy, long status, bool asked_again) {
  if (status >= 200 && status <= 299) return LongCallStep::Done;
  if (contains(policy.again, status)) return LongCallStep::AskAgain;
  if (asked_again && contains(policy.done_after_again, status)) return LongCallStep::Done;
  return LongCallStep::Fail;
}

LongCallResult run_long_call(StorconClient& client, std::string_view method, std::string_view path,
                             const nlohmann::json* body, const LongCallPolicy& policy,
                             LongCallProgress& progress) {
  using Clock = std::chrono::steady_clock;
  const long step_ms = std::max(1L, policy.step_ms);
  const auto started = Clock::now();
  long next_notice_ms = policy.notice_every_ms;
  auto elapsed_ms = [&] {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
  };
  auto tick = [&] {
    progress.check();
    const long e = elapsed_ms();
    if (policy.notice_every_ms > 0 && e >= next_notice_ms) {
      progress.still_waiting(e);
      while (next_notice_ms <= e) next_notice_ms += policy.notice_every_ms;
    }
  };

  LongCallResult result;
  bool asked_again = false;
  for (;;) {
    result.attempts++;
    HttpResponse r = client.send_stepwise(method, path, body, tick, step_ms);
    switch (classify_long_call_answer(policy, r.status, asked_again)) {
      case LongCallStep::Done:
        result.status = r.status;
        result.answer =
            r.status >= 200 && r.status <= 299 ? client.interpret(method, path, r) : nlohmann::json();
        return result;
      case LongCallStep::Fail:  // storcon's error, as interpret() gives it
        throw StorconError(FailureKind::Http, message_from_error_body(r.status, r.body), r.status,
                           std::string(method), std::string(path), join_url(client.options().base_url, path));
      case LongCallStep::AskAgain:
        asked_again = true;
        // Pause in steps, so that the still-waiting messages keep coming during long pauses.
        for (long left = policy.again_pause_ms; left > 0; left -= step_ms) {
          progress.pause(std::min(left, step_ms));
          tick();
        }
        break;
    }
  }
}

}  // namespace storcon
