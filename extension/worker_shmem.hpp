// SQL functions talk to the hook worker through shared memory, never through its network port
// (autoprewarm's pattern): storcon.reconcile() takes a ticket, sets the worker's latch and sleeps
// on a condition variable until the worker has finished a pass that started after the ticket was
// taken; concurrent callers share one pass. Requires shared_preload_libraries.
#pragma once

#include <cstdint>
#include <string>

namespace storcon::pg {

void request_shared_memory();  // from _PG_init (shmem_request_hook)

// The worker's side.
void worker_attach();  // at start: publish this process's latch (withdrawn at exit)
// The newest ticket asked for (0 = none).
uint64_t reconcile_requested();
// The pass that covered every ticket up to `ticket` is done; `result` is its JSON answer.
void reconcile_finished(uint64_t ticket, int status, const std::string& result);
// Bumped by storcon._registry_changed() (an administrator changed storcon.computes).
uint64_t registry_version();

}  // namespace storcon::pg
