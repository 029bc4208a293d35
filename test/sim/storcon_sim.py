#!/usr/bin/env python3
"""storcon_sim.py - an in-memory simulator of Neon's storage controller (storcon) HTTP API.

Why this file exists: pg_storcon's tests need a storage controller to talk to, but the real
one needs a Neon build, a database and pageservers.  This simulator follows Neon's
storage_controller source (neondatabase/neon, storage_controller/src: JSON shapes, field
order, status codes, error texts, and how storcon waits, retries and calls the compute hook)
closely enough to test the extension's storcon client and its compute-hook receiver.
It keeps all state in memory and uses only the Python 3.11 standard library; the code lives in
the simlib package next to this file (see simlib/__init__.py), this is the command line.

Timing is storcon's by default (10 s hook attempts, 30 s reconcile waits, 20 s background
passes...); --time-scale F multiplies every such delay so tests can run faster.

Besides storcon's own routes it offers test knobs under /__sim/ (never authenticated):
request log, fault injection, reset, bulk seeding, runtime config, safekeeper heartbeat,
a "storcon restart" that re-sends every notification, and a state dump (simlib/knobs.py).

Usage: storcon_sim.py --help
"""

import argparse
import os
import signal
import ssl
import sys
import threading

from simlib.server import Handler, Server
from simlib.sim import Sim


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(description="In-memory simulator of Neon's storage controller HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the chosen port here (atomically)")
    p.add_argument("--control-plane-url", help="compute hook base URL (notify-attach / notify-safekeepers)")
    p.add_argument("--control-plane-token", help="sent to the hook as 'Authorization: Bearer <token>'")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on storcon routes")
    p.add_argument("--seed-nodes", type=int, default=0, metavar="N")
    p.add_argument("--seed-safekeepers", type=int, default=0, metavar="N")
    p.add_argument("--log-file", help="append a line per request / hook call here")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM) ...")
    p.add_argument("--tls-key", help="... and this private key (PEM)")
    p.add_argument("--control-plane-ca-file", help="CA (PEM) trusted for an https:// compute hook")
    p.add_argument("--pending-retry-interval", type=float, default=20.0, metavar="SECONDS",
                   help="storcon's background reconcile period, which retries pending compute "
                        "notifications (storcon: 20 s, scaled by --time-scale; 0 = never)")
    p.add_argument("--time-scale", type=positive_float, default=1.0, metavar="F",
                   help="multiply every storcon delay and timeout by F (hook attempt timeout, "
                        "backoffs, 30 s reconcile waits, background period, deletion polls, "
                        "knob durations); 1.0 = storcon's real timing")
    p.add_argument("--auto-activate-safekeepers", action="store_true",
                   help="new safekeepers start Active instead of Activating")
    p.add_argument("--no-timelines-onto-safekeepers", action="store_true",
                   help="like storcon without --timelines-onto-safekeepers: timeline create "
                        "returns \"safekeepers\": null")
    p.add_argument("--rust-debug-400", action="store_true",
                   help="render 400 messages the way storcon really does ({:#?} of an anyhow "
                        "message: the text in double quotes, Rust-escaped)")
    return p.parse_args(argv)


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    stop_requested = threading.Event()
    server = None

    def stop(signum, frame):
        # serve_forever() must be stopped from another thread.
        stop_requested.set()
        if server is not None:
            threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sim = Sim(args)
    server = Server((args.host, args.port), Handler, sim)
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    port = server.server_address[1]
    sim.address = "%s://%s:%d" % (scheme, args.host, port)
    if args.port_file:
        write_port_file(args.port_file, port)
    print("storcon_sim listening on %s://%s:%d" % (scheme, args.host, port), flush=True)

    threading.Thread(target=sim.background_loop, daemon=True).start()
    try:
        if not stop_requested.is_set():
            server.serve_forever(poll_interval=0.2)
    finally:
        sim.stop_event.set()
        with sim.lock:
            sim.epoch_cancel.set()
            sim._release_faults_locked()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
