#!/usr/bin/env python3
"""End to end: the SQL functions for operations storcon answers only when they are done, from a
compute whose hook storcon notifies. A slow shard split outlasts storcon.request_timeout and says
every few seconds that it is still waiting; pg_cancel_backend() and statement_timeout end a wait
on a storcon that never answers (the session goes on); storcon.safekeeper_migrate() moves the
compute's own timeline through its hook, and storcon.doctor() judges the safekeeper side, also when
a migration is left half done. (The exact requests are asserted by the regress suites.)"""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "1c000000000000000000000000000001"       # the compute's own tenant
TIMELINE = "1d000000000000000000000000000001"
OTHER = "1c000000000000000000000000000002"        # a tenant this compute does not host


class LongCallsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "2", "--seed-safekeepers", "4"])
        for tenant in (TENANT, OTHER):
            status, answer = cls.sim.call("POST", "/v1/tenant", {"new_tenant_id": tenant})
            assert status == 201, answer
        status, created = cls.sim.call("POST", f"/v1/tenant/{TENANT}/timeline", {"new_timeline_id": TIMELINE})
        assert status == 201, created
        cls.sk_ids = [s["id"] for s in created["safekeepers"]["safekeepers"]]
        cls.port = free_port()
        cls.pg = Cluster("long_calls", settings={
            "storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port),
            "storcon.sync_interval": "0",
            "neon.tenant_id": f"'{TENANT}'", "neon.timeline_id": f"'{TIMELINE}'",
            "neon.safekeepers": "'g#1:" + ",".join(f"127.0.0.1:{5450 + i}" for i in cls.sk_ids) + "'",
        })
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION neon_stub; CREATE EXTENSION pg_storcon")
        cls.hook = f"http://127.0.0.1:{cls.port}"
        wait_until(lambda: http("GET", cls.hook + "/healthz", timeout=2)[0] == 200, 20, what="hook")
        cls.sim.call("POST", "/__sim/config", {"control_plane_url": cls.hook})

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()

    def tearDown(self):
        self.sim.clear_faults()
        self.sim.call("POST", "/__sim/config", {"control_plane_url": self.hook, "time_scale": 1, "split_seconds": 0})

    def psql(self, sql):
        """(returncode, stdout, stderr) of sql in a new session, statement by statement; the
        return code is not 0 if one failed."""
        r = subprocess.run(self.psql_command() + ["-v", "ON_ERROR_STOP=1"], input=sql,
                           capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout, r.stderr

    def psql_command(self):
        return [os.path.join(self.pg.bindir, "psql"), "-X", "-q", "-A", "-t", "-h", "127.0.0.1",
                "-p", str(self.pg.port), "-U", "postgres", "-d", "postgres"]

    def doctor(self):
        rows = self.pg.psql("SELECT check_name, ok FROM storcon.doctor()").splitlines()
        return {r.split("|")[0]: r.split("|")[1] == "t" for r in rows}

    def test_1_slow_split_outlasts_request_timeout_with_progress_notices(self):
        # the simulator's pageservers take 6 s to split; storcon.request_timeout is 1 s
        self.sim.call("POST", "/__sim/config", {"split_seconds": 6})
        rc, out, err = self.psql(f"SET storcon.request_timeout = '1s'; "
                                 f"SELECT * FROM storcon.tenant_shard_split('{OTHER}', 2)")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.split(), [f"{OTHER}-0002", f"{OTHER}-0102"])
        notices = re.findall(rf"NOTICE:  still splitting tenant {OTHER} into 2 shards: (\d+) s", err)
        self.assertTrue(notices, err)
        self.assertTrue(all(int(s) >= 5 for s in notices), err)  # never before the first interval

    def start_hanging_delete(self, app, prelude=""):
        """A timeline delete storcon never answers, in a session of its own (then a second query)."""
        self.sim.fault(path_prefix=f"/v1/tenant/{OTHER}/timeline/", method="DELETE", hang=True)
        sql = (f"SET application_name = '{app}'; {prelude}"
               f"SELECT storcon.timeline_delete('{OTHER}', '1d0000000000000000000000000000ff'); "
               f"SELECT 'still usable: ' || storcon.api('GET', '/status')::text;")
        proc = subprocess.Popen(self.psql_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        proc.stdin.write(sql + "\n")
        proc.stdin.flush()  # stdin stays open until communicate(): psql runs the statements meanwhile
        wait_until(lambda: any(r["method"] == "DELETE" for r in self.sim.requests()), 15, what="the DELETE at storcon")
        return proc

    def test_2_pg_cancel_backend_ends_the_wait(self):
        proc = self.start_hanging_delete("long_call_cancel")
        self.assertEqual(self.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'long_call_cancel' "
                                      "AND state = 'active'"), "1")
        self.assertEqual(self.pg.psql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                                      "WHERE application_name = 'long_call_cancel'"), "t")
        out, err = proc.communicate(timeout=30)
        self.assertIn("ERROR:  canceling statement due to user request", err)
        self.assertIn(f"It stopped waiting for DELETE /v1/tenant/{OTHER}/timeline/", err)
        self.assertIn("calling the function again is safe", err)
        self.assertIn("still usable: null", out)   # the session and its storcon client go on

    def test_3_statement_timeout_ends_the_wait(self):
        proc = self.start_hanging_delete("long_call_timeout", prelude="SET statement_timeout = '2s'; ")
        out, err = proc.communicate(timeout=30)
        self.assertIn("ERROR:  canceling statement due to statement timeout", err)
        self.assertIn("still usable: null", out)

    def test_4_safekeeper_migration_through_the_hook_and_the_doctor(self):
        doctor = self.doctor()
        for check in ("timeline_safekeepers", "safekeeper_migration", "safekeeper_generation"):
            self.assertTrue(doctor[check], (check, doctor))
        new = sorted(set([1, 2, 3, 4]) - {self.sk_ids[0]})
        rows = self.pg.psql(f"SELECT generation, sk_set FROM storcon.safekeeper_migrate('{TENANT}', '{TIMELINE}', "
                            f"ARRAY{new})")
        self.assertEqual(rows, "3|{" + ",".join(map(str, new)) + "}")
        # storcon notified this compute's hook (joint, then final configuration) before answering
        self.assertEqual(self.pg.psql("SHOW neon.safekeepers"),
                         "g#3:" + ",".join(f"127.0.0.1:{5450 + i}" for i in new))
        self.assertTrue(all(self.doctor()[c] for c in ("safekeeper_migration", "safekeeper_generation")))

        # the hook is unreachable: storcon retries (100x faster here), then leaves the migration half done
        self.sim.call("POST", "/__sim/config", {"control_plane_url": "http://127.0.0.1:1", "time_scale": 0.01})
        rc, _, err = self.psql(f"SELECT * FROM storcon.safekeeper_migrate('{TENANT}', '{TIMELINE}', "
                               f"ARRAY{sorted(self.sk_ids)})")
        self.assertNotEqual(rc, 0)
        self.assertIn("failed to notify cplane about safekeeper membership change", err)
        doctor = self.doctor()
        self.assertFalse(doctor["safekeeper_migration"], doctor)
        self.assertFalse(doctor["safekeeper_generation"], doctor)   # the compute is at 3, storcon at 4

        # with the hook back, aborting goes back to the committed set, and the compute follows
        self.sim.call("POST", "/__sim/config", {"control_plane_url": self.hook, "time_scale": 1})
        rows = self.pg.psql(f"SELECT generation, sk_set FROM storcon.safekeeper_migrate_abort('{TENANT}', '{TIMELINE}')")
        self.assertEqual(rows, "5|{" + ",".join(map(str, new)) + "}")
        self.assertTrue(self.pg.psql("SHOW neon.safekeepers").startswith("g#5:"))
        doctor = self.doctor()
        for check in ("timeline_safekeepers", "safekeeper_migration", "safekeeper_generation"):
            self.assertTrue(doctor[check], (check, doctor))


if __name__ == "__main__":
    unittest.main(verbosity=2)
