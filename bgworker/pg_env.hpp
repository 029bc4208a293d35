// The worker's view of PostgreSQL for the hook: the neon settings in effect (read after each
// reload), the node directory (loaded from storcon.nodes, refreshed from storcon on a miss), and
// transactions for the catalog and the config file.
#pragma once

#include "control/hook.hpp"
#include "extension/catalog_sync.hpp"
#include "extension/boundary.hpp"

namespace storcon::worker {

// Runs f inside a transaction with a snapshot; aborts it if f throws.
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

class PgHookEnv : public HookEnv {
 public:
  InEffect in_effect() override { return in_effect_; }
  const NodeDirectory& directory() override { return directory_; }
  const SafekeeperDirectory& safekeeper_directory() override { return safekeepers_; }
  // Never blocks: asks the queue for an asynchronous refresh unless one just completed.
  bool refresh_catalog() override { return fresh_; }
  void set_fresh(bool fresh) { fresh_ = fresh; }
  // New directories from a fetched snapshot; the mirror tables too on a primary.
  void replace_catalog(const pg::CatalogSnapshot& snap);

  void read_settings();      // after every reload
  void load_catalog();       // from storcon.nodes / storcon.safekeepers at start
  const InEffect& cached() const { return in_effect_; }

 private:
  InEffect in_effect_;
  NodeDirectory directory_;
  SafekeeperDirectory safekeepers_;
  bool fresh_ = false;
};

}  // namespace storcon::worker
