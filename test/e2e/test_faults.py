#!/usr/bin/env python3
"""End to end, under faults: storcon down, slow or talking nonsense while the hook refreshes its node
directory; postgresql.auto.conf that cannot be written; a reload that does not take the values; the
hook worker killed, and the whole server killed, between the write and the reload.

The invariant every test checks: postgresql.auto.conf is either fully old or fully new (the
neon.stripe_size / neon.pageserver_connstring pair is one that was sent together), the postmaster's
shard map (recorded by neon_stub) agrees with it, and the hook only answers 200 once that is so."""
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "1f359dd625e519a1a4e8d7509690f6fc"
HOOK_DEADLINE_S = 9.0  # storcon gives up on a hook call after 10 s


def body(nodes, stripe=2048, tenant=TENANT):
    return {"tenant_id": tenant, "preferred_az": "az-1",
            "stripe_size": stripe if len(nodes) > 1 else None,
            "shards": [{"node_id": n, "shard_number": i} for i, n in enumerate(nodes)]}


def conn(*nodes):
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


def conf_entries(raw):
    """The (name, value) entries of a postgresql.auto.conf, in file order."""
    out = []
    for line in raw.decode().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*=\s*'((?:[^']|'')*)'", line)
        assert m, f"unexpected line in postgresql.auto.conf: {line!r}"
        out.append((m.group(1), m.group(2).replace("''", "'")))
    return out


def neon_pair(raw):
    """(stripe_size or None, pageserver_connstring or None) as written in postgresql.auto.conf."""
    d = dict(conf_entries(raw))
    stripe = d.get("neon.stripe_size")
    return (int(stripe) if stripe is not None else None), d.get("neon.pageserver_connstring")


def proc_state(pid):
    """The state letter of a process ('R', 'S', 'T', 'Z', ...), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


class Base(unittest.TestCase):
    pg = None
    sim = None
    url = None

    def put(self, b, path="/notify-attach", timeout=15):
        status, text = http("PUT", self.url + path, b, timeout=timeout)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def put_quietly(self, b, timeout=30):
        """put(), but a dropped connection is an answer too: ('dropped', <exception>)."""
        try:
            return self.put(b, timeout=timeout)
        except Exception as e:  # noqa: BLE001 - the worker died under the request
            return "dropped", repr(e)

    def status_json(self):
        return json.loads(http("GET", self.url + "/status", timeout=2)[1])

    def wait_hook(self):
        wait_until(lambda: http("GET", self.url + "/healthz", timeout=2)[0] == 200, 30, what="hook up")

    def shard_map(self):
        row = self.pg.psql("SELECT num_shards, stripe_size, connstring FROM neon_stub_shard_map()")
        n, stripe, cs = row.split("|", 2)
        return int(n), int(stripe), cs

    def history(self):
        rows = self.pg.psql("SELECT num_shards, stripe_size, connstring FROM neon_stub_shard_map_history()")
        out = []
        for row in rows.splitlines():
            n, stripe, cs = row.split("|", 2)
            out.append((int(n), int(stripe), cs))
        return out

    def settings_in_effect(self):
        """(stripe_size, connstring) as a brand-new session sees them (stripe in pages, no unit)."""
        row = self.pg.psql("SELECT (SELECT setting FROM pg_settings WHERE name = 'neon.stripe_size'), "
                           "current_setting('neon.pageserver_connstring')")
        stripe, cs = row.split("|", 1)
        return int(stripe), cs

    def add_node(self, node_id):
        status, reply = self.sim.call("POST", "/control/v1/node", {
            "node_id": node_id, "listen_pg_addr": "127.0.0.1", "listen_pg_port": 6400 + node_id,
            "listen_http_addr": "127.0.0.1", "listen_http_port": 9800 + node_id, "availability_zone_id": "az-1"})
        self.assertEqual(status, 200, reply)

    def assert_no_mixed_records(self, nodes, stripe):
        """The postmaster never routed the map `nodes` with another stripe size."""
        cs = conn(*nodes)
        for n, s, c in self.history():
            if c == cs:
                self.assertEqual((n, s), (len(nodes), stripe), "the new map was recorded with a wrong stripe")


class StorconAndFileFaultsTest(Base):
    """One cluster for the faults that must leave everything as it was."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "4"])
        cls.port = free_port()
        cls.pg = Cluster("faults", settings={
            "storcon.hook_port": str(cls.port),
            "storcon.url": f"'{cls.sim.url}'",
            "storcon.hook_apply_timeout": "'3s'",
            "neon.tenant_id": f"'{TENANT}'",
        })
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION neon_stub; CREATE EXTENSION pg_storcon")
        cls.url = f"http://127.0.0.1:{cls.port}"
        status, reply = http("PUT", cls.url + "/notify-attach", body([1, 2], stripe=2048))
        assert status == 200, reply

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()

    def setUp(self):
        self.sim.clear_faults()

    def tearDown(self):
        self.sim.clear_faults()

    def snapshot(self):
        return self.pg.auto_conf(), self.shard_map()

    def assert_unchanged(self, snap, what=""):
        raw, shard_map = snap
        self.assertEqual(self.pg.auto_conf(), raw, f"postgresql.auto.conf changed {what}")
        self.assertEqual(self.shard_map(), shard_map, f"the postmaster's shard map changed {what}")
        self.assertEqual(self.temp_files(), [], "temporary file left behind")

    # 1 ---------------------------------------------------------------------------------------
    def test_01_storcon_down_during_refresh(self):
        snap = self.snapshot()
        port = self.sim.port
        self.sim.stop()
        try:
            status, reply = self.put(body([1, 5]))
            self.assertEqual(status, 503, reply)
            self.assertIn("could not refresh the catalog from storcon", reply["msg"])
            self.assert_unchanged(snap, "while storcon was down")
            self.assertEqual(http("GET", self.url + "/healthz", timeout=5)[0], 200)
        finally:
            type(self).sim = Simulator(port=port, args=["--seed-nodes", "4"])
        # storcon is back and knows node 5: its retry goes through.
        self.add_node(5)
        status, reply = self.put(body([1, 5]))
        self.assertEqual((status, reply["status"]), (200, "applied"), reply)
        self.assertEqual(self.shard_map(), (2, 2048, conn(1, 5)))

    # 2 ---------------------------------------------------------------------------------------
    def test_02_storcon_slower_than_the_lookup_cap(self):
        cases = [
            [{"path_prefix": "/control/v1/node", "delay_ms": 5000}],
            [{"path_prefix": "/control/v1/node", "hang": True}],
            # each call under the cap, the lookup as a whole (nodes, then safekeepers) still bounded
            [{"path_prefix": "/control/v1/node", "delay_ms": 2500},
             {"path_prefix": "/control/v1/safekeeper", "hang": True}],
        ]
        for i, faults in enumerate(cases):
            with self.subTest(faults=faults):
                node = 10 + i
                self.add_node(node)  # storcon knows it: only the slowness can make the answer 503
                snap = self.snapshot()
                for fault in faults:
                    self.sim.fault(method="GET", **fault)
                t0 = time.monotonic()
                status, reply = self.put(body([1, node]), timeout=30)
                elapsed = time.monotonic() - t0
                self.assertEqual(status, 503, reply)
                self.assertIn("could not refresh the catalog from storcon", reply["msg"])
                self.assertLess(elapsed, HOOK_DEADLINE_S, "the hook answered after storcon's own timeout")
                self.assert_unchanged(snap, f"with faults {faults}")
                self.assertEqual(http("GET", self.url + "/healthz", timeout=5)[0], 200)
                self.sim.clear_faults()
                status, reply = self.put(body([1, node]))
                self.assertEqual((status, reply["status"]), (200, "applied"), reply)
                self.assertEqual(self.shard_map(), (2, 2048, conn(1, node)))

    # The lookup runs through libcurl's multi interface, polled by the loop: /healthz (and every
    # other request) keeps answering while it waits for storcon.
    def test_03_healthz_answers_while_a_lookup_hangs(self):
        self.add_node(19)
        self.sim.fault(path_prefix="/control/v1/node", method="GET", hang=True)
        self.sim.clear_requests()
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            pending = ex.submit(self.put_quietly, body([1, 19]))
            wait_until(lambda: ("GET", "/control/v1/node") in
                       [(r["method"], r["path"]) for r in self.sim.requests()], 10, what="lookup in progress")
            try:
                healthz = http("GET", self.url + "/healthz", timeout=1)[0]
            except Exception as e:  # noqa: BLE001 - a timeout is the finding
                healthz = repr(e)
            answered_first = not pending.done()
            pending.result(timeout=30)
        self.assertEqual((healthz, answered_first), (200, True),
                         "/healthz did not answer while the hook waited for storcon")

    # 3 ---------------------------------------------------------------------------------------
    def test_04_storcon_5xx_or_garbage_during_refresh(self):
        _, nodes = self.sim.call("GET", "/control/v1/node")
        hostile = nodes + [dict(nodes[0], id=22, listen_pg_addr="127.0.0.1' \nneon.stripe_size = '1",
                                listen_pg_port=6422)]
        faults = [
            ("500", 21, {"path_prefix": "/control/v1/node", "status": 500}),
            ("502", 21, {"path_prefix": "/control/v1/node", "status": 502}),
            ("503", 21, {"path_prefix": "/control/v1/node", "status": 503}),
            ("404", 21, {"path_prefix": "/control/v1/node", "status": 404}),
            ("not json", 21, {"path_prefix": "/control/v1/node", "garbage": True}),
            ("not a list", 21, {"path_prefix": "/control/v1/node", "status": 200, "body": '{"nodes": []}'}),
            ("wrong types", 21, {"path_prefix": "/control/v1/node", "status": 200,
                                 "body": '[{"id": "twenty-one", "listen_pg_addr": 7}]'}),
            ("truncated", 21, {"path_prefix": "/control/v1/node", "status": 200, "body": json.dumps(nodes)[:-7]}),
            ("safekeepers 500", 21, {"path_prefix": "/control/v1/safekeeper", "status": 500}),
            ("safekeepers garbage", 21, {"path_prefix": "/control/v1/safekeeper", "garbage": True}),
            # well-formed, but the address would inject a line into postgresql.auto.conf
            ("hostile address", 22, {"path_prefix": "/control/v1/node", "status": 200,
                                     "body": json.dumps(hostile)}),
        ]
        self.add_node(21)
        for name, node, fault in faults:
            with self.subTest(fault=name):
                snap = self.snapshot()
                self.sim.fault(method="GET", **fault)
                status, reply = self.put(body([2, node]))
                self.sim.clear_faults()
                self.assertEqual(status, 503, reply)
                if name == "hostile address":
                    self.assertIn("22", reply["msg"])
                    self.assertIn("listen_pg_addr", reply["msg"])
                else:
                    self.assertIn("could not refresh the catalog from storcon", reply["msg"])
                self.assert_unchanged(snap, f"with storcon answering {name}")
                self.assertNotIn(b"neon.stripe_size = '1'", self.pg.auto_conf())
        # storcon answers properly again: the retry goes through
        status, reply = self.put(body([2, 21]))
        self.assertEqual((status, reply["status"]), (200, "applied"), reply)
        self.assertEqual(self.shard_map(), (2, 2048, conn(2, 21)))

    # 6 ---------------------------------------------------------------------------------------
    def temp_files(self):
        """Temporary files of a replacement of postgresql.auto.conf left in the data directory."""
        return [f for f in os.listdir(self.pg.datadir) if "postgresql.auto.conf.tmp" in f]

    def check_unwritable(self, make_unwritable, restore, log_words):
        self.assertEqual(self.put(body([1, 2], stripe=2048))[0], 200)
        snap = self.snapshot()
        log_offset = len(self.pg.log())
        b = body([3, 4], stripe=4096)
        try:
            make_unwritable()
            status, reply = self.put(b)
            self.assertEqual(status, 503, reply)
            self.assertIn("could not write postgresql.auto.conf", reply["msg"])
            self.assertIn("postgresql.auto.conf", reply["msg"].split(":", 1)[1])  # names the file
            self.assert_unchanged(snap, "although it could not be written")
        finally:
            restore()
        line = wait_until(lambda: next((ln for ln in self.pg.log()[log_offset:].splitlines()
                                        if "answered 503" in ln and all(w in ln for w in log_words)), None),
                          10, what=f"a log line with {log_words}")
        self.assertIn("pg_storcon hook", line)
        self.assertEqual(self.temp_files(), [])
        # the same notification, now that the file can be written (and nothing holds the lock)
        status, reply = self.put(b)
        self.assertEqual((status, reply["status"]), (200, "applied"), reply)
        self.assertEqual(self.shard_map(), (2, 4096, conn(3, 4)))
        self.assertEqual(neon_pair(self.pg.auto_conf()), (4096, conn(3, 4)))
        self.pg.psql("ALTER SYSTEM SET work_mem = '5MB'")  # AutoFileLock is free
        self.pg.psql("ALTER SYSTEM RESET work_mem")

    def test_05_data_directory_not_writable(self):
        datadir, auto = self.pg.datadir, self.pg.path("postgresql.auto.conf")
        dir_mode, file_mode = os.stat(datadir).st_mode & 0o777, os.stat(auto).st_mode & 0o777

        def lock():
            os.chmod(auto, 0o444)
            os.chmod(datadir, 0o500)
            # the server user really cannot create the temporary file now
            r = subprocess.run(["runuser", "-u", "postgres", "--", "touch", auto + ".probe"], capture_output=True)
            self.assertNotEqual(r.returncode, 0, "the data directory is still writable for postgres")

        def unlock():
            os.chmod(datadir, dir_mode)
            os.chmod(auto, file_mode)

        self.check_unwritable(lock, unlock, ["temporary file", "Permission denied"])

    def test_06_auto_conf_immutable(self):
        auto = self.pg.path("postgresql.auto.conf")
        if shutil.which("chattr") is None:
            self.skipTest("no chattr")
        if subprocess.run(["chattr", "+i", auto], capture_output=True).returncode != 0:
            self.skipTest("this file system does not take the immutable attribute")
        subprocess.run(["chattr", "-i", auto], check=True)
        self.check_unwritable(lambda: subprocess.run(["chattr", "+i", auto], check=True),
                              lambda: subprocess.run(["chattr", "-i", auto], check=True),
                              ["cannot rename", "Operation not permitted"])

    # 7 ---------------------------------------------------------------------------------------
    def test_07_reload_that_does_not_take_the_values_restores_the_file(self):
        # Old state: one shard, and no neon.stripe_size in the file at all (the hook leaves a stale
        # one in place for an unsharded tenant, so remove it by hand).
        self.assertEqual(self.put(body([1]))[0], 200)
        self.pg.psql("ALTER SYSTEM RESET neon.stripe_size")
        self.pg.reload()
        self.pg.poll("SELECT setting FROM pg_settings WHERE name = 'neon.stripe_size'", "2048")
        wait_until(lambda: self.shard_map() == (1, 2048, conn(1)), 15, what="old map in effect")
        self.assertEqual(self.settings_in_effect(), (2048, conn(1)))
        raw_before, map_before = self.snapshot()
        entries_before = conf_entries(raw_before)
        self.assertNotIn("neon.stripe_size", dict(entries_before))
        conf = self.pg.path("postgresql.conf")
        with open(conf, "rb") as f:
            conf_before = f.read()
        log_offset = len(self.pg.log())
        # A syntax error anywhere in the configuration makes every reload apply nothing.
        with open(conf, "ab") as f:
            f.write(b"pg_storcon_fault_test = 'unterminated\n")
        try:
            status, reply = self.put(body([2, 3], stripe=4096))
            self.assertEqual(status, 503, reply)
            self.assertIn("did not take effect", reply["msg"])
            self.assertIn("restored", reply["msg"])
            # fully old again: the same entries (stripe removed again, old connstring back)
            self.assertEqual(conf_entries(self.pg.auto_conf()), entries_before)
            self.assertEqual(self.shard_map(), map_before)
            self.assertNotIn(conn(2, 3), [c for _, _, c in self.history()])
            wait_until(lambda: "contains errors" in self.pg.log()[log_offset:], 10, what="the reload's complaint")
        finally:
            with open(conf, "wb") as f:
                f.write(conf_before)
            self.pg.reload()
        self.assertEqual(self.settings_in_effect()[1], conn(1))
        status, reply = self.put(body([2, 3], stripe=4096))
        self.assertEqual((status, reply["status"]), (200, "applied"), reply)
        self.assertEqual(self.shard_map(), (2, 4096, conn(2, 3)))


class CrashTest(Base):
    """A fresh cluster per test: the worker or the whole server dies with an apply in flight."""

    OLD = ([1, 2], 2048)
    NEW = ([1, 2, 3, 4], 8192)

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "4"])

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.port = free_port()
        self.pg = Cluster("crash", settings={
            "storcon.hook_port": str(self.port),
            "storcon.url": f"'{self.sim.url}'",
            "storcon.hook_apply_timeout": "'9s'",  # the apply stays in flight while we strike
            "neon.tenant_id": f"'{TENANT}'",
        })
        self.pg.start()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopped = None
        self.pg.psql("CREATE EXTENSION neon_stub; CREATE EXTENSION pg_storcon")
        status, reply = self.put(body(*self.OLD))
        self.assertEqual(status, 200, reply)
        self.assertEqual(self.shard_map(), (2, 2048, conn(1, 2)))

    def tearDown(self):
        if self.stopped and proc_state(self.stopped) is not None:
            os.kill(self.stopped, signal.SIGCONT)
        self.pg.destroy()

    def stop_postmaster_with_apply_in_flight(self, ex):
        """SIGSTOPs the postmaster (no reload can happen), sends the NEW map, waits until it is
        written and waiting for its reload; returns the pending request."""
        pm = self.pg.postmaster_pid()
        os.kill(pm, signal.SIGSTOP)
        self.stopped = pm
        wait_until(lambda: proc_state(pm) == "T", 5, what="postmaster stopped")
        pending = ex.submit(self.put_quietly, body(*self.NEW))
        wait_until(lambda: self.status_json()["applying"], 10, what="apply in flight")
        return pm, pending

    def assert_consistent_pair(self, raw):
        pair = neon_pair(raw)
        old = (self.OLD[1], conn(*self.OLD[0]))
        new = (self.NEW[1], conn(*self.NEW[0]))
        self.assertIn(pair, (old, new), f"postgresql.auto.conf holds a pair never sent together:\n{raw.decode()}")
        text = raw.decode()
        self.assertLess(text.index("neon.stripe_size"), text.index("neon.pageserver_connstring"))
        return pair

    # 4 ---------------------------------------------------------------------------------------
    def test_08_worker_terminated_while_apply_waits_for_reload(self):
        worker = self.pg.hook_worker_pid()  # read while the postmaster still accepts connections
        self.assertIsNotNone(worker)
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            pm, pending = self.stop_postmaster_with_apply_in_flight(ex)
            try:
                os.kill(worker, signal.SIGTERM)
                # it exits; its parent is stopped and cannot reap it yet
                wait_until(lambda: proc_state(worker) in ("Z", None), 10, what="worker exit")
                answer = pending.result(timeout=30)
            finally:
                os.kill(pm, signal.SIGCONT)
                self.stopped = None
        # The apply was never verified: no 200 may have been sent for it.
        self.assertNotEqual(answer[0], 200, answer)

        wait_until(lambda: self.pg.hook_worker_pid() not in (None, worker), 30, what="worker restart")
        self.wait_hook()
        stripe, cs = self.assert_consistent_pair(self.pg.auto_conf())
        # After a reload, the postmaster routes with exactly the file's pair.
        self.pg.reload()
        nshards = len(cs.split(","))
        wait_until(lambda: self.shard_map() == (nshards, stripe, cs), 15, what="shard map = file")
        self.assertEqual(self.settings_in_effect(), (stripe, cs))
        self.assert_no_mixed_records(*self.NEW)
        # storcon re-sends the notification it never got a 200 for
        status, reply = self.put(body(*self.NEW))
        self.assertEqual(status, 200, reply)
        self.assertIn(reply["status"], ("applied", "unchanged"))
        self.assertEqual(self.shard_map(), (4, 8192, conn(*self.NEW[0])))

    # 5 ---------------------------------------------------------------------------------------
    def test_09_server_killed_between_write_and_reload(self):
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            pm, pending = self.stop_postmaster_with_apply_in_flight(ex)
            # The file is durable before the postmaster is signalled.
            self.assertEqual(self.assert_consistent_pair(self.pg.auto_conf()),
                             (self.NEW[1], conn(*self.NEW[0])))
            kids = children_of(pm)
            self.assertTrue(kids)
            os.kill(pm, signal.SIGKILL)  # the pending SIGHUP dies with it: no reload ever happened
            for kid in kids:
                try:
                    os.kill(kid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.stopped = None
            answer = pending.result(timeout=30)
        self.assertNotEqual(answer[0], 200, answer)
        # the new postmaster refuses to start while the old pid still exists (even as a zombie)
        wait_until(lambda: all(proc_state(p) in (None, "Z") for p in kids), 30, what="children gone")
        wait_until(lambda: proc_state(pm) is None, 60, interval=0.2, what="old postmaster reaped")

        self.pg.start()
        self.wait_hook()
        stripe, cs = self.assert_consistent_pair(self.pg.auto_conf())
        self.assertEqual((stripe, cs), (8192, conn(1, 2, 3, 4)))
        self.assertEqual(self.settings_in_effect(), (8192, conn(1, 2, 3, 4)))
        self.assertEqual(self.pg.psql("SHOW neon.stripe_size"), "64MB")
        self.assertEqual(self.shard_map(), (4, 8192, conn(1, 2, 3, 4)))
        self.assert_no_mixed_records(*self.NEW)
        status, reply = self.put(body(*self.NEW))
        self.assertEqual((status, reply["status"]), (200, "unchanged"), reply)


if __name__ == "__main__":
    t0 = time.monotonic()
    prog = unittest.main(verbosity=2, exit=False)
    print(f"total {time.monotonic() - t0:.1f} s", file=sys.stderr)
    sys.exit(not prog.result.wasSuccessful())
