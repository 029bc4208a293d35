"""The compute hook client, like storcon's compute_hook.rs (contract §1.2-§1.5).

Why this file exists: how storcon calls {control-plane-url}/notify-attach and /notify-safekeepers
is what pg_storcon's hook must survive, so the simulator calls it the same way:
- the notify-attach body is built from what the hook state knows per shard (a sharded tenant is
  sent only once every shard of the current count is known; a new count or stripe size resets it);
- one notification per tenant (attach) or timeline (safekeepers) at a time, different ones in
  parallel, at most 32 calls in flight (the permit is held across all retries);
- each call: up to 11 attempts, each with a 10 s timeout, sleeps 0, 1.1, 1.21, ... 3 s between
  them; 5xx (502/503/504), 429 (plus a 5 s sleep inside the attempt), timeouts and transport
  errors are retried; 400/401/403 (Fatal), 423 (Busy) and any other status (Unexpected) are not;
- "skip when already acked": an attach body equal to the last 2xx-acked one is not sent again
  (a 423 is remembered as "acked, not applied" and re-sent); a safekeeper generation not newer
  than the last one answered with 2xx or 423 is not sent again;
- PUT {control-plane-url}/import_complete, retried every second until a 2xx (timeline_import.rs).
Every attempt is appended to the request log with direction "out".
"""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus

from . import timing
from .errors import json_bytes


def status_text(status):
    """hyper's StatusCode Display: "503 Service Unavailable"."""
    try:
        return "%d %s" % (status, HTTPStatus(status).phrase)
    except ValueError:
        return "%d <unknown status code>" % status


class NotifyError:
    """storcon's NotifyError; str() is its Display text."""

    PERMANENT = ("fatal", "unexpected", "busy")

    def __init__(self, kind, status=None, detail=None):
        self.kind = kind            # request|busy|slowdown|unavailable|unexpected|fatal|shutdown
        self.status = status
        self.detail = detail

    @property
    def permanent(self):
        return self.kind in self.PERMANENT

    def __str__(self):
        if self.kind == "request":
            return "Sending request: %s" % self.detail
        if self.kind == "busy":
            return "Control plane tenant busy"
        if self.kind == "slowdown":
            return "Control plane overloaded"
        if self.kind == "unavailable":
            return "Control plane unavailable (status %s)" % status_text(self.status)
        if self.kind == "unexpected":
            return "Control plane returned unexpected status %s" % status_text(self.status)
        if self.kind == "fatal":
            return "Non-retryable error %s" % status_text(self.status)
        return "Shutting down"

    def __repr__(self):
        return "NotifyError(%s)" % self


def classify(status):
    """compute_hook.rs do_notify_iteration: HTTP status -> None (success) or NotifyError."""
    if 200 <= status < 300:
        return None
    if status == 429:
        return NotifyError("slowdown", status)
    if status == 423:
        return NotifyError("busy", status)
    if status in (502, 503, 504):
        return NotifyError("unavailable", status)
    if status in (400, 401, 403):
        return NotifyError("fatal", status)
    return NotifyError("unexpected", status)


class ShardUpdate:
    """What a reconciler tells the hook about one shard (compute_hook.rs ShardUpdate)."""

    def __init__(self, tenant_id, number, count, node_id, stripe_size, preferred_az):
        self.tenant_id = tenant_id
        self.number = number
        self.count = count              # literal ShardCount (0 = legacy unsharded)
        self.node_id = node_id
        self.stripe_size = stripe_size
        self.preferred_az = preferred_az


class _SendSlot:
    """storcon's send_lock: a mutex around "what the remote last acknowledged"."""

    def __init__(self):
        self.lock = threading.Lock()
        self.remote = None              # {"request": body or generation, "applied": bool}


class _HookTenant:
    """ComputeHookTenant: the shard map as the hook knows it."""

    def __init__(self, u):
        self.count = u.count
        self.stripe_size = u.stripe_size
        self.preferred_az = u.preferred_az
        self.shards = {u.number: u.node_id}
        self.slot = _SendSlot()

    @property
    def sharded(self):
        return self.count > 1

    def update(self, u):
        if not self.sharded and u.count <= 1:
            self.shards = {0: u.node_id}
            self.preferred_az = u.preferred_az
        elif self.sharded and self.stripe_size == u.stripe_size and self.count == u.count:
            self.shards[u.number] = u.node_id
            self.preferred_az = u.preferred_az
        else:
            self.__init__(u)             # shard count or stripe changed: start over

    def body(self, tenant_id):
        if self.sharded and len(self.shards) != self.count:
            return None                  # not every shard known yet
        return json_bytes({
            "tenant_id": tenant_id,
            "preferred_az": self.preferred_az,
            "stripe_size": self.stripe_size if self.sharded else None,
            "shards": [{"node_id": self.shards[n], "shard_number": n} for n in sorted(self.shards)],
        })


class _HookTimeline:
    """ComputeHookTimeline."""

    def __init__(self, generation, safekeepers):
        self.generation = generation
        self.safekeepers = safekeepers
        self.slot = _SendSlot()


class ComputeHook:
    """One storcon process's compute hook client.  A storcon restart is a new ComputeHook."""

    def __init__(self, sim):
        self.sim = sim
        self.lock = threading.Lock()
        self.tenants = {}
        self.timelines = {}
        self.permits = threading.BoundedSemaphore(timing.HOOK_CONCURRENCY)

    # ---- notify-attach --------------------------------------------------------------------

    def notify_attach(self, update, cancel):
        """Returns None (sent and acked, or nothing to send) or a NotifyError."""
        with self.lock:
            t = self.tenants.get(update.tenant_id)
            if t is None:
                t = self.tenants[update.tenant_id] = _HookTenant(update)
            else:
                t.update(update)
            slot = t.slot
        if not self._lock_slot(slot, cancel):
            return NotifyError("shutdown")
        try:
            with self.lock:
                t = self.tenants.get(update.tenant_id)
                body = t.body(update.tenant_id) if t is not None else None
            if body is None:
                return None
            if slot.remote is not None and slot.remote["request"] == body and slot.remote["applied"]:
                return None              # the remote already has exactly this
            error = self._execute("notify-attach", body, cancel)
            if error is None:
                slot.remote = {"request": body, "applied": True}
            elif error.kind == "busy":
                slot.remote = {"request": body, "applied": False}
            else:
                slot.remote = None       # remote state unknown: send again next time
            return error
        finally:
            slot.lock.release()

    def forget_acked(self):
        """Forget what the remote acknowledged (a new control plane): everything is sent again
        at the next opportunity.  What is known about each shard's location stays."""
        with self.lock:
            for item in list(self.tenants.values()) + list(self.timelines.values()):
                item.slot.remote = None

    def hook_view(self, tenant_id):
        """What the hook state knows of a tenant (state dump)."""
        with self.lock:
            t = self.tenants.get(tenant_id)
            if t is None:
                return None
            remote = t.slot.remote
            return {"shards": {str(n): node for n, node in sorted(t.shards.items())},
                    "acked": remote["request"].decode() if remote else None,
                    "applied": remote["applied"] if remote else None}

    # ---- notify-safekeepers ---------------------------------------------------------------

    def notify_safekeepers(self, tenant_id, timeline_id, generation, safekeepers, cancel):
        """safekeepers: [(id, hostname)], current members first.  None or a NotifyError."""
        key = (tenant_id, timeline_id)
        with self.lock:
            tl = self.timelines.get(key)
            if tl is None:
                tl = self.timelines[key] = _HookTimeline(generation, safekeepers)
            elif generation > tl.generation:
                tl.generation, tl.safekeepers = generation, safekeepers
            slot = tl.slot
        if not self._lock_slot(slot, cancel):
            return NotifyError("shutdown")
        try:
            with self.lock:
                generation, safekeepers = tl.generation, list(tl.safekeepers)
            if slot.remote is not None and slot.remote["request"] >= generation:
                return None              # applied or not: storcon only compares generations
            body = json_bytes({
                "tenant_id": tenant_id,
                "timeline_id": timeline_id,
                "generation": generation,
                "safekeepers": [{"id": i, "hostname": h} for i, h in safekeepers],
            })
            error = self._execute("notify-safekeepers", body, cancel)
            if error is None or error.kind == "busy":
                slot.remote = {"request": generation, "applied": error is None}
            else:
                slot.remote = None
            return error
        finally:
            slot.lock.release()

    # ---- one call: permit, retries, attempts ------------------------------------------------

    @staticmethod
    def _lock_slot(slot, cancel):
        while not slot.lock.acquire(timeout=0.05):
            if cancel.is_set():
                return False
        return True

    def _execute(self, api_path, body, cancel):
        url, token = self.sim.hook_target()
        if not url:
            return None                  # no --control-plane-url: nothing is sent
        full_url = url.rstrip("/") + "/" + api_path
        while not self.permits.acquire(timeout=0.05):
            if cancel.is_set():
                return NotifyError("shutdown")
        try:
            attempt = 0
            while True:
                if cancel.is_set():
                    return NotifyError("shutdown")
                error = self._attempt(full_url, body, token, cancel)
                if error is None or error.permanent or attempt >= timing.HOOK_MAX_RETRIES:
                    return error
                if not self.sim.clock.sleep(timing.hook_backoff(attempt), cancel):
                    return NotifyError("shutdown")
                attempt += 1
        finally:
            self.permits.release()

    def _attempt(self, full_url, body, token, cancel):
        status, error = self.sim.http_put(full_url, body, token, timing.HOOK_ATTEMPT_TIMEOUT)
        if status is None:
            return NotifyError("request", detail=error)
        result = classify(status)
        if result is not None and result.kind == "slowdown":
            self.sim.clock.sleep(timing.HOOK_SLOWDOWN_DELAY, cancel)
        return result


def send_import_complete(sim, tenant_id, timeline_id, error, cancel):
    """timeline_import.rs notify_import_complete: PUT until a 2xx, every second.  False if
    cancelled first."""
    while True:
        url, token = sim.hook_target()
        if url:
            endpoint = url + "import_complete" if url.endswith("/") else url + "/import_complete"
            body = json_bytes({"tenant_id": tenant_id, "timeline_id": timeline_id, "error": error})
            status, _ = sim.http_put(endpoint, body, token, timing.IMPORT_COMPLETE_TIMEOUT)
            if status is not None and 200 <= status < 300:
                return True
        if not sim.clock.sleep(timing.IMPORT_COMPLETE_RETRY, cancel):
            return False


class HttpClient:
    """One PUT to the control plane, logged in the request log (direction "out")."""

    def __init__(self, sim, ca_file):
        self.sim = sim
        # Never use an HTTP proxy from the environment for hook calls.
        handlers = [urllib.request.ProxyHandler({})]
        if ca_file:  # an https hook signed by this CA
            import ssl
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_file)))
        self.opener = urllib.request.build_opener(*handlers)

    def put(self, full_url, body, token, timeout):
        """Returns (status or None, error text or None)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        entry = {
            "direction": "out",
            "method": "PUT",
            "url": full_url,
            "path": urllib.parse.urlsplit(full_url).path,
            "query": "",
            "body": json.loads(body),
            "raw_body": body.decode("utf-8"),
            "authorization": headers.get("Authorization"),
            "status": None,
            "error": None,
            "time": time.time(),
        }
        self.sim.record_request(entry)
        status, error = None, None
        try:
            request = urllib.request.Request(full_url, data=body, method="PUT", headers=headers)
            with self.opener.open(request, timeout=timeout) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
            try:
                e.read()
            except Exception:
                pass
            e.close()
        except Exception as e:
            error = "error sending request for url (%s): %s: %s" % (full_url, type(e).__name__, e)
        self.sim.finish_request(entry, status, error)
        self.sim.log_line("out PUT %s -> %s" % (full_url, status if status is not None else error))
        return status, error
