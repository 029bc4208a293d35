#!/usr/bin/env python3
"""End to end, chaos: nothing a local process, an administrator, storcon or the network does may
take the compute down. A crash of the hook worker makes the postmaster kill every backend and run
crash recovery, so after every step this suite asserts that the server log has no "terminated by
signal", that a session opened at the start is still connected, and that the hook answers again
within 2 s. The steps: concurrent storcon.reconcile() from several sessions and concurrent
POST /reconcile; pg_cancel_backend and pg_terminate_backend on the worker while an apply waits for
its reload; storcon answering with a huge body, garbage, or not at all; a start with storcon down."""
import concurrent.futures
import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Session, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "c4a05000000000000000000000000001"
TIMELINE = "c4a05000000000000000000000000002"
TOKEN = "chaos-token"


def body(nodes, stripe=2048):
    return {"tenant_id": TENANT, "preferred_az": None, "stripe_size": stripe if len(nodes) > 1 else None,
            "shards": [{"node_id": n, "shard_number": i} for i, n in enumerate(nodes)]}


def conn(*nodes):
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


class ChaosTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "4", "--seed-safekeepers", "3"])
        cls.port = free_port()
        cls.pg = Cluster("chaos", settings={"storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port),
                                            "neon.tenant_id": f"'{TENANT}'", "neon.timeline_id": f"'{TIMELINE}'",
                                            "storcon.sync_interval": "'2s'"})
        cls.token_file = cls.pg.write_file("hook.token", TOKEN + "\n")
        cls.pg.append_conf({"storcon.hook_token_file": f"'{cls.token_file}'"})
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION pg_storcon")
        cls.pg.psql("SELECT * FROM storcon.sync_catalog()")
        cls.url = f"http://127.0.0.1:{cls.port}"
        cls.auth = {"Authorization": f"Bearer {TOKEN}"}
        cls.hook_up(cls)
        cls.session = Session(cls.pg)

    @classmethod
    def tearDownClass(cls):
        cls.session.close()
        cls.pg.destroy()
        cls.sim.stop()

    def hook_up(self, within=20.0):
        wait_until(lambda: http("GET", self.url + "/healthz", timeout=2)[0] == 200, within, interval=0.05,
                   what="the hook answering")

    def put(self, b, timeout=15):
        status, text = http("PUT", self.url + "/notify-attach", b, timeout=timeout, headers=self.auth)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def assert_survived(self):
        self.assertNotIn("terminated by signal", self.pg.log())
        self.assertNotIn("server process", self.session.run("SELECT 'still here'"))
        self.assertEqual(self.session.run("SELECT pg_backend_pid()"), self.session.pid)
        self.hook_up(within=2.0)

    def worker_pid(self):
        return self.pg.hook_worker_pid()

    def test_1_concurrent_reconciles_from_sql_and_http(self):
        with concurrent.futures.ThreadPoolExecutor(12) as ex:
            sql = [ex.submit(self.pg.psql, "SELECT count(*) FROM storcon.reconcile()", check=False) for _ in range(6)]
            web = [ex.submit(http, "POST", self.url + "/reconcile", None, 30, None, self.auth) for _ in range(6)]
            anon = [ex.submit(http, "POST", self.url + "/reconcile") for _ in range(6)]
        for f in sql:
            self.assertEqual(f.result().returncode, 0, f.result().stderr)
        for f in web:
            self.assertEqual(f.result()[0], 200, f.result())
        for f in anon:
            self.assertEqual(f.result()[0], 401)  # no trust by address
        self.assert_survived()

    def hold_an_apply(self, nodes):
        """An apply written and waiting for its reload (the postmaster is stopped), then released."""
        postmaster = self.pg.postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)
        ex = concurrent.futures.ThreadPoolExecutor(1)
        pending = ex.submit(self.put, body(nodes))
        wait_until(lambda: conn(*nodes).encode() in self.pg.auto_conf(), 5, what="written")
        return postmaster, pending, ex

    def test_2_cancel_mid_apply_is_not_death(self):
        self.assertEqual(self.put(body([1, 2]))[0], 200)
        pid = self.worker_pid()
        postmaster, pending, ex = self.hold_an_apply([2, 3])
        try:
            # pg_cancel_backend needs no new connection: signal the worker as it would.
            os.kill(pid, signal.SIGINT)
            time.sleep(0.3)
            self.assertEqual(http("GET", self.url + "/healthz", timeout=2)[0], 200)  # still serving
        finally:
            os.kill(postmaster, signal.SIGCONT)
        status, reply = pending.result(timeout=15)
        ex.shutdown()
        self.assertEqual(status, 200, reply)
        self.assertEqual(self.worker_pid(), pid, "a cancel must not end the worker")
        self.pg.poll("SHOW neon.pageserver_connstring", conn(2, 3))
        # ... and through SQL, the way an administrator does it
        self.assertEqual(self.pg.psql(f"SELECT pg_cancel_backend({pid})"), "t")
        time.sleep(0.3)
        self.assertEqual(self.worker_pid(), pid)
        self.assert_survived()

    def test_3_terminate_mid_apply_restarts_within_seconds(self):
        pid = self.worker_pid()
        postmaster, pending, ex = self.hold_an_apply([3, 4])
        try:
            os.kill(pid, signal.SIGTERM)  # what pg_terminate_backend sends
        finally:
            os.kill(postmaster, signal.SIGCONT)
        try:
            pending.result(timeout=15)
        except Exception:  # noqa: BLE001 - the connection may drop with the worker
            pass
        ex.shutdown()
        started = time.monotonic()
        wait_until(lambda: self.worker_pid() not in (None, pid), 10, interval=0.05, what="a new worker")
        self.hook_up(within=3.0)
        self.assertLess(time.monotonic() - started, 3.0)  # bgw_restart_time is 1 s (a protocol bound)
        self.pg.poll("SHOW neon.pageserver_connstring", conn(3, 4))  # the durable write took effect
        self.assertEqual(self.pg.psql(f"SELECT pg_terminate_backend({self.worker_pid()})"), "t")
        self.assert_survived()

    def storcon_misbehaves(self, **fault):
        self.sim.fault(path_prefix="/control/v1/node", times=4, **fault)
        try:
            with concurrent.futures.ThreadPoolExecutor(3) as ex:
                # a refresh on a miss, a reconcile pass and a SQL call, all at once
                miss = ex.submit(self.put, body([1, 77]))
                rec = ex.submit(http, "POST", self.url + "/reconcile", None, 30, None, self.auth)
                sql = ex.submit(self.pg.psql, "SELECT * FROM storcon.sync_catalog()", check=False)
                status, reply = miss.result(timeout=20)
                self.assertEqual(status, 503, reply)
                self.assertEqual(rec.result(timeout=30)[0], 503)
                r = sql.result(timeout=60)
                self.assertNotEqual(r.returncode, 0)
                return reply, r.stderr
        finally:
            self.sim.clear_faults()

    def test_4_storcon_answers_a_huge_body(self):
        huge = "[" + ",".join(['{"id":1}'] * (2_500_000)) + "]"  # about 22 MiB
        reply, sql_error = self.storcon_misbehaves(status=200, body=huge)
        self.assertIn("larger than 16 MiB", reply["msg"])
        self.assertIn("larger than 16 MiB", sql_error)
        self.assert_survived()

    def test_5_storcon_answers_garbage(self):
        self.storcon_misbehaves(garbage=True)
        self.assert_survived()

    def test_6_storcon_stalls(self):
        self.pg.psql("ALTER SYSTEM SET storcon.request_timeout = '3s'")
        self.pg.reload()
        try:
            started = time.monotonic()
            reply, _ = self.storcon_misbehaves(hang=True)
            self.assertLess(time.monotonic() - started, 60)
        finally:
            self.pg.psql("ALTER SYSTEM RESET storcon.request_timeout")
            self.pg.reload()
        self.assert_survived()

    def test_7_start_with_storcon_down_serves_from_the_mirror(self):
        self.assertEqual(self.pg.psql("SELECT count(*) FROM storcon.nodes"), "4")
        self.sim.fault(path_prefix="/", status=503, body='{"msg":"storcon is restarting"}')  # every route
        try:
            self.session.close()
            self.pg.restart()
            self.hook_up()
            offset = len(self.pg.log())
            status, reply = self.put(body([4, 1]))
            self.assertEqual(status, 200, reply)  # ids resolved from the mirror, storcon not needed
            self.pg.poll("SHOW neon.pageserver_connstring", conn(4, 1))
            self.assertNotIn("could not load the catalog mirror", self.pg.log())
            self.assertNotIn("terminated by signal", self.pg.log()[offset:])
        finally:
            self.sim.clear_faults()
            type(self).session = Session(self.pg)
        self.assert_survived()

    def test_8_sync_interval_takes_effect_when_set(self):
        self.pg.psql("ALTER SYSTEM SET storcon.sync_interval = '1h'")
        self.pg.reload()
        wait_until(lambda: json.loads(http("GET", self.url + "/status", headers=self.auth)[1])["reconcile"]
                   ["next_in_seconds"] > 600, 10, what="the long interval")
        self.pg.psql("ALTER SYSTEM SET storcon.sync_interval = '1s'")
        self.pg.reload()
        wait_until(lambda: (json.loads(http("GET", self.url + "/status", headers=self.auth)[1])["reconcile"]
                            ["next_in_seconds"] or 0) <= 1, 10, what="the short interval at once")
        self.pg.psql("ALTER SYSTEM RESET storcon.sync_interval")
        self.pg.reload()
        self.assert_survived()


if __name__ == "__main__":
    unittest.main(verbosity=2)
