#include "extension/worker_shmem.hpp"

#include "extension/boundary.hpp"
#include "extension/pg.hpp"

#include <cstring>

extern "C" {
#include "access/xact.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/wait_event.h"

PG_FUNCTION_INFO_V1(storcon_reconcile);
PG_FUNCTION_INFO_V1(storcon_registry_changed);
}

namespace storcon::pg {

namespace {

constexpr size_t kResultBytes = 16 * 1024;

struct SharedState {
  slock_t mutex;
  ConditionVariable done_cv;
  Latch* worker_latch;  // the worker's procLatch (shared memory), NULL when it is not running
  uint64 requested;     // tickets handed out
  uint64 finished;      // every ticket up to this one has its answer
  int status;           // HTTP-style status of the last pass
  uint64 registry_version;  // bumped when storcon.computes was changed from SQL
  char result[kResultBytes];  // its JSON answer (truncated to a valid error if too long)
};

SharedState* shared = nullptr;
shmem_request_hook_type prev_request_hook = nullptr;
shmem_startup_hook_type prev_startup_hook = nullptr;

void request_hook() {
  if (prev_request_hook) prev_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(SharedState)));
}

void startup_hook() {
  if (prev_startup_hook) prev_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  shared = static_cast<SharedState*>(ShmemInitStruct("pg_storcon", sizeof(SharedState), &found));
  if (!found) {
    std::memset(shared, 0, sizeof(SharedState));
    SpinLockInit(&shared->mutex);
    ConditionVariableInit(&shared->done_cv);
  }
  LWLockRelease(AddinShmemInitLock);
}

void detach_at_exit(int, Datum) {
  if (shared == nullptr) return;
  SpinLockAcquire(&shared->mutex);
  if (shared->worker_latch == MyLatch) shared->worker_latch = nullptr;
  SpinLockRelease(&shared->mutex);
}

}  // namespace

void request_shared_memory() {
  prev_request_hook = shmem_request_hook;
  shmem_request_hook = request_hook;
  prev_startup_hook = shmem_startup_hook;
  shmem_startup_hook = startup_hook;
}

void worker_attach() {
  pg_call([] {
    if (shared == nullptr) return;
    SpinLockAcquire(&shared->mutex);
    shared->worker_latch = MyLatch;
    SpinLockRelease(&shared->mutex);
    before_shmem_exit(detach_at_exit, 0);
  });
}

uint64_t reconcile_requested() {
  if (shared == nullptr) return 0;
  SpinLockAcquire(&shared->mutex);
  uint64 asked = shared->requested > shared->finished ? shared->requested : 0;
  SpinLockRelease(&shared->mutex);
  return asked;
}

void reconcile_finished(uint64_t ticket, int status, const std::string& result) {
  if (shared == nullptr) return;
  std::string text = result.size() < kResultBytes ? result : R"({"msg":"the reconcile's answer is too long to pass on"})";
  SpinLockAcquire(&shared->mutex);
  if (ticket > shared->finished) {
    shared->finished = ticket;
    shared->status = result.size() < kResultBytes ? status : 500;
    std::memcpy(shared->result, text.c_str(), text.size() + 1);
  }
  SpinLockRelease(&shared->mutex);
  pg_call([] { ConditionVariableBroadcast(&shared->done_cv); });
}

uint64_t registry_version() {
  if (shared == nullptr) return 0;
  SpinLockAcquire(&shared->mutex);
  uint64 v = shared->registry_version;
  SpinLockRelease(&shared->mutex);
  return v;
}

}  // namespace storcon::pg

// storcon._registry_changed(): the hook worker reloads storcon.computes once this transaction has
// COMMITTED (told earlier, it would read the table without the change). Without the preloaded
// library (no worker here) there is nobody to tell: a no-op.
namespace {
bool registry_change_pending = false;

void tell_worker_at_commit(XactEvent event, void*) {
  using storcon::pg::shared;
  if (!registry_change_pending) return;
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) registry_change_pending = false;
  if (event != XACT_EVENT_COMMIT || shared == nullptr) return;
  registry_change_pending = false;
  SpinLockAcquire(&shared->mutex);
  shared->registry_version++;
  Latch* latch = shared->worker_latch;
  SpinLockRelease(&shared->mutex);
  if (latch != nullptr) SetLatch(latch);
}
}  // namespace

Datum storcon_registry_changed(PG_FUNCTION_ARGS) {
  static bool callback_registered = false;
  if (storcon::pg::shared == nullptr) PG_RETURN_VOID();
  if (!callback_registered) {
    RegisterXactCallback(tell_worker_at_commit, nullptr);
    callback_registered = true;
  }
  registry_change_pending = true;
  PG_RETURN_VOID();
}

// storcon.reconcile() RETURNS TABLE(setting text, old_value text, new_value text)
//
// Plain C on purpose: ConditionVariableTimedSleep raises query cancel and statement_timeout as an
// ERROR, and no C++ frame may be live when it does. The answer is decoded by C++ afterwards.
namespace storcon::pg {
void emit_reconcile_rows(FunctionCallInfo fcinfo, int status, const char* json);  // reconcile_fn.cpp
}

Datum storcon_reconcile(PG_FUNCTION_ARGS) {
  using storcon::pg::shared;
  if (shared == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("pg_storcon is not loaded through shared_preload_libraries"),
                    errhint("Add pg_storcon to shared_preload_libraries and restart the server.")));
  SpinLockAcquire(&shared->mutex);
  Latch* latch = shared->worker_latch;
  uint64 ticket = latch != nullptr ? ++shared->requested : 0;
  SpinLockRelease(&shared->mutex);
  if (latch == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("the pg_storcon hook worker is not running"),
                    errhint("It starts with the server when storcon.hook_port is not 0; the server log says why it stopped.")));
  SetLatch(latch);

  // Waits as long as a pass can take (storcon's answers, then the write and its reload), and
  // re-wakes the worker every second: one restarted meanwhile finds the ticket still open.
  TimestampTz give_up = GetCurrentTimestamp() + 60 * USECS_PER_SEC;
  char result[storcon::pg::kResultBytes];
  int status = 0;
  ConditionVariablePrepareToSleep(&shared->done_cv);
  for (;;) {
    SpinLockAcquire(&shared->mutex);
    bool done = shared->finished >= ticket;
    if (done) {
      status = shared->status;
      std::memcpy(result, shared->result, sizeof result);
    }
    latch = shared->worker_latch;
    SpinLockRelease(&shared->mutex);
    if (done) break;
    if (GetCurrentTimestamp() >= give_up) {
      ConditionVariableCancelSleep();
      ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("the hook worker did not finish the reconcile within 60 s"),
                      errhint("See /status of the hook and the server log.")));
    }
    if (ConditionVariableTimedSleep(&shared->done_cv, 1000, PG_WAIT_EXTENSION) && latch != nullptr) SetLatch(latch);
  }
  ConditionVariableCancelSleep();
  storcon::pg::emit_reconcile_rows(fcinfo, status, result);
  return (Datum)0;
}
