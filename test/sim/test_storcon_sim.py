#!/usr/bin/env python3
"""Self-test for storcon_sim.py.

Why this file exists: the storage-controller simulator is the fixture every pg_storcon test
relies on, so its own behaviour (JSON shapes, status codes, error texts, compute-hook calls and
retries, what storcon reports and waits for while things move, test knobs) is checked against
Neon's storage controller (neondatabase/neon, storage_controller/src).  The
suites live in selftest/ (one concern each); this runs them all.  Each starts the simulator as a
subprocess on a free port and talks to it over HTTP.

Run: /usr/bin/python3 test/sim/test_storcon_sim.py   (exits non-zero on failure)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selftest import support  # noqa: E402
from selftest.test_api import *  # noqa: E402,F401,F403
from selftest.test_hook import *  # noqa: E402,F401,F403
from selftest.test_moves import *  # noqa: E402,F401,F403
from selftest.test_operator import *  # noqa: E402,F401,F403


def main():
    program = unittest.main(verbosity=2, exit=False)
    rc = support.stop_shared_sim()
    if rc not in (None, 0):
        print("the shared simulator exited with status %s" % rc, file=sys.stderr)
        return 1
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
