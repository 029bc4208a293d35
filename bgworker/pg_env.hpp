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

// neon.* as this process sees them now.
InEffect read_in_effect();

}  // namespace storcon::worker
