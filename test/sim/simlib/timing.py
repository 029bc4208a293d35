"""storcon's clocks, scaled: every delay and timeout of the simulator goes through here.

Why this file exists: storcon waits a lot (10 s per hook attempt, backoffs, 30 s for a reconcile,
20 s between background passes, 25 s for a timeline deletion).  The simulator keeps storcon's
real numbers (in "storcon seconds") and multiplies them by one time scale (--time-scale, or the
"time_scale" config knob), so the default is storcon's real timing and tests can run it 10x or
100x faster.  Knob durations (slow split, slow deletes, import length) are storcon seconds too.
"""

import threading
import time

# compute_hook.rs / reconciler.rs / service.rs / http.rs / timeline_import.rs
HOOK_ATTEMPT_TIMEOUT = 10.0        # NOTIFY_REQUEST_TIMEOUT, per attempt
HOOK_MAX_RETRIES = 10              # backoff::retry(..., 3, 10, ...): 11 attempts in all
HOOK_SLOWDOWN_DELAY = 5.0          # SLOWDOWN_DELAY after a 429
HOOK_CONCURRENCY = 32              # API_CONCURRENCY
RECONCILE_TIMEOUT = 30.0           # RECONCILE_TIMEOUT: migrate/split/delete/create waits
SHORT_RECONCILE_TIMEOUT = 5.0      # SHORT_RECONCILE_TIMEOUT: cancel_reconcile
BACKGROUND_RECONCILE_PERIOD = 20.0  # the background reconcile loop (pending notifications)
TIMELINE_DELETE_MAX_WAIT = 25.0    # http.rs deletion_wrapper MAX_WAIT
TIMELINE_DELETE_FIRST_POLL = 1.0   # ... first retry period
TIMELINE_DELETE_POLL = 5.0         # ... MAX_RETRY_PERIOD
IMPORT_COMPLETE_RETRY = 1.0        # timeline_import.rs RETRY_DELAY
IMPORT_COMPLETE_TIMEOUT = 10.0     # IMPORT_COMPLETE_REQUEST_TIMEOUT


def hook_backoff(attempt):
    """utils::backoff::exponential_backoff_duration_seconds(attempt, 0.1, 3.0): the sleep after
    the attempt-th failed hook attempt (0, 1.1, 1.21, ... capped at 3 s)."""
    return 0.0 if attempt == 0 else min(1.1 ** attempt, 3.0)


def migration_backoff(attempt):
    """reconciler.rs compute_notify_blocking: exponential_backoff(n, 1.0, 10.0) = min(2^n, 10),
    0 for the first retry."""
    return 0.0 if attempt == 0 else min(2.0 ** attempt, 10.0)


class Clock:
    """Storcon seconds -> real seconds.  The scale can change at runtime (config knob)."""

    def __init__(self, scale):
        self.scale = scale

    def real(self, seconds):
        return seconds * self.scale

    def sleep(self, seconds, cancel):
        """Sleep `seconds` storcon seconds; False if `cancel` (an Event) fired first."""
        if seconds <= 0:
            return not cancel.is_set()
        return not cancel.wait(self.real(seconds))

    @staticmethod
    def now():
        return time.monotonic()


class TenantOpLocks:
    """storcon's tenant_op_locks: per tenant, shared (timeline operations) or exclusive (create,
    split, delete, policy).  A waiter blocks like storcon's request does."""

    def __init__(self):
        self._cond = threading.Condition()
        self._state = {}            # tenant_id -> count of shared holders, or -1 if exclusive

    def _acquire(self, tenant_id, exclusive):
        with self._cond:
            while True:
                held = self._state.get(tenant_id, 0)
                if exclusive and held == 0:
                    self._state[tenant_id] = -1
                    return
                if not exclusive and held >= 0:
                    self._state[tenant_id] = held + 1
                    return
                self._cond.wait()

    def _release(self, tenant_id):
        with self._cond:
            held = self._state.get(tenant_id, 0)
            if held <= 1:
                self._state.pop(tenant_id, None)
            else:
                self._state[tenant_id] = held - 1
            self._cond.notify_all()

    def shared(self, tenant_id):
        return _Held(self, tenant_id, False)

    def exclusive(self, tenant_id):
        return _Held(self, tenant_id, True)

    def try_exclusive(self, tenant_id):
        with self._cond:
            if self._state.get(tenant_id, 0) != 0:
                return False
            self._state[tenant_id] = -1
            return True

    def release(self, tenant_id):
        self._release(tenant_id)


class _Held:
    def __init__(self, locks, tenant_id, exclusive):
        self.locks, self.tenant_id, self.exclusive = locks, tenant_id, exclusive

    def __enter__(self):
        self.locks._acquire(self.tenant_id, self.exclusive)
        return self

    def __exit__(self, *exc):
        self.locks._release(self.tenant_id)
        return False
