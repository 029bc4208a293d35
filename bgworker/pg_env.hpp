// The worker's small view of PostgreSQL: the neon settings in effect (read after each reload) and
// transactions for catalog work, both through the PG->C++ boundary.
#pragma once

#include "control/hook.hpp"
#include "extension/boundary.hpp"

namespace storcon::worker {

// Runs f inside a transaction with a snapshot; aborts it if f throws, then rethrows.
template <typename F>
void in_transaction(F&& f) {
  pg::pg_call([] {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
  });
  try {
    f();
  } catch (...) {
    pg::pg_call([] { AbortCurrentTransaction(); });
    throw;
  }
  pg::pg_call([] {
    PopActiveSnapshot();
    CommitTransactionCommand();
  });
}

// Inside in_transaction: its commit does not wait for the WAL flush (synchronous_commit = off for
// this transaction). For bookkeeping whose loss in a crash costs nothing the next write does not redo.
inline void commit_without_waiting() {
  pg::pg_call([] { (void)set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION,
                                           GUC_ACTION_LOCAL, true, 0, false); });
}

// neon.* as this process sees them now.
InEffect read_in_effect();

}  // namespace storcon::worker
