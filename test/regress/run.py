#!/usr/bin/env python3
"""Runs the pg_regress suites (test/regress/sql, expected/) against a throw-away cluster with
pg_storcon and the neon stand-in preloaded, and the storcon simulator on a fixed port (the SQL
files drive it with curl). Prints regression.diffs on failure; exit code = pg_regress's."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIM_PORT = 55431  # referenced by the SQL files
TOKEN = "regress-token"
TESTS = ["catalog", "errors", "admin", "privileges", "paths", "long_calls", "safekeepers", "operations",
         "upgrade", "squat"]


def main():
    sim = Simulator(port=SIM_PORT, args=["--token", TOKEN, "--seed-nodes", "3", "--seed-safekeepers", "3"])
    cluster = None
    try:
        # sync_interval 0: no periodic pass of the hook worker lands in the request log under test
        cluster = Cluster("regress", settings={"storcon.hook_port": str(free_port()), "storcon.sync_interval": "0"})
        token_file = cluster.write_file("storcon.token", TOKEN + "\n")
        cluster.append_conf({"storcon.url": f"'{sim.url}'", "storcon.jwt_token_file": f"'{token_file}'"})
        cluster.start()
        cluster.psql("CREATE DATABASE contrib_regression")
        pkglibdir = subprocess.check_output(["pg_config", "--pkglibdir"], text=True).strip()
        pg_regress = os.path.join(pkglibdir, "pgxs", "src", "test", "regress", "pg_regress")
        # PG_STORCON_REGRESS_OUT keeps results/ somewhere known (to review a new expected file)
        out = os.environ.get("PG_STORCON_REGRESS_OUT") or tempfile.mkdtemp(prefix="pg_storcon_regress_out_")
        r = subprocess.run([pg_regress, "--use-existing", "--host=127.0.0.1", f"--port={cluster.port}",
                            "--user=postgres", f"--inputdir={HERE}", f"--outputdir={out}",
                            f"--bindir={cluster.bindir}", "--dbname=contrib_regression", *TESTS],
                           capture_output=True, text=True)
        print(r.stdout, r.stderr)
        if r.returncode != 0:
            diffs = os.path.join(out, "regression.diffs")
            if os.path.exists(diffs):
                print(open(diffs).read())
            print(cluster.log()[-5000:])
        elif not os.environ.get("PG_STORCON_REGRESS_OUT"):
            shutil.rmtree(out, ignore_errors=True)  # kept only when something failed
        return r.returncode
    finally:
        if cluster:
            cluster.destroy()
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
