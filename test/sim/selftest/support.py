"""Fixtures of the simulator's self-test: the simulator as a subprocess and a recording hook.

Why this file exists: every self-test suite talks to a real storcon_sim.py process over HTTP and
often needs a compute hook to answer storcon's notifications in a controlled way (status codes,
delays, held requests) while recording what arrived, when, and how many were in flight.
"""

import http.client
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SIM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "storcon_sim.py")

T1 = "1f359dd625e519a1a4e8d7509690f6fc"
T2 = "072f1291a5310026820b2fe4b2968934"
TL1 = "de200bd42b49cc1814412c7e592dd6e9"
TL2 = "0a0b0c0d0e0f00112233445566778899"

NODE_FIELDS = ["id", "availability", "scheduling", "availability_zone_id", "listen_http_addr",
               "listen_http_port", "listen_https_port", "listen_pg_addr", "listen_pg_port",
               "listen_grpc_addr", "listen_grpc_port"]

# The shared simulator runs storcon's clocks 20x faster: a hook attempt times out after 0.5 s,
# a reconcile wait after 1.5 s, a call's 11 attempts back off for 0.75 s in all.
SCALE = 0.05


class SimProcess:
    """The simulator running as a subprocess on a free port."""

    def __init__(self, *extra_args):
        self.tmpdir = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.tmpdir.name, "port")
        self.proc = subprocess.Popen(
            [sys.executable, SIM, "--port", "0", "--port-file", port_file] + list(extra_args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("simulator did not start: %r" % (self.proc.communicate(),))
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        line = self.proc.stdout.readline().decode()
        assert line.strip() == "storcon_sim listening on http://127.0.0.1:%d" % self.port, line

    def call(self, method, path, body=None, headers=None, raw=None, timeout=30):
        """Returns (status, parsed JSON or None, raw bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            payload = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return resp.status, parsed, payload

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(5)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.tmpdir.cleanup()
        return rc


_SHARED = []


def shared_sim():
    """The simulator most suites share (reset before each test): no background retries, time
    scaled by SCALE."""
    if not _SHARED:
        _SHARED.append(SimProcess("--pending-retry-interval", "0", "--time-scale", str(SCALE)))
    return _SHARED[0]


def stop_shared_sim():
    """Stops the shared simulator; returns its exit status (None if never started)."""
    return _SHARED.pop().stop() if _SHARED else None


class HookServer:
    """A compute-hook receiver that records every request.

    statuses: answers to give, in order, then `default`.  delay: seconds before answering.
    gate: if set to an Event, every request waits for it (up to 20 s) before answering.
    """

    def __init__(self):
        self.calls = []            # (method, path, body bytes, authorization, monotonic time)
        self.statuses = []
        self.default = 200
        self.delay = 0.0
        self.gate = None
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.in_flight_by_key = {}
        self.max_by_key = {}
        hook = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = hook.key_of(body)
                with hook.lock:
                    hook.calls.append((self.command, self.path, body, self.headers.get("Authorization"),
                                       time.monotonic()))
                    status = hook.statuses.pop(0) if hook.statuses else hook.default
                    hook.in_flight += 1
                    hook.max_in_flight = max(hook.max_in_flight, hook.in_flight)
                    hook.in_flight_by_key[key] = hook.in_flight_by_key.get(key, 0) + 1
                    hook.max_by_key[key] = max(hook.max_by_key.get(key, 0), hook.in_flight_by_key[key])
                    gate, delay = hook.gate, hook.delay
                if gate is not None:
                    gate.wait(20)
                if delay:
                    time.sleep(delay)
                with hook.lock:                # done before the caller can see the answer
                    hook.in_flight -= 1
                    hook.in_flight_by_key[key] -= 1
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook/" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def key_of(body):
        try:
            value = json.loads(body)
            return (value.get("tenant_id"), value.get("timeline_id"))
        except ValueError:
            return None

    def bodies(self, path):
        with self.lock:
            return [json.loads(c[2]) for c in self.calls if c[1] == path]

    def times(self, path):
        with self.lock:
            return [c[4] for c in self.calls if c[1] == path]

    def count(self, path=None):
        with self.lock:
            return sum(1 for c in self.calls if path is None or c[1] == path)

    def close(self):
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()


def register_body(node_id, port=6400, az="az-1", pg_addr=None):
    return {"node_id": node_id, "listen_pg_addr": pg_addr or "ps%d" % node_id, "listen_pg_port": port,
            "listen_http_addr": "ps%d" % node_id, "listen_http_port": 9898,
            "availability_zone_id": az}


def sk_body(sk_id, az="az-1"):
    return {"id": sk_id, "region_id": "r1", "version": 1, "host": "sk%d" % sk_id, "port": 5454,
            "http_port": 7676, "availability_zone_id": az, "created_at": "ignored"}


def wait_for(predicate, timeout=20.0, what="condition"):
    """Poll until predicate() is truthy; returns its value (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def in_background(fn, *args, **kwargs):
    """Run fn in a thread; returns a callable that joins it and returns fn's result."""
    result = {}

    def run():
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as e:  # re-raised in the test thread
            result["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join(timeout=60):
        t.join(timeout)
        if t.is_alive():
            raise AssertionError("background call did not finish")
        if "error" in result:
            raise result["error"]
        return result["value"]
    return join


class SimTestCase(unittest.TestCase):
    """A test on the shared simulator, reset first; with a hook when `with_hook` is set."""

    with_hook = False

    def setUp(self):
        self.sim = shared_sim()
        self.assertEqual(self.sim.call("POST", "/__sim/reset")[0], 200)
        self.hook = None
        if self.with_hook:
            self.hook = HookServer()
            self.addCleanup(self.hook.close)
            self.config(control_plane_url=self.hook.url, control_plane_token="cp-token")

    def call(self, *args, **kwargs):
        return self.sim.call(*args, **kwargs)

    def config(self, **values):
        status, body, _ = self.call("POST", "/__sim/config", values)
        self.assertEqual(status, 200, body)
        return body

    def seed(self, nodes=0, safekeepers=0):
        self.assertEqual(self.call("POST", "/__sim/seed", {"nodes": nodes, "safekeepers": safekeepers})[0], 200)

    def describe(self, tenant_id, shard=0):
        return self.call("GET", "/control/v1/tenant/" + tenant_id)[1]["shards"][shard]

    def out_calls(self):
        return [e for e in self.call("GET", "/__sim/requests")[1] if e["direction"] == "out"]

    def assertError(self, result, status, msg):
        self.assertEqual(result[0], status, result)
        self.assertEqual(result[1], {"msg": msg})

    def assertErrorPrefix(self, result, status, prefix):
        self.assertEqual(result[0], status, result)
        self.assertTrue(result[1]["msg"].startswith(prefix), result[1])

    def assertWaitedAtLeast(self, times, gaps):
        """The simulator slept at least gaps[i] (storcon seconds, scaled) between call i and
        i+1.  A lower bound only: sleeping guarantees it, however slow the machine."""
        self.assertGreaterEqual(len(times), len(gaps) + 1)
        for i, gap in enumerate(gaps):
            self.assertGreaterEqual(times[i + 1] - times[i], gap * SCALE * 0.95, (i, times))
