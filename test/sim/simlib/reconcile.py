"""Reconcilers: what storcon does after an intent change, in the background, per shard.

Why this file exists: storcon changes its intent first (so describe and locate already name the
new pageserver) and then runs a Reconciler task per shard (reconciler.rs, tenant_shard.rs) that
makes the world follow, including the compute notification.  The simulator's pageservers follow
at once; what takes time is the compute hook, and that is modelled here:
- "attach": a shard got a new attached location (creation, failover, policy change): one
  notify-attach call; an error fails the reconcile (last_error) and leaves the notification
  pending.  During tenant creation a 404 from the hook is tolerated (still pending).
- "migrate": a live migration away from a pageserver that is still available: notify-attach is
  retried until it succeeds, with min(2^n, 10) s between calls (compute_notify_blocking).  A Fatal
  answer (400/401/403) aborts with a reconcile error; the loop gives up (success, notification
  pending) when the origin pageserver goes Offline, is deleted or restarts.
- "notify": a pending notification is retried (background pass every 20 s, reconcile_all).
is_reconciling is true while a reconciler runs.  Like storcon, is_pending_compute_notification
is only updated when a reconciler finishes: it is set if any notification attempt of the
reconcile failed, even one that later succeeded (the next background pass then clears it).
"""

import threading
import traceback

from . import timing
from .errors import internal_error, request_timeout


class Reconciler:
    def __init__(self, kind, origin, origin_incarnation, must_notify, creation, previous, hook,
                 delay):
        self.kind = kind                       # "attach" | "migrate" | "notify" | "detach"
        self.delay = delay                     # storcon seconds the pageserver side takes
        self.origin = origin
        self.origin_incarnation = origin_incarnation
        self.must_notify = must_notify
        self.creation = creation
        self.previous = previous               # the reconciler this one replaces
        self.hook = hook
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.error = None                      # text of the ReconcileError, or None
        self.superseded = False
        self.shard_text = None


class ReconcileMixin:
    # ---- spawning ------------------------------------------------------------------------

    def _spawn_reconcile_locked(self, tenant, shard, kind, origin=None, creation=False,
                                must_notify=None, delay=0):
        """Start a reconciler for one shard (replacing a running one, which is cancelled and
        waited for first).  Returns the Reconciler.  Must hold self.lock."""
        if self.stepped_down:
            # A stepped-down storcon spawns no reconcilers: the change waits for a leader.
            rec = Reconciler(kind, origin, 0, False, creation, None, self.hook, 0)
            rec.shard_text = self._shard_text(tenant, shard)
            rec.done.set()
            return rec
        previous = shard["reconciler"]
        if previous is not None:
            previous.superseded = True
            previous.cancel.set()
        if kind == "migrate" and (origin is None or origin == shard["attached"]
                                  or not self._node_available(origin)):
            kind = "attach"                    # no live migration without a usable origin
        rec = Reconciler(kind, origin, self.node_incarnation.get(origin, 0),
                         shard["pending"] if must_notify is None else must_notify,
                         creation, previous, self.hook, delay)
        rec.shard_text = self._shard_text(tenant, shard)
        shard["reconciler"] = rec
        epoch = self.epoch_cancel
        threading.Thread(target=self._run_reconcile, args=(rec, tenant, shard, epoch),
                         daemon=True, name="reconcile-" + rec.shard_text).start()
        return rec

    def _reconcile_pending_locked(self):
        """Spawn a "notify" reconciler for every idle shard with a pending notification.
        Returns the list of reconcilers."""
        if self.stepped_down:
            return []
        started = []
        for tenant in self.tenants.values():
            if tenant["dormant"] or tenant["splitting"]:
                continue
            for shard in tenant["shards"]:
                if shard["pending"] and shard["reconciler"] is None:
                    started.append(self._spawn_reconcile_locked(tenant, shard, "notify"))
        return started

    # ---- running -------------------------------------------------------------------------

    def _run_reconcile(self, rec, tenant, shard, epoch):
        if rec.previous is not None:
            rec.previous.done.wait()
        error, failed_notify = None, False
        try:
            if rec.cancel.is_set() or epoch.is_set():
                rec.done.set()                 # cancelled before it started: no result
                return
            if rec.delay and not self.clock.sleep(rec.delay, rec.cancel):
                error = "Cancelled"
            with self.lock:
                update = self._shard_update(tenant, shard) if shard["attached"] is not None else None
            if error is None and update is not None and not self.stepped_down:
                if rec.kind == "migrate":
                    error, failed_notify = self._notify_blocking(rec, update)
                elif rec.kind == "attach":
                    notify_error = rec.hook.notify_attach(update, rec.cancel)
                    if notify_error is not None:
                        failed_notify = True
                        tolerated = (rec.creation and notify_error.kind == "unexpected"
                                     and notify_error.status == 404)
                        if not tolerated:
                            error = "Cancelled" if notify_error.kind == "shutdown" else str(notify_error)
                # A notification pending from earlier is sent whatever this reconcile did, if
                # it succeeded (tenant_shard.rs reconcile(): must_notify).
                if rec.must_notify and error is None:
                    if rec.hook.notify_attach(update, rec.cancel) is not None:
                        failed_notify = True
                elif rec.must_notify:
                    failed_notify = True
            elif rec.must_notify and update is not None:
                failed_notify = True           # could not send: still pending
        except Exception:
            self.log_line("reconcile failed: " + traceback.format_exc())
            error = "storcon_sim internal error"
        with self.lock:
            if not epoch.is_set():
                shard["pending"] = failed_notify
                if error is not None:
                    shard["last_error"] = error
                if shard["reconciler"] is rec:
                    shard["reconciler"] = None
                self._maybe_drop_tenant(tenant)
            rec.error = error
        rec.done.set()

    def _notify_blocking(self, rec, update):
        """reconciler.rs compute_notify_blocking.  Returns (error text or None, failed_notify)."""
        attempts = 0
        failed = False
        while True:
            notify_error = rec.hook.notify_attach(update, rec.cancel)
            if notify_error is None:
                return None, failed
            failed = True
            if notify_error.kind == "fatal":
                return str(notify_error), failed
            if notify_error.kind == "shutdown" or rec.cancel.is_set():
                return "Cancelled", failed
            with self.lock:
                origin_usable = (self._node_available(rec.origin)
                                 and self.node_incarnation.get(rec.origin, 0) == rec.origin_incarnation)
            if not origin_usable:
                return None, failed            # give up: the compute is told later (pending)
            if not self.clock.sleep(timing.migration_backoff(attempts), rec.cancel):
                return "Cancelled", failed
            attempts += 1

    # ---- waiting -------------------------------------------------------------------------

    def _wait_reconciles(self, recs, timeout=timing.RECONCILE_TIMEOUT, ignore_cancel=False):
        """storcon's await_waiters: wait for reconcilers (following replacements) up to
        `timeout` storcon seconds.  408 "Timeout waiting for shard X" on timeout, 500
        "Reconcile error on shard X: ..." on a failed reconcile."""
        deadline = self.clock.now() + self.clock.real(timeout)
        for rec in recs:
            while True:
                if not rec.done.wait(max(deadline - self.clock.now(), 0)):
                    raise request_timeout("Timeout waiting for shard %s" % rec.shard_text)
                if rec.superseded:
                    successor = self._successor(rec)
                    if successor is not None:
                        rec = successor
                        continue
                    break
                if rec.error is not None and not (ignore_cancel and rec.error == "Cancelled"):
                    raise internal_error("Reconcile error on shard %s: %s" % (rec.shard_text, rec.error))
                break

    def _successor(self, rec):
        with self.lock:
            for tenant in self.tenants.values():
                for shard in tenant["shards"]:
                    cur = shard["reconciler"]
                    while cur is not None and cur is not rec:
                        if cur.previous is rec:
                            return shard["reconciler"]
                        cur = cur.previous
        return None

    # ---- the background reconcile loop ---------------------------------------------------

    def background_loop(self):
        """storcon's background reconcile (every 20 s): retry pending compute notifications."""
        last = self.clock.now()
        while not self.stop_event.wait(0.05):
            with self.lock:
                interval = self.config["pending_retry_interval"]
            if not interval or interval <= 0:
                last = self.clock.now()
                continue
            if self.clock.now() - last >= self.clock.real(interval):
                last = self.clock.now()
                try:
                    with self.lock:
                        self._reconcile_pending_locked()
                except Exception:
                    self.log_line("background reconcile failed: " + traceback.format_exc())

    def _startup_notify_locked(self):
        """storcon startup / leadership: notify every stably attached shard in the background
        (a failure marks the shard pending)."""
        started = 0
        for tenant in self.tenants.values():
            if tenant["dormant"]:
                continue
            for shard in tenant["shards"]:
                if shard["attached"] is not None and shard["reconciler"] is None:
                    self._spawn_reconcile_locked(tenant, shard, "notify", must_notify=True)
                    started += 1
        return started

