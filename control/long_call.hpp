// storcon operations that answer only when they are done: shard split and tenant delete (minutes),
// timeline delete (storcon answers 409 after 25 s meaning "still deleting, ask again"), safekeeper
// migration (answers after the compute notifications). Such a call must not be cut short by
// storcon.request_timeout; it waits however long storcon takes, bounded by the caller (statement
// timeout, cancel), and says every few seconds that it is still waiting. Which answer means "done",
// "ask again" or "failed" is decided here; the waiting and the messages are the caller's (an
// interface, so that the PostgreSQL side can check interrupts and raise NOTICEs outside libcurl).
#pragma once
#include "control/guard.hpp"

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "control/storcon_client.hpp"

namespace storcon {

struct LongCallPolicy {
  std::vector<long> again;  // statuses meaning "still working, ask again" (409 of a timeline delete)
  std::vector<long>
      done_after_again;         // statuses meaning "done" once asked again (404 of a retried tenant delete)
  long step_ms = 250;           // longest time between two interrupt checks
  long notice_every_ms = 5000;  // how often the caller is told the call is still waiting
  long again_pause_ms = 1000;   // pause before asking again
};

enum class LongCallStep { Done, AskAgain, Fail };

// What an answer with `status` means; `asked_again`: an earlier answer was an "ask again".
LongCallStep classify_long_call_answer(const LongCallPolicy& policy, long status, bool asked_again);

// The waiting side of a long call, implemented by the caller.
class LongCallProgress {
 public:
  virtual ~LongCallProgress() = default;
  // Between steps (at most policy.step_ms apart); throws to stop waiting (cancel, timeout).
  virtual void check() = 0;
  // Every policy.notice_every_ms: the call has been waiting `elapsed_ms` in all.
  virtual void still_waiting(long elapsed_ms) = 0;
  // Waits `ms` before storcon is asked again; throws to stop waiting.
  virtual void pause(long ms) = 0;
};

struct LongCallResult {
  long status = 0;        // storcon's final status (2xx, or a done_after_again status)
  nlohmann::json answer;  // its parsed body (null when empty or for done_after_again)
  int attempts = 0;       // requests sent
};

// Sends the request (again, while storcon answers an `again` status) until it is done. A failing
// answer throws StorconError(Http) with storcon's message; whatever `progress` throws propagates.
LongCallResult run_long_call(StorconClient& client, std::string_view method, std::string_view path,
                             const nlohmann::json* body, const LongCallPolicy& policy,
                             LongCallProgress& progress);

}  // namespace storcon
