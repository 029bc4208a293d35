#!/usr/bin/env python3
"""End to end: the hook's request limits. Oversized headers are refused, half-open (slow-loris)
connections do not starve a real request, and a hook served open on a non-loopback address on
purpose (storcon.hook_auth = 'none') is flagged in the log and in /status."""
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "2"])
        cls.port = free_port()
        cls.pg = Cluster("limits", settings={"storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port),
                                             "storcon.hook_listen_addr": "'0.0.0.0'", "storcon.hook_auth": "none",
                                             "storcon.sync_interval": "0"})
        cls.pg.start()
        cls.url = f"http://127.0.0.1:{cls.port}"
        wait_until(lambda: http("GET", cls.url + "/healthz", timeout=2)[0] == 200, 20, what="hook")

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()

    def test_oversized_headers_are_refused(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
            answer = s.recv(200)
        self.assertTrue(answer.startswith(b"HTTP/1.1 431"), answer)

    def test_half_open_connections_do_not_starve_requests(self):
        loris = []
        try:
            for _ in range(50):  # each sends half a request line and stalls
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.sendall(b"PUT /notify-attach HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
                loris.append(s)
            status, text = http("PUT", self.url + "/notify-attach", {
                "tenant_id": "11111111111111111111111111111111", "preferred_az": None, "stripe_size": None,
                "shards": [{"node_id": 1, "shard_number": 0}]}, timeout=5)
            self.assertEqual(status, 200, text)
            self.assertEqual(http("GET", self.url + "/healthz", timeout=5)[0], 200)
        finally:
            for s in loris:
                s.close()

    def test_unauthenticated_public_hook_is_flagged(self):
        st = json.loads(http("GET", self.url + "/status")[1])
        self.assertEqual(st["auth"], "none")
        self.assertIn("without authentication", st["warning"])
        self.assertIn("WARNING:  pg_storcon hook: the hook listens on a non-loopback address without authentication",
                      self.pg.log())
        self.assertIn("hook_auth", st["warning"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
